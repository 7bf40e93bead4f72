"""Queue-system pauses stay in their hall: two halls share one database, and hall B's `counterwatch run` serves the
API for hall B only. Its queue control is the one `counterwatch run` installs
(counterwatch.cli.run.hall_queue_control), with a recorder in place of the worker processes."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from counterwatch.cli.run import hall_queue_control
from monitor_api.accounts import add_api_key
from monitor_api.app import build_services, create_app
from monitor_api.server import ApiServer
from monitor_api.storage import Actor
from monitor_api.storage.models import PausePeriodRow
from monitor_api.storage.types import utcnow
from tests.api.http import world as world_module
from tests.api.http.world import HALL_B_YAML, World
from tests.api.storage.helpers import hall_config


@contextmanager
def _hall_b_run(world: World, data_dir: Path) -> Iterator[tuple[str, list[tuple[str, bool]]]]:
    """Hall B's API on the shared database: (base URL, the pauses its workers received)."""
    received: list[tuple[str, bool]] = []
    settings = world_module.test_settings(world.services.settings.database_url, data_dir,
                                          halls=(hall_config(HALL_B_YAML),))
    services = build_services(settings, database=world.services.database,
                              queue_control=hall_queue_control("hall-b", lambda window, paused:
                                                               received.append((window, paused))))
    server = ApiServer(create_app(settings, services=services, prepare=False), "127.0.0.1", 0).start()
    try:
        yield server.url.rstrip("/"), received
    finally:
        server.stop()


def _queue_key(world: World, name: str, hall: str | None) -> dict[str, str]:
    with world.services.database.write() as session:
        created = add_api_key(session, Actor.system("test"), name=name, scopes=["queue:pause"], hall_id=hall,
                              expires_days=30, now=utcnow())
    return {"X-API-Key": created.key}


def _pause_periods(world: World) -> list[tuple[str, str]]:
    with world.services.database.read() as session:
        return [(row.hall_id, row.window_id) for row in session.scalars(select(PausePeriodRow))]


def test_a_key_of_hall_a_cannot_pause_hall_b(world: World, tmp_path: Path) -> None:
    key_a = world.headers("key_queue")  # queue:pause, bound to hall A
    key_b = _queue_key(world, "queue-b", "hall-b")
    key_any = _queue_key(world, "queue-any", None)
    with (_hall_b_run(world, tmp_path / "data-b") as (base_url, received),
          httpx.Client(base_url=base_url, timeout=10.0) as client):
        refused = client.post("/api/v1/windows/w01/pause", headers=key_a)
        assert refused.status_code == 403, refused.text
        assert "hall-a" in refused.json()["detail"] and "hall-b" in refused.json()["detail"]
        assert client.post("/api/v1/windows/w01/resume", headers=key_a).status_code == 403
        # A key valid for every hall may name hall A, but hall A's windows are not served here.
        elsewhere = client.post("/api/v1/windows/w01/pause", headers=key_any, params={"hall": "hall-a"})
        assert elsewhere.status_code == 404, elsewhere.text
        assert received == [] and _pause_periods(world) == []

        # Hall B's own key pauses hall B's w01, and only that reaches hall B's workers.
        paused = client.post("/api/v1/windows/w01/pause", headers=key_b)
        assert paused.status_code == 200, paused.text
        assert paused.json()["hall_id"] == "hall-b" and paused.json()["paused"] is True
        assert client.post("/api/v1/windows/w01/pause", headers=key_any, params={"hall": "hall-b"}).status_code == 200
        assert received == [("w01", True), ("w01", True)]
        assert _pause_periods(world) == [("hall-b", "w01")]


def test_run_forwards_only_its_own_halls_pauses(caplog: pytest.LogCaptureFixture) -> None:
    received: list[tuple[str, bool]] = []
    control = hall_queue_control("hall-b", lambda window, paused: received.append((window, paused)))
    with caplog.at_level(logging.WARNING):
        control("hall-a", "w01", True)
    assert received == []
    assert any("hall-a" in record.getMessage() and "hall-b" in record.getMessage() for record in caplog.records)
    control("hall-b", "w01", True)
    control("hall-b", "w01", False)
    assert received == [("w01", True), ("w01", False)]
