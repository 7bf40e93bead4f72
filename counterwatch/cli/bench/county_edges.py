"""The simulated edges of `counterwatch bench county`, spread over worker processes (halls dealt round-robin) that
run at the lowest CPU priority (nice 19).

Real edges each have a machine of their own; here 50 of them share the centre's two cores, and they cost more CPU
than the centre (about one core at 50 halls x 10 windows: 50 uplinks polling their outboxes, the SQLite writes, the
evidence files). Measured on 2 cores at 50 x 10: with every edge in one process, its threads waited on the GIL (up to
10 s behind schedule; incidents 5-13 s to the centre's database); in four processes at normal priority, they took
1.15 cores and the centre fell behind (5400 messages waiting in JetStream after 30 s, p99 36 s), although alone it
drained that backlog in 8 s. At nice 19 the centre, NATS and PostgreSQL get the CPU they need first (as on a machine
of their own) and the edges what is left; the edges' own lag shows in the outboxes' oldest message age and the
simulator's lag, both reported.

The parent drives the workers over pipes: `snapshot` (evidence files written, Object Store puts, the simulator's
lag, and the outboxes' largest depth and oldest message age sampled every second since the last snapshot),
`finish` (close the open incidents and stop the traffic; the incident events raised), `depth` (messages left in
the outboxes) and `close`.
"""
from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import astuple
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from counterwatch.cli.bench.county_sim import Raised, SimEdge, TrafficProfile

QUIET_LOGGERS = ("httpx", "counterwatch.county", "nats", "counterwatch.api.storage")
START_TIMEOUT_S = 300.0
EDGE_NICENESS = 19  # the edges take what the centre, NATS and PostgreSQL leave


class EdgeWorkerError(Exception):
    pass


class _OutboxSampler(threading.Thread):
    """Every second: the largest outbox depth and the age of the oldest message waiting, over this worker's edges."""

    def __init__(self, edges: Sequence[SimEdge], every_s: float = 1.0) -> None:
        super().__init__(name="outbox-sampler", daemon=True)
        self._edges, self._every_s = edges, every_s
        self._lock = threading.Lock()
        self._depth, self._age_s = 0, 0.0
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(self._every_s):
            for edge in self._edges:
                if edge.uplink is None:
                    continue
                depth, oldest = edge.uplink.depth()
                age = 0.0 if oldest is None else max(0.0, time.time() - oldest.timestamp())
                with self._lock:
                    self._depth, self._age_s = max(self._depth, depth), max(self._age_s, age)

    def take(self) -> tuple[int, float]:
        with self._lock:
            taken = self._depth, self._age_s
            self._depth, self._age_s = 0, 0.0
        return taken


def _figures(edges: Sequence[SimEdge], sampler: _OutboxSampler) -> dict[str, Any]:
    depth, age = sampler.take()
    return {"puts": sum(edge.uplink.files_sent for edge in edges if edge.uplink is not None),
            "files": sum(edge.counts.evidence_files for edge in edges),
            "bytes": sum(edge.counts.evidence_bytes for edge in edges),
            "late_s": max((edge.counts.late_s for edge in edges), default=0.0),
            "outbox_depth_max": depth, "outbox_age_max_s": age}


def _serve(connection: Connection, edges: list[SimEdge], sampler: _OutboxSampler) -> None:
    while True:
        command = connection.recv()
        if command == "snapshot":
            connection.send(_figures(edges, sampler))
        elif command == "finish":
            for edge in edges:
                edge.finish()
            connection.send([astuple(event) for edge in edges for event in edge.raised_events()])
        elif command == "depth":
            connection.send(sum(edge.outbox_depth() for edge in edges))
        elif command == "close":
            sampler.stopping.set()
            for edge in edges:
                edge.close()
            connection.send("closed")
            return


def _worker(connection: Connection, hall_yamls: list[str], profile: TrafficProfile, first_seed: int) -> None:
    """A worker process: its edges, started, then the parent's commands until `close`."""
    os.nice(EDGE_NICENESS)
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)
    edges: list[SimEdge] = []
    try:
        edges = [SimEdge(Path(path), profile, seed=first_seed + index) for index, path in enumerate(hall_yamls)]
        for edge in edges:
            edge.start()
        sampler = _OutboxSampler(edges)
        sampler.start()
        connection.send(("started", sum(len(edge.config.cameras) for edge in edges)))
    except Exception:
        connection.send(("error", traceback.format_exc()))
        return
    _serve(connection, edges, sampler)


class EdgeWorkers:
    """`processes` worker processes sharing the halls; the parent's side."""

    def __init__(self, hall_yamls: Sequence[Path], profile: TrafficProfile, processes: int) -> None:
        context = multiprocessing.get_context("spawn")
        count = max(1, min(processes, len(hall_yamls)))
        self._pipes: list[Connection] = []
        self._processes = []
        for index in range(count):
            group = [str(path) for path in hall_yamls[index::count]]
            parent, child = context.Pipe()
            process = context.Process(target=_worker, args=(child, group, profile, index * 1000),
                                      name=f"bench-county-edges-{index + 1}", daemon=True)
            self._pipes.append(parent)
            self._processes.append(process)

    def start(self) -> int:
        """Start every worker; the number of cameras of all the edges once every edge runs."""
        for process in self._processes:
            process.start()
        cameras = 0
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            if not pipe.poll(START_TIMEOUT_S):
                raise EdgeWorkerError(f"{process.name} did not start its edges within {START_TIMEOUT_S:.0f} s")
            status, value = pipe.recv()
            if status != "started":
                raise EdgeWorkerError(f"{process.name} failed:\n{value}")
            cameras += int(value)
        return cameras

    @property
    def count(self) -> int:
        return len(self._processes)

    @property
    def pids(self) -> list[int]:
        return [process.pid for process in self._processes if process.pid is not None]

    def _ask(self, command: str, timeout: float = 120.0) -> list[Any]:
        for pipe in self._pipes:
            pipe.send(command)
        answers = []
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            if not pipe.poll(timeout):
                raise EdgeWorkerError(f"{process.name} did not answer {command!r} within {timeout:.0f} s")
            answers.append(pipe.recv())
        return answers

    def snapshot(self) -> dict[str, Any]:
        answers = self._ask("snapshot")
        return {"puts": sum(a["puts"] for a in answers), "files": sum(a["files"] for a in answers),
                "bytes": sum(a["bytes"] for a in answers), "late_s": max(a["late_s"] for a in answers),
                "outbox_depth_max": max(a["outbox_depth_max"] for a in answers),
                "outbox_age_max_s": max(a["outbox_age_max_s"] for a in answers)}

    def finish(self) -> list[Raised]:
        return [Raised(*fields) for answer in self._ask("finish") for fields in answer]

    def depth(self) -> int:
        return sum(self._ask("depth"))

    def close(self) -> None:
        """Stop every worker: `close` (the uplinks stop), and terminate those that do not exit."""
        for pipe, process in zip(self._pipes, self._processes, strict=True):
            if process.is_alive():
                try:
                    pipe.send("close")
                    if pipe.poll(30.0):
                        pipe.recv()
                except (OSError, EOFError):
                    pass
            process.join(10.0)
            if process.is_alive():
                process.terminate()
                process.join(5.0)
