"""The life of one incident: opened, a few updates, closed, then a cooldown before the next one.

The id is a uuid5 over hall, window, type and the onset frame (stream seconds and wall time), so replaying the same
stream yields the same ids (downstream deduplication by id stays correct) and opened, updated and closed events of
one incident share it.
"""
from __future__ import annotations

import uuid
from datetime import UTC, datetime

from counterwatch.incidents.events import INCIDENT_TYPES, EventKind, IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.timing import EPS, FrameRef

_ID_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://counterwatch/incident")

Attributes = tuple[tuple[str, str | int | float], ...]


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _unit(value: float) -> float:
    return min(1.0, max(0.0, float(value)))


class IncidentLifecycle:
    """At most one open incident of one type at one window; updates are sparse (peak rises, or a heartbeat)."""

    def __init__(self, incident_type: str, hall_id: str, window_id: str, *, cooldown_s: float,
                 update_every_s: float, update_peak_step: float):
        if incident_type not in INCIDENT_TYPES:
            raise ValueError(f"incident_type must be one of {INCIDENT_TYPES}, got {incident_type!r}")
        if cooldown_s < 0:
            raise ValueError(f"cooldown_s must be >= 0, got {cooldown_s}")
        if not update_every_s > 0:
            raise ValueError(f"update_every_s must be > 0, got {update_every_s}")
        if not update_peak_step > 0:
            raise ValueError(f"update_peak_step must be > 0, got {update_peak_step}")
        self.incident_type = incident_type
        self.hall_id = hall_id
        self.window_id = window_id
        self.cooldown_s = cooldown_s
        self.update_every_s = update_every_s
        self.update_peak_step = update_peak_step
        self._reset_incident()
        self._cooldown_until: float | None = None

    def _reset_incident(self) -> None:
        self.incident_id: str | None = None
        self.onset: FrameRef | None = None
        self.confidence = 0.0
        self.peak = 0.0
        self.reason: Reason | None = None
        self.attributes: Attributes = ()
        self._emitted_peak = 0.0
        self._emitted_ts = 0.0

    @property
    def is_open(self) -> bool:
        return self.incident_id is not None

    def in_cooldown(self, ts: float) -> bool:
        return self._cooldown_until is not None and ts < self._cooldown_until - EPS

    def can_open(self, ts: float) -> bool:
        return not self.is_open and not self.in_cooldown(ts)

    def _event(self, kind: EventKind, ts: float, ended_at: datetime | None) -> IncidentEvent:
        assert self.onset is not None and self.incident_id is not None and self.reason is not None
        return IncidentEvent(
            kind=kind, incident_id=self.incident_id, incident_type=self.incident_type, hall_id=self.hall_id,
            window_id=self.window_id, camera_id=self.onset.camera_id, staff_id=self.onset.rostered_staff,
            started_at=_utc(self.onset.wall_time), ended_at=None if ended_at is None else _utc(ended_at),
            start_ts=self.onset.ts, ts=ts, confidence=self.confidence, peak_confidence=self.peak,
            reason=self.reason.english(), reason_detail=self.reason, attributes=self.attributes)

    def open(self, onset: FrameRef, now: FrameRef, confidence: float, reason: Reason,
             attributes: Attributes = ()) -> IncidentEvent:
        if self.is_open:
            raise RuntimeError(f"{self.incident_type} at {self.window_id}: an incident is already open")
        key = f"{self.hall_id}|{self.window_id}|{self.incident_type}|{onset.ts!r}|{_utc(onset.wall_time).isoformat()}"
        self.incident_id = str(uuid.uuid5(_ID_NAMESPACE, key))
        self.onset = onset
        self.confidence = self.peak = self._emitted_peak = _unit(confidence)
        self.reason, self.attributes = reason, tuple(attributes)
        self._emitted_ts = now.ts
        return self._event(EventKind.OPENED, now.ts, None)

    def update(self, now: FrameRef, confidence: float, reason: Reason,
               attributes: Attributes | None = None) -> IncidentEvent | None:
        """Record the current state; an 'updated' event only when the peak rose by a step or a heartbeat is due."""
        if not self.is_open:
            raise RuntimeError(f"{self.incident_type} at {self.window_id}: no open incident to update")
        self.confidence = _unit(confidence)
        self.peak = max(self.peak, self.confidence)
        self.reason = reason
        if attributes is not None:
            self.attributes = tuple(attributes)
        rose = self.peak >= self._emitted_peak + self.update_peak_step - EPS
        due = now.ts - self._emitted_ts >= self.update_every_s - EPS
        if not (rose or due):
            return None
        self._emitted_peak, self._emitted_ts = self.peak, now.ts
        return self._event(EventKind.UPDATED, now.ts, None)

    def close(self, ts: float, ended_at: datetime, closing: Reason,
              attributes: Attributes | None = None) -> IncidentEvent:
        """Close at stream time `ts`; `ended_at` is when the behaviour stopped (wall time); `closing` says why (a
        "closed.*" clause added to the latest reason). Starts the cooldown."""
        if not self.is_open:
            raise RuntimeError(f"{self.incident_type} at {self.window_id}: no open incident to close")
        assert self.reason is not None  # set by open()
        self.reason = self.reason.closed_by(closing)
        if attributes is not None:
            self.attributes = tuple(attributes)
        event = self._event(EventKind.CLOSED, ts, ended_at)
        self._reset_incident()
        self._cooldown_until = ts + self.cooldown_s
        return event

    def reset(self) -> None:
        """Forget the open incident and the cooldown (the stream's time base changed)."""
        self._reset_incident()
        self._cooldown_until = None
