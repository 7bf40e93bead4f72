"""IncidentEvent: an incident opened, updated or closed, with a stable id across its life."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime

from counterwatch.behaviours import INCIDENT_TYPES
from counterwatch.incidents.reasons import Reason

__all__ = ["INCIDENT_TYPES", "EventKind", "Evidence", "IncidentEvent"]


class EventKind(str, enum.Enum):
    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


@dataclass(frozen=True)
class Evidence:
    """Files written for an incident, relative to the data directory. Both are privacy-masked before writing."""

    snapshot: str | None = None  # annotated JPEG of the most telling frame
    clip: str | None = None  # H.264 MP4, from before the onset to after it


@dataclass(frozen=True)
class IncidentEvent:
    kind: EventKind
    incident_id: str  # stable for the incident's whole life: opened, updates and closed share it
    incident_type: str  # one of INCIDENT_TYPES
    hall_id: str
    window_id: str
    camera_id: str
    staff_id: str | None  # who the roster put at the window when the incident started
    started_at: datetime  # UTC, the onset (the first frame of the behaviour, not the moment the dwell passed)
    ended_at: datetime | None  # UTC, set on closed
    start_ts: float  # stream seconds of the onset
    ts: float  # stream seconds of this event
    confidence: float  # 0..1 now
    peak_confidence: float  # 0..1, the highest so far
    reason: str  # which signals fired for how long, in plain English (logs, incidents.jsonl, API clients)
    attributes: tuple[tuple[str, str | int | float], ...] = ()  # e.g. ("citizens_waiting", 2)
    evidence: Evidence = field(default_factory=Evidence)
    reason_detail: Reason | None = None  # the same as a code and its numbers (reasons.py); `reason` is its English

    def __post_init__(self) -> None:
        if self.incident_type not in INCIDENT_TYPES:
            raise ValueError(f"IncidentEvent.incident_type must be one of {INCIDENT_TYPES}, got {self.incident_type!r}")
        for name in ("confidence", "peak_confidence"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"IncidentEvent.{name} must be within 0..1")
        for name in ("started_at", "ended_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"IncidentEvent.{name} must be timezone-aware (UTC)")
        if self.reason_detail is not None and not isinstance(self.reason_detail, Reason):
            raise ValueError("IncidentEvent.reason_detail must be a Reason")
        if (self.kind is EventKind.CLOSED) != (self.ended_at is not None):
            raise ValueError("IncidentEvent.ended_at is set exactly on closed events")

    def attribute(self, name: str, default=None):
        return dict(self.attributes).get(name, default)
