"""Complaints (投诉问责制 第二至六条): supervisors of the hall and managers file and view them; managers accept or
reject, resolve, and record the reply, except for a complaint about themselves (403, as for reviews and appeals).
Every step is audited; an outcome change re-derives the scores (webhook)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from sqlalchemy import select

from monitor_api.auth.policy import ComplaintDecider, ComplaintFiler
from monitor_api.auth.principal import Principal
from monitor_api.complaints import (
    ComplaintError,
    accept_complaint,
    file_complaint,
    reject_complaint,
    reply_to_complainant,
    resolve_complaint,
)
from monitor_api.complaints.service import incident_links
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.routes._errors import storage_errors
from monitor_api.scoring import notify_scores_changed
from monitor_api.services import Services, ServicesDep
from monitor_api.storage.models import ComplaintRow
from monitor_api.storage.types import utcnow

router = APIRouter(prefix="/complaints", tags=["complaints"])
ComplaintId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Ident = Annotated[str, Field(min_length=1, max_length=64)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ComplaintCreate(_Body):
    hall_id: Ident
    channel: Literal["in_person", "written", "phone", "email"]
    summary: str = Field(default="", max_length=4000, description="The subject (投诉事项); empty makes it invalid.")
    staff_id: Ident | None = None
    window_id: Ident | None = None
    incident_ids: list[Annotated[str, Field(min_length=1, max_length=128)]] = Field(default=[], max_length=20)
    complainant_name: str | None = Field(default=None, max_length=64, description="Optional (实名 encouraged).")
    complainant_contact: str | None = Field(default=None, max_length=128)
    received_at: AwareDatetime | None = Field(default=None, description="When it was received (default: now).")


class ComplaintReject(_Body):
    reason: str = Field(min_length=1, max_length=2000)


Outcome = Literal["upheld", "not_upheld"]


class OnSpotResolve(_Body):
    """Resolved on the spot: the outcome is known now."""

    resolution: Literal["on_spot"]
    outcome: Outcome
    supervision_opinion: str | None = Field(default=None, max_length=4000)
    deadline: AwareDatetime | None = None


class SupervisionResolve(_Body):
    """A supervision opinion with a deadline (both required on an accepted complaint); the outcome may follow in a
    later call."""

    resolution: Literal["supervision"]
    outcome: Outcome | None = None
    supervision_opinion: str | None = Field(default=None, max_length=4000)
    deadline: AwareDatetime | None = None


ComplaintResolve = Annotated[OnSpotResolve | SupervisionResolve, Field(discriminator="resolution")]
_STEP_CONFLICT = "The complaint is not in a state that allows this step"


class ComplaintReply(_Body):
    text: str = Field(min_length=1, max_length=4000)


class ComplaintPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    hall_id: str
    status: str
    channel: str
    summary: str
    staff_id: str | None
    window_id: str | None
    incident_ids: list[str] = []
    complainant_name: str | None
    complainant_contact: str | None
    received_at: datetime
    rejection_reason: str | None
    resolution: str | None
    supervision_opinion: str | None
    deadline: datetime | None
    outcome: str | None
    reply: str | None
    replied_at: datetime | None
    resolved_at: datetime | None


def _public(session: object, row: ComplaintRow) -> ComplaintPublic:
    result = ComplaintPublic.model_validate(row)
    result.incident_ids = incident_links(session, row.id)  # type: ignore[arg-type]
    return result


def _load(session: object, principal: Principal, complaint_id: int) -> ComplaintRow:
    row = session.get(ComplaintRow, complaint_id)  # type: ignore[attr-defined]
    if row is None or not principal.sees_hall(row.hall_id):
        raise principal.missing(f"complaint {complaint_id}")
    return row


@router.post("", response_model=ComplaintPublic, status_code=201, summary="File a complaint (intake)",
             responses=problem_responses(400, notes={422: "Invalid request; also a staff member, window or incident "
                                                          "not in the hall, or neither a subject nor a target"}))
def create(body: ComplaintCreate, principal: ComplaintFiler, services: ServicesDep) -> ComplaintPublic:
    principal.require_hall(body.hall_id)
    if services.settings.hall(body.hall_id) is None:
        raise ApiProblem(404, f"hall {body.hall_id} not found")
    now = utcnow()
    with services.database.write() as session:
        try:
            row = file_complaint(session, principal.actor, hall_id=body.hall_id, channel=body.channel,
                                 summary=body.summary, staff_id=body.staff_id, window_id=body.window_id,
                                 incident_ids=body.incident_ids, complainant_name=body.complainant_name,
                                 complainant_contact=body.complainant_contact,
                                 received_at=body.received_at or now, filed_by=principal.id, now=now)
        except ComplaintError as error:
            raise ApiProblem(422, str(error)) from None
        return _public(session, row)


@router.get("", response_model=list[ComplaintPublic], summary="Complaints, newest first")
def list_complaints(principal: ComplaintFiler, services: ServicesDep,
                    hall: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
                    status: Annotated[str | None, Query(max_length=16)] = None,
                    limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[ComplaintPublic]:
    query = select(ComplaintRow).order_by(ComplaintRow.received_at.desc(), ComplaintRow.id.desc()).limit(limit)
    if hall is not None:
        principal.require_hall(hall)
        query = query.where(ComplaintRow.hall_id == hall)
    elif principal.halls is not None:
        query = query.where(ComplaintRow.hall_id.in_(sorted(principal.halls)))
    if status is not None:
        query = query.where(ComplaintRow.status == status)
    with services.database.read() as session:
        return [_public(session, row) for row in session.scalars(query)]


@router.get("/{complaint_id}", response_model=ComplaintPublic, summary="One complaint")
def get_complaint(complaint_id: ComplaintId, principal: ComplaintFiler, services: ServicesDep) -> ComplaintPublic:
    with services.database.read() as session:
        return _public(session, _load(session, principal, complaint_id))


def _step(services: Services, principal: Principal, complaint_id: int, action: str,
          **kwargs: object) -> ComplaintPublic:
    steps = {"accept": accept_complaint, "reject": reject_complaint, "resolve": resolve_complaint,
             "reply": reply_to_complainant}
    with services.database.write() as session:
        complaint = _load(session, principal, complaint_id)
        if principal.is_staff_member(complaint.hall_id, complaint.staff_id):
            raise ApiProblem(403, "you cannot handle a complaint about yourself")
        with storage_errors():
            try:
                row = steps[action](session, principal.actor, complaint_id, now=utcnow(), **kwargs)  # type: ignore
            except ComplaintError as error:
                raise ApiProblem(422, str(error)) from None
        result = _public(session, row)
    if action == "resolve" and result.staff_id is not None:
        notify_scores_changed(services, result.hall_id, result.received_at,
                              {"kind": "complaint", "complaint_id": result.id, "outcome": result.outcome})
    return result


@router.post("/{complaint_id}/accept", response_model=ComplaintPublic, summary="Accept (受理)",
             responses=problem_responses(409, notes={409: _STEP_CONFLICT}))
def accept(complaint_id: ComplaintId, principal: ComplaintDecider, services: ServicesDep) -> ComplaintPublic:
    return _step(services, principal, complaint_id, "accept")


@router.post("/{complaint_id}/reject", response_model=ComplaintPublic, summary="Reject as invalid (无效投诉)",
             responses=problem_responses(400, 409, notes={409: _STEP_CONFLICT}))
def reject(complaint_id: ComplaintId, body: ComplaintReject, principal: ComplaintDecider,
           services: ServicesDep) -> ComplaintPublic:
    return _step(services, principal, complaint_id, "reject", reason=body.reason)


@router.post("/{complaint_id}/resolve", response_model=ComplaintPublic, summary="Resolve on the spot or by a "
             "supervision opinion",
             responses=problem_responses(400, 409, notes={
                 409: "The complaint is not accepted yet", 422: "Invalid request; also a supervision resolution of "
                 "an accepted complaint without supervision_opinion and deadline (on_spot needs an outcome)"}))
def resolve(complaint_id: ComplaintId, body: ComplaintResolve, principal: ComplaintDecider,
            services: ServicesDep) -> ComplaintPublic:
    return _step(services, principal, complaint_id, "resolve", resolution=body.resolution, outcome=body.outcome,
                 supervision_opinion=body.supervision_opinion, deadline=body.deadline)


@router.post("/{complaint_id}/reply", response_model=ComplaintPublic,
             summary="Record the reply to the complainant",
             responses=problem_responses(400, 409, notes={409: "The complaint is not decided yet",
                                                          422: "Invalid request; also a blank reply"}))
def reply(complaint_id: ComplaintId, body: ComplaintReply, principal: ComplaintDecider,
          services: ServicesDep) -> ComplaintPublic:
    return _step(services, principal, complaint_id, "reply", text=body.text)
