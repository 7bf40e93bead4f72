"""A scripted November 2026 in one hall, on a real database, shared by the report tests (module scope: the
migration and the Argon2 hashes are the slow part). `report_world` is parametrised over SQLite (a temporary file)
and PostgreSQL (the API tests' embedded server, a copy of its migrated template database), so every report test runs
on both backends. Incidents enter through the pipeline's DatabaseSink (ingest_event) and are reviewed through the
storage review functions, as in production."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from counterwatch.county.local_servers import EmbeddedPostgres
from monitor_api.accounts import add_user
from monitor_api.app import build_services, create_app
from monitor_api.ingest import DatabaseSink
from monitor_api.services import Services
from monitor_api.settings import ApiSettings
from monitor_api.storage import Actor, file_appeal, record_pause_period, review_incident
from monitor_api.storage.models import ReviewDecision, Role
from tests.api.conftest import _postgres_template, postgres_server  # noqa: F401 (fixtures used by report_world)
from tests.api.storage.helpers import HALL_YAML, T0, hall_config, lifecycle

PASSWORD = "report-test-password-1"
HALL_NAME = "崇义县政务服务中心"
HALL_A = HALL_YAML.replace("演示大厅", HALL_NAME)
HALL_B = HALL_YAML.replace("hall-a", "hall-b").replace("id: cam1", "id: cam-b1").replace("演示大厅", "乙大厅")
USERS = {"manager": (Role.MANAGER, (), None), "manager2": (Role.MANAGER, (), None),
         "supervisor_a": (Role.SUPERVISOR, ("hall-a",), None), "supervisor_b": (Role.SUPERVISOR, ("hall-b",), None),
         "staff_s001": (Role.STAFF, (), "s001")}

# (id, type, window, staff, start UTC, review). Hall time is Asia/Shanghai (UTC+8).
SCRIPT = (
    ("n-edge-out", "phone_use", "w02", "s002", datetime(2026, 10, 31, 15, 30, tzinfo=UTC), None),  # Oct 31 23:30
    ("n-edge-in", "phone_use", "w02", "s002", datetime(2026, 10, 31, 16, 30, tzinfo=UTC), None),  # Nov 1 00:30
    ("n1", "phone_use", "w01", "s001", datetime(2026, 11, 2, 1, 30, tzinfo=UTC), "confirm"),  # Mon 09:30
    ("n2", "phone_use", "w02", "s002", datetime(2026, 11, 2, 2, 30, tzinfo=UTC), "dismiss"),  # Mon 10:30
    ("n3", "absent_without_pause", "w01", "s001", datetime(2026, 11, 3, 6, 0, tzinfo=UTC), None),  # Tue 14:00
    ("n4", "sleeping", "w01", "s001", datetime(2026, 11, 10, 3, 0, tzinfo=UTC), "confirm"),  # Tue 11:00
)


@dataclass
class PauseLike:
    window_id: str
    source: str
    started_at: datetime
    ended_at: datetime | None


@dataclass
class ReportWorld:
    services: Services
    client: TestClient
    ids: dict[str, Any] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def headers(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            response = self.client.post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.tokens[user] = response.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def report_database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """An empty database for one test module: a new SQLite file, or a copy of the migrated PostgreSQL template."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('reports-db') / 'cw.db'}"
        return
    server: EmbeddedPostgres = request.getfixturevalue("postgres_server")
    name = f"reports_{request.module.__name__.rsplit('.', 1)[-1]}"
    url = server.create_database(name, template=request.getfixturevalue("_postgres_template"))
    try:
        yield url
    finally:
        server.drop_database(name)


@pytest.fixture(scope="module")
def report_world(report_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ReportWorld]:
    tmp = tmp_path_factory.mktemp("reports")
    settings = ApiSettings(database_url=report_database_url, data_dir=tmp / "data",
                           halls=(hall_config(HALL_A), hall_config(HALL_B)), session_secret=secrets.token_urlsafe(40),
                           argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1, min_free_bytes=0)
    services = build_services(settings)
    app = create_app(settings, services=services)
    world = ReportWorld(services, TestClient(app))
    with services.database.write() as session:
        for name, (role, halls, staff) in USERS.items():
            world.ids[name] = add_user(session, services.passwords, Actor.system("test"), username=name,
                                       password=PASSWORD, role=role, halls=list(halls),
                                       staff=("hall-a", staff) if staff else None).id
    sink = DatabaseSink(services.database, evidence_store=services.evidence)
    for incident_id, kind, window, staff, started, _ in SCRIPT:
        for event in lifecycle(incident_id, start_ts=(started - T0).total_seconds(), window=window, staff=staff,
                               incident_type=kind):
            sink.deliver(event)
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with services.database.write() as session:
        for incident_id, *_, decision in SCRIPT:
            if decision:
                review_incident(session, incident_id, world.ids["supervisor_a"], ReviewDecision(decision),
                                "confirmed_as_detected" if decision == "confirm" else "dismissed_false_detection",
                                "", now)
        world.ids["appeal"] = file_appeal(session, "n4", world.ids["staff_s001"], "我当时在整理材料", now).id
        # A 30-minute pause by the sign at w01, Mon 11:00-11:30 local (inside service hours).
        record_pause_period(session, "hall-a", PauseLike("w01", "sign", datetime(2026, 11, 2, 3, 0, tzinfo=UTC),
                                                         datetime(2026, 11, 2, 3, 30, tzinfo=UTC)))
    try:
        yield world
    finally:
        world.client.close()
        services.database.dispose()
