"""The messages between the worker processes and the parent of `counterwatch run`, as one union of frozen types.

Workers send `WorkerMessage`s up the shared queue (pickled: every member is a plain frozen dataclass); the parent
dispatches on the type with `match` (monitor_api.ingest.PipelineBridge). `QueueCommand` goes down to every worker.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from cameras.health import CameraHealth
from counterwatch.incidents.events import IncidentEvent
from counterwatch.learning.sampling import SampledFrame
from counterwatch.rules.pause import PausePeriod


@dataclass(frozen=True)
class QueueCommand:
    """The queue-calling system paused (or resumed) a window: parent -> every worker."""

    window_id: str
    paused: bool


@dataclass(frozen=True)
class WindowStatus:
    """What a window looks like now, sent when it changes (and every few seconds as a heartbeat, so the API can tell
    a quiet window from a dead worker)."""

    window_id: str
    camera_id: str
    present: bool
    paused: bool
    pause_source: str | None
    ts: float  # stream seconds
    wall_time: datetime  # UTC


@dataclass(frozen=True)
class CameraStats:
    """Sent every few seconds per camera: frames analysed since the last report and the mean latency per model over
    them (model, mean ms, runs)."""

    camera_id: str
    frames: int
    last_frame_wall_time: datetime | None
    timings_ms: tuple[tuple[str, float, int], ...] = ()


@dataclass(frozen=True)
class WorkerDone:
    """A worker has flushed everything and stops: the last message it sends."""

    camera_ids: tuple[str, ...]


# Incident events, pause periods, camera health, window status, camera stats and labelling samples, in that order of
# importance; WorkerDone ends a worker's stream.
WorkerMessage = IncidentEvent | PausePeriod | CameraHealth | WindowStatus | CameraStats | SampledFrame | WorkerDone
