"""What `counterwatch bench county` watches while the load runs: the live feed (as a manager), the CPU time of each
process, the centre's RSS, the centre's backlog in JetStream (messages of CW_UP its consumer has not yet
acknowledged: it grows when the centre cannot keep up, and stays near zero when the delay is elsewhere), and when
each incident event reached the NATS server."""
from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil

from counterwatch.cli.bench.county_sim import SENT_AT
from counterwatch.cli.bench.latency import _Feed

MACHINE = "machine (every process)"
OTHERS = "other processes (not this run)"


@dataclass
class CountyFeed(_Feed):
    """The live feed subscriber (latency.py's reader) keeping each incident event's latency, first arrival per
    (incident, kind), and every window status's."""

    incident_latency_s: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    status_latency_s: list[tuple[float, float]] = field(default_factory=list)  # (status wall time, latency)

    def _handle(self, arrival: datetime, message: dict[str, Any]) -> None:
        kind = str(message.get("type", ""))
        if kind.startswith("incident."):
            incident = message.get("incident") or {}
            sent_at = (incident.get("attributes") or {}).get(SENT_AT)
            if isinstance(sent_at, (int, float)):
                key = (str(incident.get("id")), kind.removeprefix("incident."))
                self.incident_latency_s.setdefault(key, (float(sent_at), arrival.timestamp() - sent_at))
        elif kind == "window.status" and message.get("at"):
            at = datetime.fromisoformat(str(message["at"])).timestamp()
            self.status_latency_s.append((at, arrival.timestamp() - at))


def _own_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def _tree_seconds(process: psutil.Process) -> float:
    """A server's CPU time: its own, its reaped children's, and its live children's (a child's time moves from the
    last to the second when it exits, so differences stay right)."""
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            total += _own_seconds(child)
        except psutil.NoSuchProcess:
            pass
    return total


class CpuMeter:
    """CPU seconds (user + system) of the centre, the PostgreSQL server (postmaster and backends), the NATS server,
    the edge worker processes and this process (the feed subscriber and the probes)."""

    def __init__(self, centre_pid: int, postmaster_pid: int, nats_pids: Sequence[int],
                 edge_pids: Sequence[int]) -> None:
        self.centre = psutil.Process(centre_pid)
        self._postmaster = psutil.Process(postmaster_pid)
        self._nats = [psutil.Process(pid) for pid in nats_pids]
        self._edges = [psutil.Process(pid) for pid in edge_pids]
        self._bench = psutil.Process()

    def seconds(self) -> dict[str, float]:
        return {"centre": _tree_seconds(self.centre), "postgres": _tree_seconds(self._postmaster),
                "nats": sum(_tree_seconds(process) for process in self._nats),
                "edges (simulated)": sum(_own_seconds(process) for process in self._edges),
                "bench (feed, probes)": _own_seconds(self._bench), MACHINE: machine_busy_seconds()}


def machine_busy_seconds() -> float:
    """CPU seconds every process of this machine has used (all cores): the others' share shows a shared machine."""
    times = psutil.cpu_times()
    return sum(getattr(times, name, 0.0) for name in ("user", "nice", "system", "irq", "softirq", "steal"))


def postmaster_pid(data_dir: Path) -> int:
    return int((data_dir / "postmaster.pid").read_text().splitlines()[0])


def nats_pids() -> list[int]:
    return [child.pid for child in psutil.Process().children() if child.name() == "nats-server"]


class RssSampler(threading.Thread):
    def __init__(self, process: psutil.Process, every_s: float = 1.0) -> None:
        super().__init__(name="bench-county-rss", daemon=True)
        self._process, self._every_s = process, every_s
        self.samples: list[int] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self._every_s):
            try:
                self.samples.append(self._process.memory_info().rss)
            except psutil.NoSuchProcess:
                return


class NatsProbe(threading.Thread):
    """Connected as the centre's NATS user (county.yaml's credentials): every second, the centre consumer's pending
    plus unacknowledged messages on CW_UP (`take()`: the largest since the last take, and the latest); and a plain
    subscription to every hall's incident subject, which sees each message when the server takes it from the edge
    (`published`: (incident, kind) -> first seen, seconds since the epoch). It splits an event's latency into the
    edge's part (outbox and uplink) and the centre's (from NATS to the database and the live feed)."""

    def __init__(self, county_yaml: Path, every_s: float = 1.0) -> None:
        from counterwatch.config.county import load_county
        from counterwatch.county.nats_link import connect_options

        super().__init__(name="bench-county-nats", daemon=True)
        county = load_county(county_yaml)
        self._options = connect_options(county.config.nats, county.base_dir, name="counterwatch-bench-probe",
                                        inbox_prefix="_INBOX_bench")
        self._every_s = every_s
        self._lock = threading.Lock()
        self._largest, self._latest = 0, 0
        self.published: dict[tuple[str, str], float] = {}
        self.error: str | None = None
        self.subscribed = threading.Event()
        self.stopping = threading.Event()

    def run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception as error:  # the probe is a diagnostic: the run goes on without it
            self.error = f"{type(error).__name__}: {error}"
            self.subscribed.set()

    async def _main(self) -> None:
        from counterwatch.county import wire
        from counterwatch.county.nats_link import CENTRE_CONSUMER, open_connection

        client = await open_connection(self._options)
        try:
            await client.subscribe("cw.up.*.incident", cb=self._seen)
            await client.flush()
            self.subscribed.set()
            js = client.jetstream(timeout=5.0)
            while not self.stopping.is_set():
                info = await js.consumer_info(wire.UP_STREAM, CENTRE_CONSUMER)
                backlog = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
                with self._lock:
                    self._largest, self._latest = max(self._largest, backlog), backlog
                await asyncio.sleep(self._every_s)
        finally:
            await client.close()

    async def _seen(self, message: Any) -> None:
        seen = time.time()
        try:
            body = json.loads(message.data)["body"]
            key = (str(body["incident_id"]), str(body["kind"]))
        except (ValueError, KeyError, TypeError):
            return
        self.published.setdefault(key, seen)

    def take(self) -> tuple[int, int]:
        with self._lock:
            taken = self._largest, self._latest
            self._largest = self._latest
        return taken
