"""Registries of what the pipeline reports now: camera states, window statuses, and the Prometheus metrics.

Fed from the runner's pump thread, read by API requests on other threads: every method takes the lock and returns
copies (frozen dataclasses), never the live dicts.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge

from monitor_api.storage.types import utcnow

CAMERA_STATES = ("starting", "online", "offline", "stalled", "stopped")


# The runtime's messages are frozen dataclasses: the protocols declare read-only members (properties).
class CameraHealthLike(Protocol):  # cameras.health.CameraHealth
    @property
    def camera_id(self) -> str: ...
    @property
    def state(self) -> Any: ...
    @property
    def reason(self) -> str: ...
    @property
    def last_frame_wall_time(self) -> datetime | None: ...


class WindowStatusLike(Protocol):  # counterwatch.runtime.messages.WindowStatus
    @property
    def window_id(self) -> str: ...
    @property
    def camera_id(self) -> str: ...
    @property
    def present(self) -> bool: ...
    @property
    def paused(self) -> bool: ...
    @property
    def pause_source(self) -> str | None: ...
    @property
    def ts(self) -> float: ...
    @property
    def wall_time(self) -> datetime: ...


class CameraStatsLike(Protocol):  # counterwatch.runtime.messages.CameraStats
    @property
    def camera_id(self) -> str: ...
    @property
    def frames(self) -> int: ...
    @property
    def last_frame_wall_time(self) -> datetime | None: ...
    @property
    def timings_ms(self) -> tuple[tuple[str, float, int], ...]: ...


@dataclass(frozen=True)
class CameraStatus:
    camera_id: str
    hall_id: str | None
    state: str
    reason: str
    last_frame_wall_time: datetime | None
    frames_processed: int
    updated_at: datetime


@dataclass(frozen=True)
class WindowLive:
    hall_id: str
    window_id: str
    camera_id: str
    present: bool
    paused: bool
    pause_source: str | None
    wall_time: datetime  # of the frame the status was read from
    updated_at: datetime


@dataclass(frozen=True)
class LinkStatus:
    """The county link now: connected, and (on an edge) the outbox's depth, the age of its oldest message and whether
    it is full (low-value messages are being dropped)."""

    role: str  # "edge" | "centre"
    connected: bool
    outbox_depth: int = 0
    outbox_oldest_age_s: float = 0.0
    outbox_full: bool = False
    detail: str = ""


class PipelineMetrics:
    """Prometheus metrics of one API instance, on its own registry (several apps in one process do not clash)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.frames = Counter("counterwatch_frames_processed", "Frames analysed by the pipeline.",
                              ["hall", "camera"], registry=self.registry)
        self.model_latency = Gauge("counterwatch_model_latency_ms", "Mean model latency over the last report.",
                                   ["model"], registry=self.registry)
        self.model_runs = Counter("counterwatch_model_runs", "Model runs.", ["model"], registry=self.registry)
        self.camera_state = Gauge("counterwatch_camera_state", "1 for the camera's current state.",
                                  ["hall", "camera", "state"], registry=self.registry)
        self.incident_events = Counter("counterwatch_incident_events_ingested", "Incident events stored (new only).",
                                       ["type", "kind"], registry=self.registry)
        self.subscribers = Gauge("counterwatch_live_subscribers", "Live-feed subscribers.", registry=self.registry)
        # County deployment (counterwatch.county): the edge's uplink and the centre's consumer.
        self.uplink_connected = Gauge("counterwatch_uplink_connected", "1 while the edge is connected to the "
                                      "county's NATS servers.", registry=self.registry)
        self.outbox_depth = Gauge("counterwatch_outbox_depth", "Messages in the edge's outbox, not yet acknowledged "
                                  "by the county's JetStream.", registry=self.registry)
        self.outbox_oldest_age = Gauge("counterwatch_outbox_oldest_age_seconds", "Age of the oldest message in the "
                                       "edge's outbox (0 when empty).", registry=self.registry)
        self.outbox_dropped = Counter("counterwatch_outbox_dropped", "Low-value messages dropped from a full "
                                      "outbox.", ["kind"], registry=self.registry)
        self.county_messages = Counter("counterwatch_county_messages", "Messages sent (edge) or stored (centre).",
                                       ["kind", "result"], registry=self.registry)
        self.county_rejected = Counter("counterwatch_county_rejected", "Messages the centre refused (wrong hall, "
                                       "bad document, evidence checksum).", ["hall", "reason"],
                                       registry=self.registry)


class LiveState:
    def __init__(self, camera_halls: dict[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._camera_halls = dict(camera_halls or {})
        self._cameras: dict[tuple[str, str], CameraStatus] = {}  # (hall, camera): a county centre serves many
        self._windows: dict[tuple[str, str], WindowLive] = {}
        self._queue_paused: dict[tuple[str, str], bool] = {}
        self._link: LinkStatus | None = None
        self.metrics = PipelineMetrics()

    # ---- cameras ------------------------------------------------------------------------------------------------
    def _hall_of(self, camera_id: str, hall_id: str | None) -> str:
        return hall_id or self._camera_halls.get(camera_id) or ""

    def update_camera(self, health: CameraHealthLike, hall_id: str | None = None) -> CameraStatus:
        """A camera's state; `hall_id` names its hall where camera ids repeat across halls (a county centre)."""
        state = getattr(health.state, "value", str(health.state))
        hall = self._hall_of(health.camera_id, hall_id)
        now = utcnow()
        with self._lock:
            previous = self._cameras.get((hall, health.camera_id))
            status = CameraStatus(
                health.camera_id, hall or None, state, health.reason,
                health.last_frame_wall_time or (previous.last_frame_wall_time if previous else None),
                previous.frames_processed if previous else 0, now)
            self._cameras[(hall, health.camera_id)] = status
        for name in CAMERA_STATES:
            self.metrics.camera_state.labels(hall, health.camera_id, name).set(1.0 if name == state else 0.0)
        return status

    def record_stats(self, stats: CameraStatsLike, hall_id: str | None = None) -> None:
        hall = self._hall_of(stats.camera_id, hall_id)
        now = utcnow()
        with self._lock:
            previous = self._cameras.get((hall, stats.camera_id))
            if previous is None:
                previous = CameraStatus(stats.camera_id, hall or None, "online", "", None, 0, now)
            self._cameras[(hall, stats.camera_id)] = replace(
                previous, frames_processed=previous.frames_processed + stats.frames,
                last_frame_wall_time=stats.last_frame_wall_time or previous.last_frame_wall_time, updated_at=now)
        if stats.frames:
            self.metrics.frames.labels(hall, stats.camera_id).inc(stats.frames)
        for model, mean_ms, runs in stats.timings_ms:
            self.metrics.model_latency.labels(model).set(mean_ms)
            self.metrics.model_runs.labels(model).inc(runs)

    def cameras(self) -> dict[tuple[str, str], CameraStatus]:
        """Every camera reported, by (hall, camera id)."""
        with self._lock:
            return dict(self._cameras)

    # ---- windows ------------------------------------------------------------------------------------------------
    def update_window(self, hall_id: str, status: WindowStatusLike) -> WindowLive:
        live = WindowLive(hall_id, status.window_id, status.camera_id, status.present, status.paused,
                          status.pause_source, status.wall_time, utcnow())
        with self._lock:
            self._windows[(hall_id, status.window_id)] = live
        return live

    def window(self, hall_id: str, window_id: str) -> WindowLive | None:
        with self._lock:
            return self._windows.get((hall_id, window_id))

    def set_link(self, status: LinkStatus) -> None:
        """What the county link (an edge's uplink or the centre's consumer) reports; shown by /readyz and /metrics."""
        with self._lock:
            self._link = status
        self.metrics.uplink_connected.set(1.0 if status.connected else 0.0)
        self.metrics.outbox_depth.set(status.outbox_depth)
        self.metrics.outbox_oldest_age.set(status.outbox_oldest_age_s)

    def link(self) -> LinkStatus | None:
        with self._lock:
            return self._link

    def set_queue_paused(self, hall_id: str, window_id: str, paused: bool) -> None:
        with self._lock:
            self._queue_paused[(hall_id, window_id)] = paused

    def queue_paused(self, hall_id: str, window_id: str) -> bool:
        with self._lock:
            return self._queue_paused.get((hall_id, window_id), False)

