"""Due process: acknowledge, confirm/dismiss once, appeal, a second reviewer decides. SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from monitor_api.storage import (
    Database,
    InvalidTransition,
    NotFound,
    SecondReviewerRequired,
    acknowledge_incident,
    decide_appeal,
    file_appeal,
    ingest_event,
    review_incident,
)
from monitor_api.storage.access import create_user
from monitor_api.storage.models import (
    AppealDecision,
    AuditLogRow,
    EvidenceRow,
    IncidentRow,
    ReviewDecision,
    ReviewRow,
    ReviewState,
    Role,
)
from tests.api.storage.helpers import T0, lifecycle


@pytest.fixture
def people(database: Database) -> dict[str, int]:
    with database.write() as session:
        for item in lifecycle("inc-1"):
            ingest_event(session, item)
        for item in lifecycle("inc-2", start_ts=500):
            ingest_event(session, item)
        users = {name: create_user(session, name, role) for name, role in (
            ("supervisor", Role.SUPERVISOR), ("manager", Role.MANAGER), ("manager2", Role.MANAGER),
            ("staff", Role.SUPERVISOR))}
        return {name: user.id for name, user in users.items()}


def _incident(database: Database, incident_id: str) -> IncidentRow:
    with database.read() as session:
        return session.get(IncidentRow, incident_id)


def test_acknowledge_then_confirm_once(database: Database, people: dict[str, int]) -> None:
    supervisor = people["supervisor"]
    with database.write() as session:
        acknowledge_incident(session, "inc-1", supervisor, T0)
        acknowledge_incident(session, "inc-1", supervisor, T0 + timedelta(seconds=5))  # harmless repeat
    incident = _incident(database, "inc-1")
    assert (incident.review_state, incident.acknowledged_by, incident.acknowledged_at) == (
        ReviewState.ACKNOWLEDGED, supervisor, T0)
    with database.write() as session:
        review_incident(session, "inc-1", supervisor, ReviewDecision.CONFIRM, "phone_use", "在玩手机", T0)
    assert _incident(database, "inc-1").review_state is ReviewState.CONFIRMED
    with pytest.raises(InvalidTransition, match="appeal instead"):
        with database.write() as session:
            review_incident(session, "inc-1", people["manager"], ReviewDecision.DISMISS, "x", "", T0)
    with pytest.raises(InvalidTransition):
        with database.write() as session:
            acknowledge_incident(session, "inc-1", supervisor, T0)
    with database.read() as session:
        classes = session.scalars(select(EvidenceRow.retention_class).where(EvidenceRow.incident_id == "inc-1"))
        assert set(classes) == {"confirmed"}
        assert session.scalars(select(ReviewRow)).one().note == "在玩手机"
        actions = session.scalars(select(AuditLogRow.action).order_by(AuditLogRow.id)).all()
        assert actions == ["incident.acknowledge", "incident.confirm"]


def test_dismissed_incidents_cannot_be_appealed(database: Database, people: dict[str, int]) -> None:
    with database.write() as session:
        review_incident(session, "inc-2", people["supervisor"], ReviewDecision.DISMISS, "false_alarm", "", T0)
    assert _incident(database, "inc-2").review_state is ReviewState.DISMISSED
    with pytest.raises(InvalidTransition, match="only a confirmed incident"):
        with database.write() as session:
            file_appeal(session, "inc-2", people["staff"], "not me", T0)


def test_appeal_needs_a_second_reviewer(database: Database, people: dict[str, int]) -> None:
    with database.write() as session:
        review_incident(session, "inc-1", people["supervisor"], ReviewDecision.CONFIRM, "phone_use", "", T0)
        appeal = file_appeal(session, "inc-1", people["staff"], "I was looking up the citizen's file", T0)
    with pytest.raises(InvalidTransition, match="undecided appeal"):
        with database.write() as session:
            file_appeal(session, "inc-1", people["staff"], "again", T0)
    for decider in (people["supervisor"], people["staff"]):  # the first reviewer, the appellant
        with pytest.raises(SecondReviewerRequired):
            with database.write() as session:
                decide_appeal(session, appeal.id, decider, AppealDecision.REJECTED, "", T0)
    with database.write() as session:
        decided = decide_appeal(session, appeal.id, people["manager"], AppealDecision.UPHELD, "phone was a scanner",
                                T0 + timedelta(days=1))
    assert (decided.decided_by, decided.decision) == (people["manager"], AppealDecision.UPHELD)
    assert _incident(database, "inc-1").review_state is ReviewState.DISMISSED  # no longer counts
    with pytest.raises(InvalidTransition, match="already decided"):
        with database.write() as session:
            decide_appeal(session, appeal.id, people["manager2"], AppealDecision.REJECTED, "", T0)


def test_a_rejected_appeal_leaves_the_confirmation(database: Database, people: dict[str, int]) -> None:
    with database.write() as session:
        review_incident(session, "inc-1", people["supervisor"], ReviewDecision.CONFIRM, "phone_use", "", T0)
        appeal = file_appeal(session, "inc-1", people["manager"], "on behalf of the staff member", T0)
        decide_appeal(session, appeal.id, people["manager2"], AppealDecision.REJECTED, "video is clear", T0)
    assert _incident(database, "inc-1").review_state is ReviewState.CONFIRMED


def test_unknown_ids(database: Database, people: dict[str, int]) -> None:
    with pytest.raises(NotFound):
        with database.write() as session:
            acknowledge_incident(session, "nope", people["supervisor"], T0)
    with pytest.raises(NotFound):
        with database.write() as session:
            decide_appeal(session, 999, people["manager"], AppealDecision.UPHELD, "", T0)
