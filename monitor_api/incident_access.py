"""Incident lookups with the object-level check, visibility filters for lists, cursors, and serialisation."""
from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from pydantic import ValidationError
from sqlalchemy import ColumnElement, Select, and_, false, or_, select, tuple_
from sqlalchemy.orm import Session

from counterwatch.incidents.reasons import decode_stored
from monitor_api.auth.principal import Principal
from monitor_api.problems import ApiProblem, FieldError
from monitor_api.schemas.incidents import (
    AppealPublic,
    EvidencePublic,
    IncidentDetailPublic,
    IncidentPublic,
    ReasonDetailPublic,
    ReviewPublic,
)
from monitor_api.settings import API_PREFIX
from monitor_api.storage.models import AppealRow, EvidenceRow, IncidentRow, ReviewRow, StaffRow, UserRow, WindowRow


def visibility_clause(principal: Principal):
    """SQL condition for the incidents a principal may see: their halls, plus their own record as staff."""
    conditions: list[ColumnElement[bool]] = []
    if principal.halls is None:
        return None
    if principal.halls:
        conditions.append(IncidentRow.hall_id.in_(sorted(principal.halls)))
    if principal.staff is not None:
        conditions.append(and_(IncidentRow.hall_id == principal.staff[0], IncidentRow.staff_id == principal.staff[1]))
    return or_(*conditions) if conditions else false()


def can_see(principal: Principal, incident: IncidentRow) -> bool:
    return principal.sees_hall(incident.hall_id) or principal.is_staff_member(incident.hall_id, incident.staff_id)


def load_incident(session: Session, principal: Principal, incident_id: str, *, for_staff: bool = True) -> IncidentRow:
    """The incident if the principal may see it. Hall-scoped callers get 403 for other halls' incidents and for ids
    that do not exist alike; only callers who see every hall can tell 404. `for_staff` False: a staff link does not
    grant access (e.g. reviewing one's own incident)."""
    incident = session.get(IncidentRow, incident_id) if len(incident_id) <= 128 else None
    if incident is None:
        raise principal.missing("incident")
    visible = principal.sees_hall(incident.hall_id) or (
        for_staff and principal.is_staff_member(incident.hall_id, incident.staff_id))
    if not visible:
        raise ApiProblem(403, "not within your halls")
    return incident


def encode_cursor(started_at: datetime, incident_id: str) -> str:
    raw = json.dumps([started_at.isoformat(), incident_id], separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        started, incident_id = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        when = datetime.fromisoformat(started)
        if when.tzinfo is None or not isinstance(incident_id, str):
            raise ValueError("bad cursor")
        return when, incident_id
    except (ValueError, TypeError, binascii.Error, UnicodeError, json.JSONDecodeError):
        raise ApiProblem(422, "cursor is not one this API gave out",
                         errors=[FieldError(field="query.cursor", message="invalid cursor")]) from None


def page_after(query: Select, cursor: str | None) -> Select:
    """Newest first by (started_at, id); the cursor is the last row of the previous page."""
    if cursor:
        started, incident_id = decode_cursor(cursor)
        query = query.where(or_(IncidentRow.started_at < started,
                                and_(IncidentRow.started_at == started, IncidentRow.id < incident_id)))
    return query.order_by(IncidentRow.started_at.desc(), IncidentRow.id.desc())


def _reason(incident: IncidentRow) -> dict:
    """The stored reason as the API gives it: its English text, and its code and numbers when it has them."""
    text, stored = decode_stored(incident.reason)
    try:
        detail = None if stored is None else ReasonDetailPublic.model_validate(stored)
    except ValidationError:  # a form this version does not know: the text still says it
        detail = None
    return {"reason": text, "reason_detail": detail}


def incident_public(incident: IncidentRow, window_name: str | None = None,
                    staff_name: str | None = None) -> IncidentPublic:
    public = IncidentPublic.model_validate(incident).model_copy(update=_reason(incident))
    names = {key: value for key, value in (("window_name", window_name), ("staff_name", staff_name)) if value}
    return public.model_copy(update=names) if names else public


def window_names(session: Session, incidents: list[IncidentRow]) -> dict[tuple[str, str], str]:
    """(hall id, window id) -> the window's name, for the windows of these incidents."""
    keys = sorted({(incident.hall_id, incident.window_id) for incident in incidents})
    if not keys:
        return {}
    rows = session.execute(select(WindowRow.hall_id, WindowRow.id, WindowRow.name)
                           .where(tuple_(WindowRow.hall_id, WindowRow.id).in_(keys)))
    return {(hall_id, window_id): name for hall_id, window_id, name in rows}


def staff_names(session: Session, incidents: list[IncidentRow]) -> dict[tuple[str, str], str]:
    """(hall id, staff id) -> the staff member's name, for the staff of these incidents."""
    keys = sorted({(incident.hall_id, incident.staff_id) for incident in incidents if incident.staff_id})
    if not keys:
        return {}
    rows = session.execute(select(StaffRow.hall_id, StaffRow.id, StaffRow.name)
                           .where(tuple_(StaffRow.hall_id, StaffRow.id).in_(keys)))
    return {(hall_id, staff_id): name for hall_id, staff_id, name in rows if name}


def _display_names(session: Session, user_ids: set[int | None]) -> dict[int, str]:
    """User id -> display name (the login name when no display name is set)."""
    ids = sorted(i for i in user_ids if i is not None)
    if not ids:
        return {}
    rows = session.execute(select(UserRow.id, UserRow.username, UserRow.display_name).where(UserRow.id.in_(ids)))
    return {user_id: display_name or username for user_id, username, display_name in rows}


def evidence_public(row: EvidenceRow) -> EvidencePublic:
    url = None if row.purged_at else f"{API_PREFIX}/incidents/{row.incident_id}/evidence/{row.id}"
    return EvidencePublic(id=row.id, kind=row.kind, bytes=row.bytes, sha256=row.sha256, created_at=row.created_at,
                          purged=row.purged_at is not None, url=url)


def incident_detail(session: Session, incident: IncidentRow) -> IncidentDetailPublic:
    review = session.scalars(select(ReviewRow).where(ReviewRow.incident_id == incident.id)).one_or_none()
    appeals = session.scalars(select(AppealRow).where(AppealRow.incident_id == incident.id)
                              .order_by(AppealRow.filed_at, AppealRow.id)).all()
    names = _display_names(session, {incident.acknowledged_by, review.reviewer_id if review else None}
                           | {a.filed_by for a in appeals} | {a.decided_by for a in appeals})
    review_public = None
    if review is not None:
        reviewer = session.get(UserRow, review.reviewer_id)
        review_public = ReviewPublic(id=review.id, reviewer_id=review.reviewer_id,
                                     reviewer=reviewer.username if reviewer else None,
                                     reviewer_name=names.get(review.reviewer_id), decision=review.decision,
                                     reason_code=review.reason_code, note=review.note, at=review.at)
    evidence = session.scalars(select(EvidenceRow).where(EvidenceRow.incident_id == incident.id)
                               .order_by(EvidenceRow.id)).all()
    staff = session.get(StaffRow, (incident.hall_id, incident.staff_id)) if incident.staff_id else None
    window = session.get(WindowRow, (incident.hall_id, incident.window_id))
    base = incident_public(incident, window.name if window else None, staff.name if staff else None).model_dump()
    base["acknowledged_by_name"] = names.get(incident.acknowledged_by) if incident.acknowledged_by else None
    appeal_public = [AppealPublic.model_validate(appeal).model_copy(update={
        "filed_by_name": names.get(appeal.filed_by),
        "decided_by_name": names.get(appeal.decided_by) if appeal.decided_by is not None else None})
        for appeal in appeals]
    return IncidentDetailPublic(**base, review=review_public, appeals=appeal_public,
                                evidence=[evidence_public(row) for row in evidence])


def incident_message(kind: str, incident: IncidentRow) -> dict:
    """A live-feed message about an incident (filtered to subscribers who see its hall)."""
    return {"type": f"incident.{kind}", "hall_id": incident.hall_id,
            "incident": incident_public(incident).model_dump(mode="json")}
