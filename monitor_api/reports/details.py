"""The report's detail lists: every incident of the period with its review and appeal outcome, and the period's
appraisal scores. Scores are the derivation GET /appraisal/scores serves (monitor_api.scoring.record.period_json
with the same config), narrowed to the report's scope, never recomputed another way."""
from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.reports.period import Period
from monitor_api.scoring.config import ScoringConfig, load_scoring_config
from monitor_api.scoring.engine import Period as ScoringPeriod
from monitor_api.scoring.record import period_json
from monitor_api.storage.models import AppealRow, IncidentRow, ReviewRow, RosterEntryRow, StaffRow, WindowRow

# Why a report has no score rows: included (rows follow), not_permitted (the reader may not see appraisal scores),
# not_monthly (scores exist per month or year only).
SCORE_STATES = ("included", "not_permitted", "not_monthly")


def _utc(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def incident_list(session: Session, hall_id: str, bounds: tuple[dt.datetime, dt.datetime],
                  incidents: list[IncidentRow], zone: ZoneInfo, windows: dict[str, WindowRow],
                  staff_rows: dict[str, StaffRow]) -> list[dict[str, Any]]:
    """One row per incident, oldest first: local time, window and staff names, type, review and appeal outcome."""
    in_period = (IncidentRow.hall_id == hall_id, IncidentRow.started_at >= bounds[0],
                 IncidentRow.started_at < bounds[1])
    reviews = {row.incident_id: row for row in session.scalars(
        select(ReviewRow).join(IncidentRow, IncidentRow.id == ReviewRow.incident_id).where(*in_period))}
    appeals: dict[str, AppealRow] = {}
    for appeal in session.scalars(select(AppealRow).join(IncidentRow, IncidentRow.id == AppealRow.incident_id)
                                  .where(*in_period).order_by(AppealRow.filed_at, AppealRow.id)):
        appeals[appeal.incident_id] = appeal  # the latest appeal tells the current outcome
    rows = []
    for incident in incidents:
        started = _utc(incident.started_at)
        review, latest = reviews.get(incident.id), appeals.get(incident.id)
        window, staff = windows.get(incident.window_id), staff_rows.get(incident.staff_id or "")
        rows.append({
            "incident_id": incident.id, "started_at": started.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "duration_s": (round((_utc(incident.ended_at) - started).total_seconds())
                           if incident.ended_at else None),
            "window_id": incident.window_id, "window_name": window.name if window else incident.window_id,
            "staff_id": incident.staff_id, "staff_name": staff.name if staff else incident.staff_id,
            "type": incident.type, "review_state": incident.review_state.value,
            "review_decision": review.decision.value if review else None,
            "review_reason": review.reason_code if review else None,
            "appeal": None if latest is None else (latest.decision.value if latest.decision else "pending"),
        })
    return rows


def _in_scope(session: Session, hall_id: str, scope: str, key: str | None,
              staff_rows: dict[str, StaffRow]) -> Any:
    rostered: set[str] = set()
    if scope == "window":
        rostered = set(session.scalars(select(RosterEntryRow.staff_id).where(RosterEntryRow.hall_id == hall_id,
                                                                           RosterEntryRow.window_id == key)))

    def wanted(entry: dict[str, Any]) -> bool:
        staff = staff_rows.get(entry["staff_id"])
        if scope == "staff":
            return entry["staff_id"] == key
        if scope == "window":
            return entry["staff_id"] in rostered or any(w["window_id"] == key for w in entry["by_window"])
        if scope == "department":
            return staff is not None and staff.department == key
        return bool(entry["deductions"]) or (staff is not None and staff.active)

    return wanted


def score_rows(session: Session, hall_id: str, timezone: str, period: Period, scope: str, key: str | None,
               staff_rows: dict[str, StaffRow], config: ScoringConfig | None) -> tuple[str, list[dict[str, Any]]]:
    """(state, rows): the scores of the period's staff in scope, lowest score first."""
    if period.kind not in ("month", "year"):
        return "not_monthly", []
    document = period_json(session, hall_id, ScoringPeriod(period.text, timezone),
                           config or load_scoring_config(None))
    wanted = _in_scope(session, hall_id, scope, key, staff_rows)
    rows = []
    for entry in document["staff"]:
        if not wanted(entry):
            continue
        staff = staff_rows.get(entry["staff_id"])
        rows.append({"staff_id": entry["staff_id"], "staff_name": entry["staff_name"] or entry["staff_id"],
                     "department": staff.department if staff else "", "base": float(entry["base"]),
                     "deducted": float(entry["deducted"]), "score": float(entry["score"]),
                     "violations": len(entry["deductions"]),
                     "flags": list(dict.fromkeys(flag["name"] for flag in entry["flags"]))})
    rows.sort(key=lambda row: (row["score"], row["staff_id"]))
    return "included", rows
