"""Incident delivery (idempotent, any order) and crash recovery, on SQLite and PostgreSQL."""
from __future__ import annotations

import random
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from monitor_api.storage import Database, ingest_event, recover_open_incidents
from monitor_api.storage.models import (
    AuditLogRow,
    EvidenceRow,
    HallRow,
    IncidentEventRow,
    IncidentRow,
    IncidentState,
    ReviewState,
    WindowRow,
)
from tests.api.storage.helpers import T0, event, lifecycle


def _deliver(database: Database, events) -> list[bool]:
    """One write transaction per delivery, as the pipeline's sink does."""
    results = []
    for item in events:
        with database.write() as session:
            results.append(ingest_event(session, item))
    return results


def _snapshot(database: Database, incident_id: str) -> dict:
    with database.read() as session:
        row = session.get(IncidentRow, incident_id)
        assert row is not None, f"incident {incident_id} not stored"
        events = session.execute(select(IncidentEventRow.kind, IncidentEventRow.ts)
                                 .where(IncidentEventRow.incident_id == incident_id)).all()
        evidence = session.scalars(select(EvidenceRow.path).where(EvidenceRow.incident_id == incident_id)).all()
        return {"state": row.state, "started_at": row.started_at, "ended_at": row.ended_at,
                "peak": row.peak_confidence, "confidence": row.confidence, "reason": row.reason,
                "attributes": row.attributes, "type": row.type, "window": row.window_id, "staff": row.staff_id,
                "events": sorted((kind.value, ts) for kind, ts in events), "evidence": sorted(evidence),
                "review_state": row.review_state, "evidence_missing": row.evidence_missing}


def _expected(events) -> dict:
    """What the incident must look like after all its events, whatever their order and repetition."""
    latest = max(events, key=lambda e: (e.ts, ["opened", "updated", "closed"].index(e.kind.value)))
    closed = [e for e in events if e.kind.value == "closed"]
    paths = {p for e in events for p in (e.evidence.snapshot, e.evidence.clip) if p}
    return {"state": IncidentState.CLOSED if closed else IncidentState.OPEN, "started_at": events[0].started_at,
            "ended_at": closed[0].ended_at if closed else None, "peak": max(e.peak_confidence for e in events),
            "confidence": latest.confidence, "reason": latest.reason, "attributes": dict(latest.attributes),
            "type": events[0].incident_type, "window": events[0].window_id, "staff": events[0].staff_id,
            "events": sorted((e.kind.value, e.ts) for e in events), "evidence": sorted(paths),
            "review_state": ReviewState.PENDING, "evidence_missing": False}


def test_opened_creates_the_incident_and_placeholders(database: Database) -> None:
    opened = event("opened", "inc-1", ts=30.0, confidence=0.7, snapshot="inc-1/snap.jpg",
                   attributes=(("citizens_waiting", 2),))
    assert _deliver(database, [opened]) == [True]
    assert _snapshot(database, "inc-1") == _expected([opened])
    with database.read() as session:
        incident = session.get(IncidentRow, "inc-1")
        assert incident.started_at == T0 and incident.started_at.tzinfo is not None
        assert incident.attributes == {"citizens_waiting": 2}
        # No config synced yet: the hall and window exist as placeholders so the incident is not lost.
        assert session.get(HallRow, "hall-a").configured is False
        assert session.get(WindowRow, ("hall-a", "w01")).name == "w01"


def test_a_repeated_event_changes_nothing(database: Database) -> None:
    opened = event("opened", "inc-1", ts=30.0, snapshot="inc-1/snap.jpg")
    assert _deliver(database, [opened]) == [True]
    before = _snapshot(database, "inc-1")
    with database.read() as session:
        updated_at = session.get(IncidentRow, "inc-1").updated_at
    assert _deliver(database, [opened, opened]) == [False, False]
    assert _snapshot(database, "inc-1") == before
    with database.read() as session:
        assert session.get(IncidentRow, "inc-1").updated_at == updated_at
        assert session.scalar(select(func.count()).select_from(IncidentEventRow)) == 1
        assert session.scalar(select(func.count()).select_from(EvidenceRow)) == 1


def test_closed_sets_the_end(database: Database) -> None:
    events = lifecycle("inc-1")
    assert all(_deliver(database, events))
    snapshot = _snapshot(database, "inc-1")
    assert snapshot == _expected(events)
    assert snapshot["state"] is IncidentState.CLOSED and snapshot["ended_at"] == events[-1].ended_at
    assert snapshot["peak"] == pytest.approx(0.75) and snapshot["confidence"] == pytest.approx(0.5)


def test_closed_before_opened_is_not_reopened(database: Database) -> None:
    opened, first_update, second_update, closed = lifecycle("inc-1")
    _deliver(database, [closed, second_update, opened, first_update])
    snapshot = _snapshot(database, "inc-1")
    assert snapshot["state"] is IncidentState.CLOSED
    assert snapshot["reason"] == "staff back at the counter"  # from the latest event by stream time
    assert snapshot == _expected([opened, first_update, second_update, closed])


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_every_event_delivered_two_or_three_times_in_shuffled_order(database: Database, seed: int) -> None:
    rng = random.Random(seed)
    incidents = {f"inc-{n}": lifecycle(f"inc-{n}", start_ts=100.0 * n, updates=rng.randint(0, 3),
                                       window=f"w0{n % 3 + 1}", staff=None if n == 4 else f"s00{n % 2 + 1}")
                 for n in range(8)}
    incidents["inc-open"] = lifecycle("inc-open", start_ts=5000.0)[:-1]  # still open: no closed event yet
    deliveries = [item for events in incidents.values() for item in events for _ in range(rng.randint(2, 3))]
    rng.shuffle(deliveries)
    results = _deliver(database, deliveries)
    distinct = sum(len(events) for events in incidents.values())
    assert sum(results) == distinct, "each distinct event must be stored exactly once"
    for incident_id, events in incidents.items():
        assert _snapshot(database, incident_id) == _expected(events), incident_id
    with database.read() as session:
        assert session.scalar(select(func.count()).select_from(IncidentRow)) == len(incidents)
        assert session.scalar(select(func.count()).select_from(IncidentEventRow)) == distinct


def test_concurrent_deliveries_of_the_same_events(database: Database) -> None:
    events = [item for n in range(4) for item in lifecycle(f"inc-{n}", start_ts=100.0 * n)]
    errors: list[BaseException] = []
    stored: list[bool] = []

    def deliver(seed: int) -> None:
        order = events[:]
        random.Random(seed).shuffle(order)
        try:
            for item in order:
                with database.write() as session:
                    stored.append(ingest_event(session, item))
        except BaseException as error:  # noqa: BLE001 - reported below with the thread's error
            errors.append(error)

    threads = [threading.Thread(target=deliver, args=(seed,)) for seed in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sum(stored) == len(events) and len(stored) == 4 * len(events)
    for n in range(4):
        incident_events = [item for item in events if item.incident_id == f"inc-{n}"]
        assert _snapshot(database, f"inc-{n}") == _expected(incident_events)


def test_recovery_closes_open_incidents_with_a_marked_end(database: Database) -> None:
    _deliver(database, lifecycle("done"))
    _deliver(database, lifecycle("left-open-1", start_ts=100)[:2])
    _deliver(database, lifecycle("left-open-2", start_ts=200)[:1])
    now = T0 + timedelta(hours=3)
    with database.write() as session:
        closed = recover_open_incidents(session, now)
    assert closed == ["left-open-1", "left-open-2"]
    with database.read() as session:
        for incident_id in closed:
            incident = session.get(IncidentRow, incident_id)
            assert incident.state is IncidentState.CLOSED_BY_RECOVERY
            assert incident.ended_at == now
        assert session.get(IncidentRow, "done").state is IncidentState.CLOSED
        audit = session.scalars(select(AuditLogRow).where(AuditLogRow.action == "incident.recovered")).all()
        assert sorted(row.object_id for row in audit) == closed
        assert all(row.actor_type == "system" for row in audit)
    with database.write() as session:
        assert recover_open_incidents(session, now + timedelta(minutes=1)) == []


def test_recovery_can_be_limited_to_one_hall(database: Database) -> None:
    _deliver(database, [event("opened", "a-1", hall="hall-a"), event("opened", "b-1", hall="hall-b")])
    with database.write() as session:
        assert recover_open_incidents(session, T0 + timedelta(hours=1), hall_id="hall-a") == ["a-1"]
    with database.read() as session:
        assert session.get(IncidentRow, "b-1").state is IncidentState.OPEN


def test_a_real_close_after_recovery_replaces_the_marked_end(database: Database) -> None:
    opened, *updates, closed = lifecycle("inc-1")
    _deliver(database, [opened])
    with database.write() as session:
        recover_open_incidents(session, T0 + timedelta(hours=5))
    _deliver(database, updates)  # late re-deliveries of updates do not reopen it
    assert _snapshot(database, "inc-1")["state"] is IncidentState.CLOSED_BY_RECOVERY
    _deliver(database, [closed])
    snapshot = _snapshot(database, "inc-1")
    assert snapshot["state"] is IncidentState.CLOSED and snapshot["ended_at"] == closed.ended_at
