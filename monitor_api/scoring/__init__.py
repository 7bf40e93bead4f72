"""Appraisal scoring (考核): pure scores derived from the record, the config, and the signed webhook."""
from typing import Any

from monitor_api.scoring.config import ScoringConfig, load_scoring_config
from monitor_api.scoring.engine import (
    ComplaintRecord,
    Deduction,
    Flag,
    IncidentRecord,
    Period,
    StaffScore,
    add_months,
    compute_scores,
)

__all__ = ["ComplaintRecord", "Deduction", "Flag", "IncidentRecord", "Period", "ScoringConfig", "StaffScore",
           "add_months", "compute_scores", "load_scoring_config", "notify_scores_changed"]


def notify_scores_changed(services: object, hall_id: str, at: object, trigger: dict[str, Any]) -> None:
    """Called by the review, appeal and complaint routes after their transaction committed: enqueue a webhook
    delivery if the derived scores changed. Never fails the request (the decision is already durable)."""
    import logging

    worker = getattr(services, "webhook", None)
    if worker is None:
        return
    try:
        worker.scores_may_have_changed(hall_id, at, trigger)
    except Exception:
        logging.getLogger("counterwatch.webhook").warning("could not enqueue the score change", exc_info=True)
