"""Appraisal export (考核): confirmed incidents per staff member in a period. Only confirmed incidents count (due
process); each export is written to the audit log."""
from __future__ import annotations

from collections import defaultdict
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import func, select

from monitor_api.auth.policy import AppraisalReader
from monitor_api.problems import ApiProblem
from monitor_api.schemas.status import AppraisalPublic, StaffSummaryPublic
from monitor_api.services import ServicesDep
from monitor_api.storage import record_audit
from monitor_api.storage.models import IncidentRow, ReviewState, StaffRow

router = APIRouter(prefix="/appraisal", tags=["appraisal"])


@router.get("/summary", response_model=AppraisalPublic, summary="Confirmed incidents per staff member (audited)")
def summary(principal: AppraisalReader, services: ServicesDep, since: AwareDatetime, until: AwareDatetime,
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
            counts[(hall_id, staff_id)][incident_type] = int(count)
        names = {(row.hall_id, row.id): row.name for row in session.scalars(select(StaffRow))}
        record_audit(session, principal.actor, "export.appraisal", "export", "appraisal-summary", hall_id=hall,
                     details={"since": since, "until": until, "staff": len(counts)}, client_ip=principal.client_ip)
    staff = [StaffSummaryPublic(hall_id=hall_id, staff_id=staff_id, staff_name=names.get((hall_id, staff_id)),
                                confirmed=sum(by_type.values()), by_type=by_type)
             for (hall_id, staff_id), by_type in sorted(counts.items())]
    return AppraisalPublic(since=since, until=until, staff=staff)
