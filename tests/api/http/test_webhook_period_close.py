"""The appraisal webhook's period-close path ("period.closed"), on a real migrated database (SQLite and PostgreSQL)
and a real loopback receiver, with a fixed clock.

What WebhookWorker.enqueue_closed_periods(now) promises: for each hall, the month before `now`'s month *in the hall's
time zone* (plus that year when the month is December) is enqueued once, with the same documents the scores endpoint
serves. Two halls: hall-a in Asia/Shanghai, hall-b in Asia/Tokyo (an hour ahead), so one instant can be after
midnight on 1 December in one hall and before it in the other. The worker is built from the world's settings with
the webhook URL added and driven by hand (no background thread, so the fixed clock is the only clock)."""
from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import event, select

from monitor_api.ingest import DatabaseSink
from monitor_api.scoring.webhook import WebhookWorker
from monitor_api.storage import review_incident
from monitor_api.storage.models import ReviewDecision, WebhookDeliveryRow
from tests.api.http.appraisal_helpers import SECRET, Receiver, receiver, served_scores, staff_entry  # noqa: F401
from tests.api.http.world import HALL_B_YAML, World, build_world
from tests.api.storage.helpers import T0, hall_config, lifecycle

HALL_B_TOKYO = HALL_B_YAML + "calendar:\n  timezone: Asia/Tokyo\n"
BEFORE_CLOSE = datetime(2026, 11, 30, 15, 55, tzinfo=UTC)  # 23:55 Nov 30 in Shanghai, 00:55 Dec 1 in Tokyo
AFTER_CLOSE = datetime(2026, 11, 30, 16, 5, tzinfo=UTC)  # 00:05 Dec 1 in Shanghai
YEAR_END = datetime(2026, 12, 31, 16, 5, tzinfo=UTC)  # 00:05 Jan 1 2027 in Shanghai
# Confirmed incidents of s001 at w01 in hall-a (phone use, 70 s: the default 2 points each).
SEEDED = {"nov-a1": datetime(2026, 11, 20, 2, 0, tzinfo=UTC), "dec-a1": datetime(2026, 12, 15, 2, 0, tzinfo=UTC)}


@pytest.fixture
def closing_world(database_url: str, tmp_path: Path) -> Iterator[World]:
    world = build_world(database_url, tmp_path / "data", halls=(hall_config(), hall_config(HALL_B_TOKYO)))
    sink = DatabaseSink(world.services.database, evidence_store=world.services.evidence)
    for incident_id, started in SEEDED.items():
        for item in lifecycle(incident_id, start_ts=(started - T0).total_seconds(), window="w01", staff="s001"):
            sink.deliver(item)
    with world.services.database.write() as session:
        for incident_id in SEEDED:
            review_incident(session, incident_id, world.ids["supervisor_a"], ReviewDecision.CONFIRM,
                            "confirmed_as_detected", "", datetime(2027, 1, 2, tzinfo=UTC))
    yield world
    world.stop()


def _worker(world: World, receiver: Receiver) -> WebhookWorker:  # noqa: F811 (the fixture's name)
    settings = world.services.settings.model_copy(update={"appraisal_webhook_url": receiver.url,
                                                          "appraisal_webhook_secret": SecretStr(SECRET)})
    worker = WebhookWorker.from_settings(settings, world.services.database, world.services.scoring)
    assert worker is not None and worker.timezones == {"hall-a": "Asia/Shanghai", "hall-b": "Asia/Tokyo"}
    return worker


def _rows(world: World) -> list[WebhookDeliveryRow]:
    with world.services.database.read() as session:
        rows = list(session.scalars(select(WebhookDeliveryRow).order_by(WebhookDeliveryRow.id)))
        session.expunge_all()
    return rows


def _pushed(receiver: Receiver) -> list[tuple[str, list[str]]]:  # noqa: F811
    """(hall, [period, ...]) of every request received, in order."""
    bodies = [json.loads(request["body"]) for request in receiver.requests]
    return [(body["hall_id"], [document["period"] for document in body["periods"]]) for body in bodies]


def _deductions(document: dict[str, Any], staff_id: str = "s001") -> dict[str, float]:
    return {item["id"]: item["points"] for item in staff_entry(document, staff_id)["deductions"]}


def test_a_month_closes_at_midnight_in_each_halls_time_zone_once(closing_world: World,
                                                                  receiver: Receiver) -> None:  # noqa: F811
    world, worker = closing_world, _worker(closing_world, receiver)

    # 23:55 on 30 November in Shanghai: November is still open in hall-a (its last closed month is October),
    # although it is already December in Tokyo, where hall-b's November has closed.
    assert len(worker.enqueue_closed_periods(BEFORE_CLOSE)) == 2
    assert worker.process_due(BEFORE_CLOSE) == 2
    assert sorted(_pushed(receiver)) == [("hall-a", ["2026-10"]), ("hall-b", ["2026-11"])]

    # 00:05 on 1 December in Shanghai: exactly one new delivery, hall-a's November.
    keys = worker.enqueue_closed_periods(AFTER_CLOSE)
    assert len(keys) == 1
    assert worker.process_due(AFTER_CLOSE) == 1
    assert _pushed(receiver)[2:] == [("hall-a", ["2026-11"])]
    request = receiver.requests[2]
    assert request["valid"] and request["key"] == keys[0]
    body = json.loads(request["body"])
    assert (body["event"], body["delivery_id"], body["hall_id"], body["trigger"]) == (
        "period.closed", keys[0], "hall-a", None)
    assert body["occurred_at"] == AFTER_CLOSE.isoformat()
    november = body["periods"][0]
    assert november == served_scores(world, "2026-11")["halls"][0]  # the endpoint's numbers, exactly
    assert _deductions(november) == {"nov-a1": 2.0}  # the confirmed November incident, nothing from December
    assert staff_entry(november, "s001")["score"] == 98.0

    # Idempotent: the same instant again, and an hour later, enqueue nothing, deliver nothing, and (the worker
    # polls every few seconds) compute no scores: no query reads the incidents.
    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = world.services.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert worker.enqueue_closed_periods(AFTER_CLOSE) == []
        assert worker.enqueue_closed_periods(AFTER_CLOSE + timedelta(hours=1)) == []
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert statements and not [s for s in statements if "incidents" in s or "INSERT" in s.upper()]
    assert worker.process_due(AFTER_CLOSE + timedelta(hours=1)) == 0
    assert len(receiver.requests) == 3
    rows = _rows(world)
    assert [(row.event, row.hall_id, row.status, row.attempts, row.last_status_code) for row in rows] == [
        ("period.closed", hall, "delivered", 1, 200) for hall in ("hall-a", "hall-b", "hall-a")]
    assert rows[2].idempotency_key == keys[0]


def test_the_year_end_pushes_december_and_the_year(closing_world: World, receiver: Receiver) -> None:  # noqa: F811
    world, worker = closing_world, _worker(closing_world, receiver)
    keys = worker.enqueue_closed_periods(YEAR_END)
    assert len(keys) == 2  # one per hall
    assert worker.process_due(YEAR_END) == 2
    assert sorted(_pushed(receiver)) == [("hall-a", ["2026-12", "2026"]), ("hall-b", ["2026-12", "2026"])]
    assert all(request["valid"] for request in receiver.requests)
    body = next(json.loads(r["body"]) for r in receiver.requests if json.loads(r["body"])["hall_id"] == "hall-a")
    december, year = body["periods"]
    assert december == served_scores(world, "2026-12")["halls"][0]
    assert year == served_scores(world, "2026")["halls"][0]
    assert _deductions(december) == {"dec-a1": 2.0}
    # The year holds both seeded incidents and the world's confirmed March incident (appeal still pending).
    assert set(_deductions(year)) == {"inc-a3", "nov-a1", "dec-a1"}
    assert worker.enqueue_closed_periods(YEAR_END + timedelta(days=3)) == []
