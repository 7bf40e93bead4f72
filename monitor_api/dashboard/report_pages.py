"""The report page (/reports: pickers, SVG charts, downloads) and the staff view (/me: a staff member's own scores
and incidents, and the appeal state of the confirmed ones, each a link to the incident page where the appeal form
is). Data comes through the API as the visitor, like every other page (see api_client.py), so hall scopes and audit
rules are the API's."""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response

from monitor_api.dashboard import page_kit, present
from monitor_api.dashboard.api_client import ApiError
from monitor_api.dashboard.report_charts import heatmap_svg, trend_svg

router = APIRouter(include_in_schema=False)
SCOPES = ("hall", "window", "staff", "department")
APPEAL_LIST_LIMIT = 50  # confirmed incidents listed under appeals on /me, newest first
PRESENCE_COLUMNS = ("service_minutes", "present_minutes", "absent_minutes", "paused_minutes", "unknown_minutes")
PAGE_INCIDENT_LIMIT = 200  # incidents listed on /reports, oldest first; the CSV/XLSX/PDF files carry them all


@router.get("/reports")
async def reports_page(request: Request) -> Response:

    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, api, user = visit
    period = request.query_params.get("period") or ""
    scope = request.query_params.get("scope") if request.query_params.get("scope") in SCOPES else "hall"
    key = request.query_params.get("key") or ""
    report: dict[str, Any] | None = None
    invalid = False
    try:
        halls = await page_kit.halls(api, user)
        hall = page_kit.chosen_hall(request, halls)
        # Without a period the page opens on the current month in the hall's own time zone.
        period = period or f"{dt.datetime.now(hall.tz if hall is not None else present.zone(None)):%Y-%m}"
        if hall is not None:
            try:
                report = await api.get("/reports", {"hall": hall.id, "period": period, "scope": scope,
                                                    "key": key if scope != "hall" else None})
            except ApiError as error:
                if error.status not in (404, 422):
                    raise
                invalid = True
    except ApiError as error:
        return page_kit.api_failure(request, tr, remember, user, error, forbidden="action.forbidden")
    downloads = []
    if report is not None and hall is not None:
        base = {"hall": hall.id, "period": period, "scope": scope, **({"key": key} if scope != "hall" else {})}
        downloads = [(fmt.upper(), "/api/v1/reports?" + urlencode({**base, "format": fmt}))
                     for fmt in ("csv", "xlsx", "pdf")]
    charts = {}
    if report is not None:
        charts = {"trend": trend_svg(report.get("trend") or [], tr.t("reports.trend")),
                  "heatmap": heatmap_svg(report.get("heatmap") or [], tr.t("reports.heatmap"), tr.lang)}
    scores_state = (report or {}).get("scores_state", "included")
    return page_kit.page(request, "reports.html", tr, remember, {
        "user": user, "halls": halls, "hall": hall, "nav": "reports", "period": period, "scope": scope, "key": key,
        "scopes": SCOPES, "report": report, "charts": charts, "downloads": downloads, "invalid": invalid,
        "incidents": incident_rows(report, tr) if report else [], "scores": score_rows(report, tr) if report else [],
        "incident_limit": PAGE_INCIDENT_LIMIT,
        "presence_columns": [(column, tr.t(f"reports.col.{column}")) for column in PRESENCE_COLUMNS],
        "scores_note": "" if scores_state == "included" else tr.t(f"reports.scores.{scores_state}")})


def incident_rows(report: dict[str, Any], tr: Any) -> list[dict[str, Any]]:
    """The report's incident list in the visitor's language (the first PAGE_INCIDENT_LIMIT)."""
    rows = []
    for item in (report.get("incident_list") or [])[:PAGE_INCIDENT_LIMIT]:
        outcome = [tr.reason(item.get("review_decision"), item["review_reason"])] if item.get("review_reason") else []
        if item.get("appeal"):
            outcome.append(tr.t(f"reports.appeal.{item['appeal']}"))
        duration = item.get("duration_s")
        rows.append({"id": item["incident_id"], "at": item["started_at"], "window": item["window_name"],
                     "staff": item.get("staff_name") or "", "type": tr.label("incident_type", item["type"]),
                     "minutes": "–" if duration is None else f"{duration / 60:.1f}",
                     "state": tr.label("review_state", item["review_state"]), "outcome": "; ".join(outcome)})
    return rows


def score_rows(report: dict[str, Any], tr: Any) -> list[dict[str, Any]]:
    return [{**row, "flag_labels": [tr.t(f"flag.{flag}") for flag in row.get("flags") or ()]}
            for row in report.get("scores") or ()]


@router.get("/me")
async def me_page(request: Request) -> Response:

    visit = await page_kit.visit(request)
    if visit is None:
        return page_kit.to_login(request)
    tr, remember, api, user = visit
    incidents: list[present.IncidentView] = []
    scores: list[dict] = []
    if user.staff is not None:
        hall_id, staff_id = user.staff
        try:
            document = await api.get("/incidents", {"hall": hall_id, "staff": staff_id, "limit": 200})
            halls = {hall.id: hall for hall in await page_kit.halls(api, user)}
        except ApiError as error:
            return page_kit.api_failure(request, tr, remember, user, error)
        tz = halls.get(hall_id, present.HallView(hall_id, hall_id)).tz  # the hall's clock, as on the incident page
        incidents = [present.incident_view(doc, tr, tz) for doc in page_kit.items(document)]
        now = dt.datetime.now(tz)
        for period in (f"{now:%Y-%m}", f"{now:%Y}"):  # the same derivation the appraisal system receives
            try:
                score = await api.get("/appraisal/mine", {"period": period})
                score["flag_labels"] = [tr.t(f"flag.{flag['name']}") for flag in score.get("flags", [])]
                scores.append(score)
            except ApiError as error:
                return page_kit.api_failure(request, tr, remember, user, error)
    thresholds = threshold_lines(scores[0].get("flag_thresholds") or {}, tr) if scores else []
    try:
        appeals = await appeal_states(api, incidents, tr)
    except ApiError as error:
        return page_kit.api_failure(request, tr, remember, user, error)
    return page_kit.page(request, "me.html", tr, remember, {"user": user, "incidents": incidents, "scores": scores,
                                                          "thresholds": thresholds, "appeals": appeals, "nav": "me"})


async def appeal_states(api: Any, incidents: list[present.IncidentView],
                        tr: Any) -> list[tuple[present.IncidentView, str, str]]:
    """(incident, state, label) of the confirmed incidents, the ones an appeal can be about: `open` (no appeal yet),
    `pending` (one awaits a decision) or `rejected` (decided against; another may be filed)."""
    confirmed = [incident for incident in incidents if incident.review_state == "confirmed"][:APPEAL_LIST_LIMIT]
    details = await asyncio.gather(*(api.get("/incidents/" + quote(incident.id, safe="")) for incident in confirmed))
    rows = []
    for incident, detail in zip(confirmed, details, strict=True):
        decided = [appeal for appeal in detail.get("appeals") or () if appeal.get("decision")]
        state = "pending" if present.pending_appeal(detail) else "rejected" if decided else "open"
        rows.append((incident, state, tr.t(f"me.appeal_state.{state}")))
    return rows


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
