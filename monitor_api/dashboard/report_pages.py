"""The report page (/reports: pickers, SVG charts, downloads) and the staff view (/me: a staff member's own
incidents, each a link to the incident page where the appeal form is). Data comes through the API as the visitor,
like every other page (see api_client.py), so hall scopes and audit rules are the API's."""
from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from monitor_api.dashboard import present
from monitor_api.dashboard.api_client import ApiError
from monitor_api.dashboard.report_charts import heatmap_svg, trend_svg

router = APIRouter(include_in_schema=False)
SCOPES = ("hall", "window", "staff", "department")


@router.get("/reports")
async def reports_page(request: Request) -> Response:
    from monitor_api.dashboard import pages  # pages imports this module: import late

    visit = await pages._visit(request)
    if visit is None:
        return pages._to_login(request)
    tr, remember, api, user = visit
    today = dt.date.today()
    last = today.replace(day=1) - dt.timedelta(days=1)
    period = request.query_params.get("period") or f"{last.year:04d}-{last.month:02d}"
    scope = request.query_params.get("scope") if request.query_params.get("scope") in SCOPES else "hall"
    key = request.query_params.get("key") or ""
    report: dict[str, Any] | None = None
    invalid = False
    try:
        halls = await pages._halls(api, user)
        hall = pages._chosen_hall(request, halls)
        if hall is not None:
            try:
                report = await api.get("/reports", {"hall": hall.id, "period": period, "scope": scope,
                                                    "key": key if scope != "hall" else None})
            except ApiError as error:
                if error.status not in (404, 422):
                    raise
                invalid = True
    except ApiError as error:
        return pages._api_failure(request, tr, remember, user, error, forbidden="action.forbidden")
    downloads = []
    if report is not None and hall is not None:
        base = {"hall": hall.id, "period": period, "scope": scope, **({"key": key} if scope != "hall" else {})}
        downloads = [(fmt.upper(), "/api/v1/reports?" + urlencode({**base, "format": fmt}))
                     for fmt in ("csv", "xlsx", "pdf")]
    charts = {}
    if report is not None:
        charts = {"trend": trend_svg(report.get("trend") or [], tr.t("reports.trend")),
                  "heatmap": heatmap_svg(report.get("heatmap") or [], tr.t("reports.heatmap"), tr.lang)}
    return pages._page(request, "reports.html", tr, remember, {
        "user": user, "halls": halls, "hall": hall, "nav": "reports", "period": period, "scope": scope, "key": key,
        "scopes": SCOPES, "report": report, "charts": charts, "downloads": downloads, "invalid": invalid})


@router.get("/me")
async def me_page(request: Request) -> Response:
    from monitor_api.dashboard import pages

    visit = await pages._visit(request)
    if visit is None:
        return pages._to_login(request)
    tr, remember, api, user = visit
    incidents: list[present.IncidentView] = []
    scores: list[dict] = []
    if user.staff is not None:
        hall_id, staff_id = user.staff
        try:
            document = await api.get("/incidents", {"hall": hall_id, "staff": staff_id, "limit": 200})
        except ApiError as error:
            return pages._api_failure(request, tr, remember, user, error)
        tz = present.HallView(hall_id, hall_id).tz
        incidents = [present.incident_view(doc, tr, tz) for doc in pages._items(document)]
        now = dt.datetime.now(tz)
        for period in (f"{now:%Y-%m}", f"{now:%Y}"):  # the same derivation the appraisal system receives
            try:
                score = await api.get("/appraisal/mine", {"period": period})
                score["flag_labels"] = [tr.t(f"flag.{flag['name']}") for flag in score.get("flags", [])]
                scores.append(score)
            except ApiError as error:
                return pages._api_failure(request, tr, remember, user, error)
    thresholds = threshold_lines(scores[0].get("flag_thresholds") or {}, tr) if scores else []
    return pages._page(request, "me.html", tr, remember, {"user": user, "incidents": incidents, "scores": scores,
                                                          "thresholds": thresholds, "nav": "me"})


def threshold_lines(thresholds: dict[str, Any], tr: Any) -> list[str]:
    """When each flag is raised (the API's flag_thresholds of the scoring config in use), one sentence per flag."""
    lines = []
    for name, rule in thresholds.items():
        count, points = int(rule.get("min_violations") or 0), float(rule.get("min_points") or 0)
        flag = tr.t(f"flag.{name}")
        if "window_months" in rule:
            lines.append(tr.t("me.threshold.window", flag=flag, count=count, months=rule["window_months"]))
        elif count and points:
            lines.append(tr.t("me.threshold.count_or_points", flag=flag, count=count, points=f"{points:g}"))
        elif count or points:
            lines.append(tr.t("me.threshold.count", flag=flag, count=count) if count
                         else tr.t("me.threshold.points", flag=flag, points=f"{points:g}"))
        else:
            lines.append(tr.t("me.threshold.off", flag=flag))
    return lines
