"""Conduct reports: JSON for the dashboard's charts, CSV/XLSX/PDF files. Managers see every hall, supervisors
their own halls (403 otherwise). Every file export is written to the audit log; JSON views are not exports. Appraisal
scores are in the report only for whoever may read /appraisal/scores (managers), and reading them is logged as there
(export.appraisal), whatever the format."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response
from sqlalchemy.orm import Session

from monitor_api.auth.policy import APPRAISAL_READ, MANAGER, SUPERVISOR, Policy, gate
from monitor_api.auth.principal import Principal
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.reports import build_report, parse_period
from monitor_api.reports.exports import MEDIA_TYPES, filename, to_csv, to_xlsx
from monitor_api.reports.pdf import ReportFontMissing, to_pdf
from monitor_api.reports.presence import Coverage, LiveCoverage, StoredCoverage, window_cameras
from monitor_api.services import Services, ServicesDep
from monitor_api.storage import record_audit
from monitor_api.storage.types import utcnow

# Declared here rather than in auth/policy.py so the report feature stays in its own files; gate() keys by name.
REPORT_READ = Policy("report-read", frozenset({SUPERVISOR, MANAGER}),
                     description="conduct reports and their exports (audited): supervisors (own halls), managers")
ReportReader = Annotated[Principal, Depends(gate(REPORT_READ))]

router = APIRouter(prefix="/reports", tags=["reports"])

_YEAR = r"(19[7-9]\d|[2-8]\d{3})"
_MONTH = r"(0[1-9]|1[0-2])"
PERIOD_PATTERN = rf"^{_YEAR}(-{_MONTH}(-(0[1-9]|[12]\d|3[01]))?|-W(0[1-9]|[1-4]\d|5[0-3]))?$"


def sees_scores(principal: Principal) -> bool:
    """Appraisal scores are for whoever GET /appraisal/scores admits (managers, appraisal:read keys)."""
    if principal.kind == "api_key":
        return APPRAISAL_READ.admits_key(principal.scopes)
    return principal.role is not None and principal.role in APPRAISAL_READ.roles


def report_coverage(services: Services, session: Session, hall: str, now: datetime) -> Coverage | None:
    """Where the report learns unobserved time: the stored record of observed time (observed_spans) once the hall
    has one, with the cameras' views of the hall config when this instance has it; else the live registry where this
    process runs the hall's cameras (`counterwatch run`); else nothing (unobserved time is not told apart)."""
    config = services.settings.hall(hall)
    stored = StoredCoverage.for_hall(session, hall, window_cameras(config) if config is not None else None)
    if stored is not None:
        return stored
    if not services.settings.expect_cameras or config is None:
        return None
    return LiveCoverage(services.live, hall, services.settings.window_status_stale_s, now)


@router.get("", summary="A conduct report of a hall, window, staff member or department over a period",
            response_model=None,
            responses={200: {"content": {MEDIA_TYPES["csv"]: {}, MEDIA_TYPES["xlsx"]: {}, MEDIA_TYPES["pdf"]: {}}},
                       **problem_responses(notes={
                           422: "Invalid request; also a date that does not exist (2026-02-30, a week 53 the year "
                                "lacks) or a scope other than hall without a key",
                           503: "The PDF font is not installed"})})
def get_report(principal: ReportReader, services: ServicesDep,
               hall: Annotated[str, Query(min_length=1, max_length=64)],
               period: Annotated[str, Query(pattern=PERIOD_PATTERN,
                                            description="YYYY-MM-DD, YYYY-Www, YYYY-MM or YYYY (1970..8999)")],
               scope: Literal["hall", "window", "staff", "department"] = "hall",
               key: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
               format: Literal["json", "csv", "xlsx", "pdf"] = "json") -> Any:
    principal.require_hall(hall)
    try:
        parsed = parse_period(period)
    except ValueError as error:
        raise ApiProblem(422, str(error)) from None
    if scope != "hall" and key is None:
        raise ApiProblem(422, f"scope {scope} needs a key")
    now, with_scores = utcnow(), sees_scores(principal)
    with services.database.write() as session:
        try:
            report = build_report(session, hall, parsed, scope, key if scope != "hall" else None,
                                  services.calendars.get(hall), now,
                                  coverage=report_coverage(services, session, hall, now),
                                  scoring=services.scoring, with_scores=with_scores)
        except LookupError as error:
            raise ApiProblem(404, str(error).strip("'\"")) from None
        if report.scores_state == "included":  # scores are audited wherever they are read, as on /appraisal
            record_audit(session, principal.actor, "export.appraisal", "export", "appraisal-scores", hall_id=hall,
                         details={"period": period, "via": "report", "format": format, "scope": scope, "key": key},
                         client_ip=principal.client_ip)
        if format == "json":
            return report.as_json()
        try:
            body = {"csv": to_csv, "xlsx": to_xlsx, "pdf": to_pdf}[format](report)
        except ReportFontMissing as error:
            raise ApiProblem(503, str(error)) from None
        record_audit(session, principal.actor, "export.report", "report", f"{hall}/{scope}/{key or ''}/{period}",
                     hall_id=hall, details={"format": format, "period": period, "scope": scope, "key": key,
                                            "bytes": len(body)}, client_ip=principal.client_ip)
    return Response(body, media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{filename(report, format)}"',
                             "Cache-Control": "no-store"})
