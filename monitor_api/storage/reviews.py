"""Due process: acknowledge, confirm or dismiss an incident; appeal a confirmation; a second reviewer decides.

An incident changes nobody's score until a person confirms it. The appeal decider must be neither the first reviewer
(the person who confirmed it) nor the appellant: `ensure_second_reviewer` checks that, and `decide_appeal` calls it.
Each action writes its audit entry in the same transaction, so an action without its record cannot be committed.
Role and hall-scope checks (who may review what) belong to the API layer and run before these functions.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.storage.audit import Actor, record_audit
from monitor_api.storage.evidence import RETENTION_CLASS_BY_REVIEW, set_retention_class
from monitor_api.storage.models import AppealDecision, AppealRow, IncidentRow, ReviewDecision, ReviewRow, ReviewState


class ReviewError(Exception):
    """Base of the due-process errors; the API maps them to problem details."""


class NotFound(ReviewError, LookupError):
    """No such incident or appeal (404)."""


class InvalidTransition(ReviewError):
    """The incident or appeal is not in a state that allows this action (409)."""


class SecondReviewerRequired(ReviewError):
    """The appeal decider is the first reviewer or the appellant (403)."""


def _incident_for_update(session: Session, incident_id: str) -> IncidentRow:
    incident = session.execute(select(IncidentRow).where(IncidentRow.id == incident_id).with_for_update()
                               .execution_options(populate_existing=True)).scalar_one_or_none()
    if incident is None:
        raise NotFound(f"incident {incident_id!r} not found")
    return incident


def acknowledge_incident(session: Session, incident_id: str, user_id: int, now: datetime) -> IncidentRow:
    """A supervisor has seen the incident. Repeating it is harmless; acknowledging a reviewed incident is refused."""
    incident = _incident_for_update(session, incident_id)
    if incident.review_state is ReviewState.ACKNOWLEDGED:
        return incident
    if incident.review_state is not ReviewState.PENDING:
        raise InvalidTransition(f"incident {incident_id} is already {incident.review_state.value}")
    incident.review_state = ReviewState.ACKNOWLEDGED
    incident.acknowledged_by, incident.acknowledged_at = user_id, now
    record_audit(session, Actor.user(user_id), "incident.acknowledge", "incident", incident_id,
                 hall_id=incident.hall_id, at=now)
    session.flush()
    return incident


def review_incident(session: Session, incident_id: str, reviewer_id: int, decision: ReviewDecision,
                    reason_code: str, note: str, now: datetime) -> ReviewRow:
    """Confirm or dismiss. One review per incident: a later disagreement goes through an appeal."""
    if not reason_code.strip():
        raise ValueError("reason_code must not be empty")
    incident = _incident_for_update(session, incident_id)
    if incident.review_state not in (ReviewState.PENDING, ReviewState.ACKNOWLEDGED):
        raise InvalidTransition(f"incident {incident_id} is already {incident.review_state.value}; appeal instead")
    review = ReviewRow(incident_id=incident_id, reviewer_id=reviewer_id, decision=decision,
                       reason_code=reason_code.strip(), note=note, at=now)
    session.add(review)
    incident.review_state = ReviewState.CONFIRMED if decision is ReviewDecision.CONFIRM else ReviewState.DISMISSED
    incident.updated_at = now
    set_retention_class(session, incident_id, RETENTION_CLASS_BY_REVIEW[incident.review_state])
    record_audit(session, Actor.user(reviewer_id), f"incident.{decision.value}", "incident", incident_id,
                 hall_id=incident.hall_id, details={"reason_code": review.reason_code}, at=now)
    session.flush()  # the unique index on reviews.incident_id settles a race between two reviewers here
    return review


def first_review(session: Session, incident_id: str) -> ReviewRow | None:
    return session.scalars(select(ReviewRow).where(ReviewRow.incident_id == incident_id)).one_or_none()


def file_appeal(session: Session, incident_id: str, filed_by: int, reason: str, now: datetime) -> AppealRow:
    """Appeal a confirmed incident (by the staff member or a manager). One undecided appeal at a time."""
    if not reason.strip():
        raise ValueError("an appeal needs a reason")
    incident = _incident_for_update(session, incident_id)
    if incident.review_state is not ReviewState.CONFIRMED:
        raise InvalidTransition(f"only a confirmed incident can be appealed; {incident_id} is "
                                f"{incident.review_state.value}")
    pending = session.scalars(select(AppealRow.id).where(AppealRow.incident_id == incident_id,
                                                         AppealRow.decided_at.is_(None))).first()
    if pending is not None:
        raise InvalidTransition(f"incident {incident_id} already has an undecided appeal ({pending})")
    appeal = AppealRow(incident_id=incident_id, filed_by=filed_by, filed_at=now, reason=reason.strip())
    session.add(appeal)
    session.flush()
    record_audit(session, Actor.user(filed_by), "appeal.file", "appeal", appeal.id, hall_id=incident.hall_id,
                 details={"incident_id": incident_id}, at=now)
    return appeal


def ensure_second_reviewer(session: Session, appeal: AppealRow, decider_id: int) -> None:
    """Raise SecondReviewerRequired unless the decider is someone other than the first reviewer and the appellant."""
    review = first_review(session, appeal.incident_id)
    if review is not None and review.reviewer_id == decider_id:
        raise SecondReviewerRequired(f"user {decider_id} confirmed incident {appeal.incident_id}; a second reviewer "
                                     "must decide the appeal")
    if appeal.filed_by == decider_id:
        raise SecondReviewerRequired(f"user {decider_id} filed appeal {appeal.id} and cannot decide it")


def decide_appeal(session: Session, appeal_id: int, decider_id: int, decision: AppealDecision, note: str,
                  now: datetime) -> AppealRow:
    """Decide an appeal. Upheld: the incident becomes dismissed (it no longer counts). Rejected: it stays confirmed."""
    appeal = session.execute(select(AppealRow).where(AppealRow.id == appeal_id).with_for_update()
                             .execution_options(populate_existing=True)).scalar_one_or_none()
    if appeal is None:
        raise NotFound(f"appeal {appeal_id} not found")
    if appeal.decided_at is not None:
        raise InvalidTransition(f"appeal {appeal_id} was already decided")
    ensure_second_reviewer(session, appeal, decider_id)
    incident = _incident_for_update(session, appeal.incident_id)
    appeal.decided_by, appeal.decision, appeal.decision_note, appeal.decided_at = decider_id, decision, note, now
    if decision is AppealDecision.UPHELD:
        incident.review_state = ReviewState.DISMISSED
        incident.updated_at = now
        set_retention_class(session, incident.id, RETENTION_CLASS_BY_REVIEW[ReviewState.DISMISSED])
    record_audit(session, Actor.user(decider_id), f"appeal.{decision.value}", "appeal", appeal.id,
                 hall_id=incident.hall_id, details={"incident_id": incident.id}, at=now)
    session.flush()
    return appeal
