"""A small world for the HTTP tests: two halls, people of every role, API keys of every scope, incidents with
evidence files, served by a real uvicorn on a loopback port against a real database (SQLite or PostgreSQL)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from monitor_api.accounts import add_api_key, add_user
from monitor_api.app import build_services, create_app
from monitor_api.ingest import DatabaseSink
from monitor_api.server import ApiServer
from monitor_api.services import Services
from monitor_api.settings import ApiSettings
from monitor_api.storage import Actor, file_appeal, review_incident
from monitor_api.storage.models import ReviewDecision, Role
from monitor_api.storage.types import utcnow
from tests.api.storage.helpers import HALL_YAML, hall_config, lifecycle

PASSWORD = "correct horse battery"
HALL_B_YAML = (HALL_YAML.replace("hall-a", "hall-b").replace("id: cam1", "id: cam-b1")
               .replace("演示大厅", "乙大厅"))
JPEG = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")  # a minimal JPEG container
CLIP = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40  # 10 KiB standing in for an MP4

USERS = {  # name -> (role, halls, staff link in hall-a)
    "supervisor_a": (Role.SUPERVISOR, ("hall-a",), None),
    "supervisor_b": (Role.SUPERVISOR, ("hall-b",), None),
    "manager": (Role.MANAGER, (), None),
    "manager2": (Role.MANAGER, (), None),
    "admin": (Role.ADMIN, (), None),
    "auditor": (Role.AUDITOR, (), None),
    "staff_s001": (Role.STAFF, (), "s001"),  # a staff member's own account: sees only their own record
    "staff_s002": (Role.STAFF, (), "s002"),  # another staff member of hall A: none of s001's record
}
KEYS = {  # name -> (scopes, hall)
    "key_queue": (["queue:pause"], "hall-a"),
    "key_appraisal": (["appraisal:read"], None),
    "key_incidents": (["incidents:read"], "hall-a"),
    "key_metrics": (["metrics:read"], None),  # a Prometheus scraper
}


def test_settings(database_url: str, data_dir: Path, **overrides: Any) -> ApiSettings:
    values: dict[str, Any] = dict(
        database_url=database_url, data_dir=data_dir,
        halls=(hall_config(), hall_config(HALL_B_YAML)), session_secret=secrets.token_urlsafe(40),
        # Cheap Argon2 parameters: the tests log in hundreds of times; production uses the defaults.
        argon2_time_cost=1, argon2_memory_kib=1024, argon2_parallelism=1,
        login_ip_limit=10_000, login_user_limit=10_000, sse_keepalive_s=0.5, min_free_bytes=0)
    values.update(overrides)
    return ApiSettings(**values)


@dataclass
class World:
    services: Services
    server: ApiServer
    base_url: str
    ids: dict[str, Any] = field(default_factory=dict)  # user ids, key ids, incident ids, evidence ids
    keys: dict[str, str] = field(default_factory=dict)  # key name -> the key
    _tokens: dict[str, str] = field(default_factory=dict)

    @property
    def app(self) -> Any:
        return self.server.app

    def client(self, **kwargs: Any) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=10.0, **kwargs)

    def token(self, username: str, *, fresh: bool = False) -> str:
        """A bearer token of the user: cached, or a new one (`fresh`, not cached: e.g. to log it out)."""
        if fresh or username not in self._tokens:
            with self.client() as client:
                response = client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD})
                assert response.status_code == 200, response.text
                token = response.json()["access_token"]
            if fresh:
                return token
            self._tokens[username] = token
        return self._tokens[username]

    def headers(self, principal: str, *, fresh: bool = False) -> dict[str, str]:
        if principal == "anonymous":
            return {}
        if principal in self.keys:
            return {"X-API-Key": self.keys[principal]}
        return {"Authorization": f"Bearer {self.token(principal, fresh=fresh)}"}

    @property
    def principals(self) -> list[str]:
        return ["anonymous", *USERS, *KEYS]

    def stop(self) -> None:
        self.server.stop()
        self.services.database.dispose()


def _write_evidence(data_dir: Path, incident_id: str) -> None:
    folder = data_dir / incident_id
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(3):
        (folder / f"snap-{index}.jpg").write_bytes(JPEG)
    (folder / "clip.mp4").write_bytes(CLIP)


def build_world(database_url: str, data_dir: Path, **overrides: Any) -> World:
    settings = test_settings(database_url, data_dir, **overrides)
    services = build_services(settings)
    app = create_app(settings, services=services)
    world = World(services, ApiServer(app, "127.0.0.1", 0), "")
    populate(world)
    world.server.start()
    world.base_url = world.server.url.rstrip("/")
    return world


def populate(world: World) -> None:
    services, ids = world.services, world.ids
    data_dir = services.settings.data_dir
    with services.database.write() as session:
        for name, (role, halls, staff) in USERS.items():
            user = add_user(session, services.passwords, Actor.system("test"), username=name, password=PASSWORD,
                            role=role, halls=list(halls), staff=("hall-a", staff) if staff else None)
            ids[name] = user.id
        for name, (scopes, hall) in KEYS.items():
            created = add_api_key(session, Actor.system("test"), name=name, scopes=scopes, hall_id=hall,
                                  expires_days=30, now=utcnow())
            world.keys[name], ids[name] = created.key, created.id
    sink = DatabaseSink(services.database, evidence_store=services.evidence)
    # inc-a1: closed, s001 at w01, snapshots and a clip. inc-a2: open at w02. inc-a3: confirmed and appealed by
    # s001. inc-b1: hall B.
    for incident_id, hall, window, staff, start, closed in (
            ("inc-a1", "hall-a", "w01", "s001", 0.0, True), ("inc-a2", "hall-a", "w02", "s002", 100.0, False),
            ("inc-a3", "hall-a", "w01", "s001", 200.0, True), ("inc-b1", "hall-b", "w01", "s001", 50.0, True)):
        _write_evidence(data_dir, incident_id)
        events = lifecycle(incident_id, start_ts=start, hall=hall, window=window, staff=staff,
                           camera="cam1" if hall == "hall-a" else "cam-b1")
        for event in events if closed else events[:-1]:
            sink.deliver(event)
    with services.database.write() as session:
        now = utcnow()
        review_incident(session, "inc-a3", ids["supervisor_a"], ReviewDecision.CONFIRM, "confirmed_as_detected", "",
                        now)
        ids["appeal"] = file_appeal(session, "inc-a3", ids["staff_s001"], "I was at the counter", now).id
        dummy = add_user(session, services.passwords, Actor.system("test"), username="someone", password=PASSWORD,
                         role=Role.AUDITOR)
        ids["someone"] = dummy.id
        spare = add_api_key(session, Actor.system("test"), name="spare", scopes=["incidents:read"], hall_id=None,
                            expires_days=1, now=now - timedelta(seconds=1))
        ids["spare_key"] = spare.id
        from monitor_api.complaints import file_complaint

        ids["complaint"] = file_complaint(session, Actor.system("test"), hall_id="hall-a", channel="written",
                                          summary="slow service", staff_id="s001", window_id="w01", incident_ids=[],
                                          complainant_name=None, complainant_contact=None, received_at=now,
                                          filed_by=None, now=now).id
        from sqlalchemy import select

        from monitor_api.storage.models import EvidenceRow

        ids["evidence_a1"] = session.scalars(select(EvidenceRow.id).where(EvidenceRow.incident_id == "inc-a1")
                                             .order_by(EvidenceRow.id)).first()
