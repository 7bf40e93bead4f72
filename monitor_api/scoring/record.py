"""Read the record a period's scores derive from, and render scores as the JSON both the appraisal endpoint and the
webhook serve (one function, so the two always carry the same numbers)."""
from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.scoring.config import ScoringConfig
from monitor_api.scoring.engine import ComplaintRecord, IncidentRecord, Period, StaffScore, add_months, compute_scores
from monitor_api.storage.models import (
    AppealDecision,
    AppealRow,
    ComplaintIncidentRow,
    ComplaintRow,
    IncidentRow,
    ReviewRow,
    StaffRow,
)


def load_record(session: Session, hall_id: str, period: Period,
                months_back: int) -> tuple[list[IncidentRecord], list[ComplaintRecord]]:
    """Incidents (with review and appeals) and complaints of the hall from `months_back` months before the period
    (for escalations) to its end."""
    since = add_months(period.start_local, -months_back)
    reviews = {row.incident_id: row.decision.value for row in session.scalars(
        select(ReviewRow).join(IncidentRow, IncidentRow.id == ReviewRow.incident_id)
        .where(IncidentRow.hall_id == hall_id, IncidentRow.started_at >= since, IncidentRow.started_at < period.end))}
    upheld = set(session.scalars(
        select(AppealRow.incident_id).join(IncidentRow, IncidentRow.id == AppealRow.incident_id)
        .where(IncidentRow.hall_id == hall_id, AppealRow.decision == AppealDecision.UPHELD)))
    incidents = [IncidentRecord(row.id, row.hall_id, row.window_id, row.staff_id, row.type, row.started_at,
                                row.ended_at, reviews.get(row.id), row.id in upheld)
                 for row in session.scalars(select(IncidentRow).where(
                     IncidentRow.hall_id == hall_id, IncidentRow.started_at >= since,
                     IncidentRow.started_at < period.end))]
    links: dict[int, list[str]] = defaultdict(list)
    for link in session.scalars(select(ComplaintIncidentRow)):
        links[link.complaint_id].append(link.incident_id)
    complaints = [ComplaintRecord(row.id, row.hall_id, row.window_id, row.staff_id, row.received_at, row.outcome,
                                  tuple(sorted(links.get(row.id, ()))))
                  for row in session.scalars(select(ComplaintRow).where(
                      ComplaintRow.hall_id == hall_id, ComplaintRow.received_at >= since,
                      ComplaintRow.received_at < period.end))]
    return incidents, complaints


def hall_scores(session: Session, hall_id: str, period: Period, config: ScoringConfig) -> tuple[StaffScore, ...]:
    incidents, complaints = load_record(session, hall_id, period, config.flags.escalation_window_months)
    staff = [(hall_id, row.id) for row in session.scalars(select(StaffRow).where(StaffRow.hall_id == hall_id))]
    return compute_scores(incidents, complaints, config, period, staff)


def score_json(score: StaffScore, names: dict[str, str]) -> dict[str, Any]:
    return {
        "staff_id": score.staff_id, "staff_name": names.get(score.staff_id), "base": score.base,
        "deducted": score.deducted, "score": score.score,
        "by_window": [{"window_id": window, "deducted": points} for window, points in score.by_window],
        "deductions": [{"source": item.source, "id": item.source_id, "type": item.type, "window_id": item.window_id,
                        "at": item.at.isoformat(), "points": item.points} for item in score.deductions],
        "flags": [{"name": flag.name, "incident_ids": list(flag.incident_ids),
                   "complaint_ids": list(flag.complaint_ids),
                   "at": flag.at.isoformat() if flag.at else None} for flag in score.flags],
    }


def period_json(session: Session, hall_id: str, period: Period, config: ScoringConfig) -> dict[str, Any]:
    """{"hall_id", "period", "timezone", "staff": [...]}: the unit the endpoint returns and the webhook pushes."""
    names = {row.id: row.name for row in session.scalars(select(StaffRow).where(StaffRow.hall_id == hall_id))}
    scores = hall_scores(session, hall_id, period, config)
    return {"hall_id": hall_id, "period": period.label, "timezone": period.tz,
            "staff": [score_json(score, names) for score in scores]}


def thresholds_json(config: ScoringConfig) -> dict[str, Any]:
    """When each flag is raised under `config` (投诉问责制 第七条): per period for the first three, within a rolling
    window of calendar months for the escalation. 0 disables a threshold."""
    flags = config.flags
    document: dict[str, Any] = {
        name: {"min_violations": getattr(flags, name).min_violations, "min_points": getattr(flags, name).min_points}
        for name in ("notice_issued", "self_examination_required", "award_eligibility_lost")}
    document["escalation"] = {"min_violations": flags.escalation_violations,
                              "window_months": flags.escalation_window_months}
    return document


def content_hash(document: Any) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, ensure_ascii=False).encode()).hexdigest()
