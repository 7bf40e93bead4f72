"""Incidents: list (filters, cursor pages), detail, acknowledge, review (confirm/dismiss with a reason code)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from monitor_api.auth.policy import IncidentReader, IncidentReviewer
from monitor_api.incident_access import (
    encode_cursor,
    incident_detail,
    incident_message,
    incident_public,
    load_incident,
    page_after,
    staff_names,
    visibility_clause,
    window_names,
)
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.routes._errors import storage_errors
from monitor_api.schemas.common import Page
from monitor_api.schemas.incidents import IncidentDetailPublic, IncidentPublic, ReviewCreate
from monitor_api.scoring import notify_scores_changed
from monitor_api.services import ServicesDep
from monitor_api.storage import acknowledge_incident, review_incident
from monitor_api.storage.models import IncidentRow, IncidentState, ReviewState
from monitor_api.storage.types import utcnow

router = APIRouter(prefix="/incidents", tags=["incidents"])

Ident = Annotated[str | None, Query(min_length=1, max_length=64)]


@router.get("", response_model=Page[IncidentPublic], summary="List incidents, newest first",
            responses=problem_responses(notes={422: "Invalid request; also a cursor this API did not give out"}))
def list_incidents(
    principal: IncidentReader, services: ServicesDep,
    hall: Ident = None, window: Ident = None, staff: Ident = None,
    type: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    state: IncidentState | None = None, review_state: ReviewState | None = None,
    since: Annotated[AwareDatetime | None, Query(description="started_at >= since (with a UTC offset)")] = None,
    until: Annotated[AwareDatetime | None, Query(description="started_at < until (with a UTC offset)")] = None,
    cursor: Annotated[str | None, Query(max_length=512)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[IncidentPublic]:
    if hall is not None and not principal.sees_hall(hall) and not (principal.staff and principal.staff[0] == hall):
        raise ApiProblem(403, "not within your halls")
    query = select(IncidentRow)
    visible = visibility_clause(principal)
    if visible is not None:
        query = query.where(visible)
    filters = {IncidentRow.hall_id: hall, IncidentRow.window_id: window, IncidentRow.staff_id: staff,
               IncidentRow.type: type, IncidentRow.state: state, IncidentRow.review_state: review_state}
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(IncidentRow.started_at >= since)
    if until is not None:
        query = query.where(IncidentRow.started_at < until)
    query = page_after(query, cursor).limit(limit + 1)
    with services.database.read() as session:
        rows = list(session.scalars(query))
        more = len(rows) > limit
        rows = rows[:limit]
        names, staff_by_key = window_names(session, rows), staff_names(session, rows)
    next_cursor = encode_cursor(rows[-1].started_at, rows[-1].id) if more and rows else None
    items = [incident_public(row, names.get((row.hall_id, row.window_id)),
                             staff_by_key.get((row.hall_id, row.staff_id)) if row.staff_id else None)
             for row in rows]
    return Page[IncidentPublic](items=items, next_cursor=next_cursor)


@router.get("/{incident_id}", response_model=IncidentDetailPublic, summary="One incident with review, appeals, "
            "evidence")
def get_incident(incident_id: str, principal: IncidentReader, services: ServicesDep) -> IncidentDetailPublic:
    with services.database.read() as session:
        incident = load_incident(session, principal, incident_id)
        return incident_detail(session, incident)


@router.post("/{incident_id}/acknowledge", response_model=IncidentPublic, summary="A supervisor has seen it",
             responses=problem_responses(409, notes={409: "The incident is already reviewed"}))
def acknowledge(incident_id: str, principal: IncidentReviewer, services: ServicesDep) -> IncidentPublic:
    with services.database.write() as session:
        incident = load_incident(session, principal, incident_id, for_staff=False)
        if principal.is_staff_member(incident.hall_id, incident.staff_id):
            raise ApiProblem(403, "you cannot acknowledge an incident about yourself")
        with storage_errors():
            incident = acknowledge_incident(session, incident_id, principal.id, utcnow())
        result = incident_public(incident)
        message = incident_message("reviewed", incident)
    services.hub.publish_threadsafe(message)
    return result


@router.post("/{incident_id}/review", response_model=IncidentDetailPublic, summary="Confirm or dismiss",
             responses=problem_responses(400, 409, notes={409: "The incident is already reviewed (one review "
                                                               "per incident: appeal instead)"}))
def review(incident_id: str, body: ReviewCreate, principal: IncidentReviewer,
           services: ServicesDep) -> IncidentDetailPublic:
    with services.database.write() as session:
        incident = load_incident(session, principal, incident_id, for_staff=False)
        if principal.is_staff_member(incident.hall_id, incident.staff_id):
            raise ApiProblem(403, "you cannot review an incident about yourself")
        with storage_errors():
            review_incident(session, incident_id, principal.id, body.decision, body.reason_code.value, body.note,
                            utcnow())
        session.refresh(incident)
        detail = incident_detail(session, incident)
        message = incident_message("reviewed", incident)
        changed = (incident.hall_id, incident.started_at, {"kind": "review", "incident_id": incident.id,
                                                           "decision": body.decision.value})
    services.hub.publish_threadsafe(message)
    notify_scores_changed(services, *changed)
    return detail
