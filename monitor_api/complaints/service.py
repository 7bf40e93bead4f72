"""The complaint workflow. Each step writes its audit entry in the same transaction as the change.

received --accept--> accepted --resolve(on_spot, outcome)--> resolved
         --reject--> rejected   --resolve(supervision, opinion, deadline)--> supervising --resolve(outcome)--> resolved
A complaint without a subject (投诉事项) or a target (投诉对象: a staff member or a window) can only be rejected as
invalid (第五条 三). Only an upheld outcome counts in scoring (monitor_api.scoring).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.storage import Actor, InvalidTransition, NotFound, record_audit
from monitor_api.storage.models import ComplaintIncidentRow, ComplaintRow, IncidentRow, StaffRow, WindowRow

CHANNELS = ("in_person", "written", "phone", "email")  # 第四条: 口头、书面、电话、电子邮件
RESOLUTIONS = ("on_spot", "supervision")  # 第六条 (一) 现场协调 / (二) 督办意见
OUTCOMES = ("upheld", "not_upheld")


class ComplaintError(ValueError):
    """A request the workflow refuses for its content (422)."""


def _load(session: Session, complaint_id: int) -> ComplaintRow:
    row = session.execute(select(ComplaintRow).where(ComplaintRow.id == complaint_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"complaint {complaint_id} not found")
    return row


def file_complaint(session: Session, actor: Actor, *, hall_id: str, channel: str, summary: str,
                   staff_id: str | None, window_id: str | None, incident_ids: list[str],
                   complainant_name: str | None, complainant_contact: str | None, received_at: datetime,
                   filed_by: int | None, now: datetime) -> ComplaintRow:
    """Intake. Anything is recorded (an invalid complaint is still on file, then rejected), but references must
    exist."""
    if channel not in CHANNELS:
        raise ComplaintError(f"channel must be one of {CHANNELS}, got {channel!r}")
    if staff_id is not None and session.get(StaffRow, (hall_id, staff_id)) is None:
        raise ComplaintError(f"no staff member {staff_id!r} in hall {hall_id!r}")
    if window_id is not None and session.get(WindowRow, (hall_id, window_id)) is None:
        raise ComplaintError(f"no window {window_id!r} in hall {hall_id!r}")
    for incident_id in incident_ids:
        incident = session.get(IncidentRow, incident_id)
        if incident is None or incident.hall_id != hall_id:
            raise ComplaintError(f"no incident {incident_id!r} in hall {hall_id!r}")
    row = ComplaintRow(hall_id=hall_id, channel=channel, summary=summary.strip(), staff_id=staff_id,
                       window_id=window_id, incident_id=incident_ids[0] if incident_ids else None,
                       complainant_name=complainant_name or None, complainant_contact=complainant_contact or None,
                       received_at=received_at, filed_by=filed_by, status="received", created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    for incident_id in dict.fromkeys(incident_ids):
        session.add(ComplaintIncidentRow(complaint_id=row.id, incident_id=incident_id))
    record_audit(session, actor, "complaint.file", "complaint", row.id, hall_id=hall_id,
                 details={"channel": channel, "staff_id": staff_id, "window_id": window_id,
                          "incident_ids": incident_ids, "real_name": bool(complainant_name)}, at=now)
    session.flush()
    return row


def accept_complaint(session: Session, actor: Actor, complaint_id: int, now: datetime) -> ComplaintRow:
    row = _load(session, complaint_id)
    if row.status != "received":
        raise InvalidTransition(f"complaint {complaint_id} is already {row.status}")
    if not row.summary or (row.staff_id is None and row.window_id is None):
        raise ComplaintError("a complaint without a subject or a target is invalid (第五条 三): reject it")
    row.status, row.updated_at = "accepted", now
    record_audit(session, actor, "complaint.accept", "complaint", row.id, hall_id=row.hall_id, at=now)
    return row


def reject_complaint(session: Session, actor: Actor, complaint_id: int, reason: str, now: datetime) -> ComplaintRow:
    row = _load(session, complaint_id)
    if row.status != "received":
        raise InvalidTransition(f"complaint {complaint_id} is already {row.status}")
    if not reason.strip():
        raise ComplaintError("a rejection needs a reason")
    row.status, row.rejection_reason, row.updated_at = "rejected", reason.strip(), now
    record_audit(session, actor, "complaint.reject", "complaint", row.id, hall_id=row.hall_id,
                 details={"reason": row.rejection_reason}, at=now)
    return row


def resolve_complaint(session: Session, actor: Actor, complaint_id: int, *, resolution: str, outcome: str | None,
                      supervision_opinion: str | None, deadline: datetime | None, now: datetime) -> ComplaintRow:
    """On the spot (with an outcome), or a supervision opinion with a deadline (the outcome may follow later). A
    resolved complaint's outcome may still be corrected (a reversal): scores follow, as they are derived."""
    row = _load(session, complaint_id)
    if row.status not in ("accepted", "supervising", "resolved"):
        raise InvalidTransition(f"complaint {complaint_id} is {row.status}; accept it first")
    if resolution not in RESOLUTIONS:
        raise ComplaintError(f"resolution must be one of {RESOLUTIONS}")
    if outcome is not None and outcome not in OUTCOMES:
        raise ComplaintError(f"outcome must be one of {OUTCOMES}")
    if resolution == "on_spot" and outcome is None:
        raise ComplaintError("an on-the-spot resolution needs an outcome")
    if resolution == "supervision" and row.status == "accepted" and (not supervision_opinion or deadline is None):
        raise ComplaintError("a supervision opinion needs its text and a deadline (第六条 二)")
    row.resolution = resolution
    if supervision_opinion:
        row.supervision_opinion = supervision_opinion
    if deadline is not None:
        row.deadline = deadline
    if outcome is not None:
        row.outcome, row.status, row.resolved_at = outcome, "resolved", now
    else:
        row.status = "supervising"
    row.updated_at = now
    record_audit(session, actor, "complaint.resolve", "complaint", row.id, hall_id=row.hall_id,
                 details={"resolution": resolution, "outcome": outcome, "deadline": deadline}, at=now)
    return row


def reply_to_complainant(session: Session, actor: Actor, complaint_id: int, text: str, now: datetime) -> ComplaintRow:
    """第八条: the result is fed back to the complainant. Recorded once the complaint is decided either way."""
    row = _load(session, complaint_id)
    if row.status not in ("rejected", "supervising", "resolved"):
        raise InvalidTransition(f"complaint {complaint_id} is {row.status}; nothing to reply yet")
    if not text.strip():
        raise ComplaintError("the reply must not be empty")
    row.reply, row.replied_at, row.updated_at = text.strip(), now, now
    record_audit(session, actor, "complaint.reply", "complaint", row.id, hall_id=row.hall_id, at=now)
    return row


def incident_links(session: Session, complaint_id: int) -> list[str]:
    return sorted(session.scalars(select(ComplaintIncidentRow.incident_id)
                                  .where(ComplaintIncidentRow.complaint_id == complaint_id)))
