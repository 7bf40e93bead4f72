"""Appraisal export (考核): confirmed incidents per staff member in a period. Only confirmed incidents count (due
process); each export is written to the audit log."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import func, select

from monitor_api.auth.policy import AnyUser, AppraisalReader
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.schemas.status import AppraisalPublic, StaffSummaryPublic
from monitor_api.scoring.config import load_scoring_config
from monitor_api.scoring.engine import Period
from monitor_api.scoring.record import period_json, thresholds_json
from monitor_api.services import ServicesDep
from monitor_api.storage import record_audit
from monitor_api.storage.models import IncidentRow, ReviewState, StaffRow

router = APIRouter(prefix="/appraisal", tags=["appraisal"])
_PERIOD = r"^(19[7-9]\d|[2-8]\d{3})(-(0[1-9]|1[0-2]))?$"


@router.get("/summary", response_model=AppraisalPublic, summary="Confirmed incidents per staff member (audited)",
            responses=problem_responses(notes={422: "Invalid request; also until not after since, or more than "
                                                    "400 days after it"}))
def summary(principal: AppraisalReader, services: ServicesDep,
            since: Annotated[AwareDatetime, Query(description="Start, inclusive (with a UTC offset).")],
            until: Annotated[AwareDatetime, Query(description="End, exclusive: after since, within 400 days of "
                                                              "it (422 otherwise).")],
            hall: Annotated[str | None, Query(min_length=1, max_length=64)] = None) -> AppraisalPublic:
    if until <= since or until - since > timedelta(days=400):
        raise ApiProblem(422, "until must be after since, within 400 days")
    if hall is not None:
        principal.require_hall(hall)
    query = (select(IncidentRow.hall_id, IncidentRow.staff_id, IncidentRow.type, func.count())
             .where(IncidentRow.review_state == ReviewState.CONFIRMED, IncidentRow.staff_id.is_not(None),
                    IncidentRow.started_at >= since, IncidentRow.started_at < until)
             .group_by(IncidentRow.hall_id, IncidentRow.staff_id, IncidentRow.type))
    if hall is not None:
        query = query.where(IncidentRow.hall_id == hall)
    elif principal.halls is not None:
        query = query.where(IncidentRow.hall_id.in_(sorted(principal.halls)))
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    with services.database.write() as session:
        for hall_id, staff_id, incident_type, count in session.execute(query):
            assert staff_id is not None  # the query keeps only incidents with a staff member
            counts[(hall_id, staff_id)][incident_type] = int(count)
        names = {(row.hall_id, row.id): row.name for row in session.scalars(select(StaffRow))}
        record_audit(session, principal.actor, "export.appraisal", "export", "appraisal-summary", hall_id=hall,
                     details={"since": since, "until": until, "staff": len(counts)}, client_ip=principal.client_ip)
    staff = [StaffSummaryPublic(hall_id=hall_id, staff_id=staff_id, staff_name=names.get((hall_id, staff_id)),
                                confirmed=sum(by_type.values()), by_type=by_type)
             for (hall_id, staff_id), by_type in sorted(counts.items())]
    return AppraisalPublic(since=since, until=until, staff=staff)


@router.get("/scores", summary="Derived appraisal scores per staff member for a month or year (audited)")
def scores(principal: AppraisalReader, services: ServicesDep,
           period: Annotated[str, Query(pattern=_PERIOD, description="YYYY-MM or YYYY, in the hall's time zone.")],
           hall: Annotated[str | None, Query(min_length=1, max_length=64)] = None) -> dict[str, Any]:
    """Scores, deductions (with incident/complaint ids) and flags, recomputed from the record on every call: the same
    documents (`periods[]`) the webhook pushes, with the thresholds the flags were raised by. See
    monitor_api/scoring."""
    if hall is not None:
        principal.require_hall(hall)
        if services.settings.hall(hall) is None:
            raise ApiProblem(404, f"hall {hall} not found")
    halls = [config for config in services.settings.halls
             if (hall is None or config.hall.id == hall) and principal.sees_hall(config.hall.id)]
    config = services.scoring or load_scoring_config(None)
    try:
        Period(period)
    except ValueError as error:
        raise ApiProblem(422, str(error)) from None
    with services.database.write() as session:
        documents = [period_json(session, item.hall.id, Period(period, item.calendar.timezone), config)
                     for item in halls]
        record_audit(session, principal.actor, "export.appraisal", "export", "appraisal-scores", hall_id=hall,
                     details={"period": period, "halls": [d["hall_id"] for d in documents]},
                     client_ip=principal.client_ip)
    return {"period": period, "flag_thresholds": thresholds_json(config), "halls": documents}


@router.get("/mine", summary="The caller's own scores, deductions and flags (a user linked to a staff record)")
def my_scores(principal: AnyUser, services: ServicesDep,
              period: Annotated[str, Query(pattern=_PERIOD, description="YYYY-MM or YYYY, in the hall's time zone.")],
              ) -> dict[str, Any]:
    """Due process: staff see exactly what the appraisal system receives about them (the same derivation), and the
    thresholds of the flags."""
    if principal.staff is None:
        raise ApiProblem(404, "this account is not linked to a staff record")
    hall_id, staff_id = principal.staff
    hall = services.settings.hall(hall_id)
    if hall is None:
        raise ApiProblem(404, f"hall {hall_id} not found")
    try:
        wanted = Period(period, hall.calendar.timezone)
    except ValueError as error:
        raise ApiProblem(422, str(error)) from None
    config = services.scoring or load_scoring_config(None)
    with services.database.read() as session:
        document = period_json(session, hall_id, wanted, config)
    mine = next((entry for entry in document["staff"] if entry["staff_id"] == staff_id), None)
    if mine is None:
        raise ApiProblem(404, f"staff record {staff_id} not found in hall {hall_id}")
    return {"hall_id": hall_id, "period": document["period"], "timezone": document["timezone"], **mine,
            "flag_thresholds": thresholds_json(config)}
