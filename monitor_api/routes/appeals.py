"""Appeals: filed by the staff member the incident names or by a manager; decided by a second reviewer, a manager
who neither confirmed the incident nor filed the appeal and is not the staff member it names (403 otherwise; 409 when
already decided)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.auth.policy import MANAGER, AppealDecider, AppealFiler, AppealReader
from monitor_api.auth.principal import Principal
from monitor_api.incident_access import incident_message, load_incident
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.routes._errors import storage_errors
from monitor_api.schemas.incidents import AppealCreate, AppealDecisionCreate, AppealPublic
from monitor_api.scoring import notify_scores_changed
from monitor_api.services import ServicesDep
from monitor_api.storage import decide_appeal, file_appeal
from monitor_api.storage.models import AppealRow, IncidentRow
from monitor_api.storage.types import utcnow

router = APIRouter(tags=["appeals"])

AppealId = Annotated[int, Path(ge=1, le=2**62)]


@router.post("/incidents/{incident_id}/appeals", response_model=AppealPublic, status_code=201,
             summary="Appeal a confirmed incident",
             responses=problem_responses(400, 409, notes={409: "The incident is not confirmed, or already has an "
                                                               "undecided appeal"}))
def create_appeal(incident_id: str, body: AppealCreate, principal: AppealFiler, services: ServicesDep) -> AppealPublic:
    with services.database.write() as session:
        incident = load_incident(session, principal, incident_id)
        if principal.role is not MANAGER and not principal.is_staff_member(incident.hall_id, incident.staff_id):
            raise ApiProblem(403, "only the staff member the incident names, or a manager, may appeal it")
        with storage_errors():
            try:
                appeal = file_appeal(session, incident.id, principal.id, body.reason, utcnow())
            except ValueError as error:
                raise ApiProblem(422, str(error)) from None
        result = AppealPublic.model_validate(appeal)
    return result


@router.post("/appeals/{appeal_id}/decision", response_model=AppealPublic, summary="Decide an appeal (second "
             "reviewer)", responses=problem_responses(400, 409, notes={409: "The appeal is already decided"}))
def decide(appeal_id: AppealId, body: AppealDecisionCreate, principal: AppealDecider,
           services: ServicesDep) -> AppealPublic:
    with services.database.write() as session:
        _refuse_own_appeal(session, principal, appeal_id)
        with storage_errors():
            appeal = decide_appeal(session, appeal_id, principal.id, body.decision, body.note, utcnow())
        incident = session.get(IncidentRow, appeal.incident_id)
        assert incident is not None
        result = AppealPublic.model_validate(appeal)
        message = incident_message("reviewed", incident)
        changed = (incident.hall_id, incident.started_at, {"kind": "appeal", "appeal_id": appeal.id,
                                                           "incident_id": incident.id, "decision": body.decision.value})
    services.hub.publish_threadsafe(message)
    notify_scores_changed(services, *changed)
    return result


def _refuse_own_appeal(session: Session, principal: Principal, appeal_id: int) -> None:
    """No one decides the appeal of an incident about themselves (as no one reviews one)."""
    if principal.staff is None:
        return
    incident = session.scalars(select(IncidentRow).join(AppealRow, AppealRow.incident_id == IncidentRow.id)
                               .where(AppealRow.id == appeal_id)).first()
    if incident is not None and principal.is_staff_member(incident.hall_id, incident.staff_id):
        raise ApiProblem(403, "you cannot decide the appeal of an incident about yourself")


@router.get("/appeals", response_model=list[AppealPublic], summary="Appeals, oldest undecided first")
def list_appeals(principal: AppealReader, services: ServicesDep,
                 undecided: Annotated[bool, Query(description="Only appeals still to decide.")] = True,
                 limit: Annotated[int, Query(ge=1, le=200)] = 50) -> list[AppealPublic]:
    query = select(AppealRow).order_by(AppealRow.filed_at, AppealRow.id).limit(limit)
    if undecided:
        query = query.where(AppealRow.decided_at.is_(None))
    with services.database.read() as session:
        return [AppealPublic.model_validate(row) for row in session.scalars(query)]
