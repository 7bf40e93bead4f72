"""What a camera reports about itself: a state, why, and counters."""
from __future__ import annotations

import enum
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

log = logging.getLogger("counterwatch.cameras")


class CameraState(enum.StrEnum):
    """Where a camera is in its life.

    starting: started, not yet delivered a frame nor failed.
    online: frames are arriving.
    offline: the source could not be opened, broke, or ended (`reason` says which); the reader is reconnecting,
        unless the reason is the end of a file that does not loop.
    stalled: the source was open but delivered no frame within the stall timeout; it was abandoned and the
        reader is reconnecting.
    stopped: stop() was called.
    """

    STARTING = "starting"
    ONLINE = "online"
    OFFLINE = "offline"
    STALLED = "stalled"
    STOPPED = "stopped"


@dataclass(frozen=True)
class CameraHealth:
    """A snapshot of one camera's health.

    frames_read: good frames decoded from the source (including those later dropped). A frame skipped by the
        analysis-rate sampling is grabbed (decoded) but its image never retrieved: it counts as good.
    frames_dropped: good frames not handed to the consumer: skipped by the analysis-rate sampling, or replaced by
        a newer frame before the consumer took them (live sources only).
    frames_corrupt: frames that gave no usable image (None, empty, wrong shape or dtype): a failed grab, or a
        sampled frame whose retrieve failed.
    reconnects: connection attempts after the first one.
    last_frame_wall_time: UTC time at which the last good frame was read; None before the first.
    last_frame_age_s: seconds since then, on the reader's clock; None before the first.
    """

    camera_id: str
    state: CameraState
    reason: str
    frames_read: int
    frames_dropped: int
    frames_corrupt: int
    reconnects: int
    last_frame_wall_time: datetime | None
    last_frame_age_s: float | None


class HealthTracker:
    """The counters and state of one camera, shared by its threads.

    `on_state_change(health)` is called whenever (state, reason) changes, in the order of the changes, never while
    a lock of the tracker is held (so it may call snapshot()); exceptions it raises are logged and ignored. Once
    stopped, the state no longer changes.
    """

    def __init__(
        self,
        camera_id: str,
        clock: Callable[[], float],
        on_state_change: Callable[[CameraHealth], None] | None = None,
    ) -> None:
        self._camera_id = camera_id
        self._clock = clock
        self._on_state_change = on_state_change
        self._lock = threading.Lock()
        self._notify_lock = threading.RLock()  # RLock: the callback may stop the reader, which sets a state
        self._state = CameraState.STARTING
        self._reason = "not started"
        self._frames_read = 0
        self._frames_dropped = 0
        self._frames_corrupt = 0
        self._reconnects = 0
        self._last_frame_clock: float | None = None
        self._last_frame_wall: datetime | None = None

    @property
    def state(self) -> CameraState:
        with self._lock:
            return self._state

    def snapshot(self) -> CameraHealth:
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> CameraHealth:
        age = None if self._last_frame_clock is None else max(0.0, self._clock() - self._last_frame_clock)
        return CameraHealth(
            camera_id=self._camera_id,
            state=self._state,
            reason=self._reason,
            frames_read=self._frames_read,
            frames_dropped=self._frames_dropped,
            frames_corrupt=self._frames_corrupt,
            reconnects=self._reconnects,
            last_frame_wall_time=self._last_frame_wall,
            last_frame_age_s=age,
        )

    def set_state(self, state: CameraState, reason: str) -> None:
        with self._notify_lock:
            with self._lock:
                if self._state is CameraState.STOPPED or (self._state, self._reason) == (state, reason):
                    return
                self._state, self._reason = state, reason
                snapshot = self._snapshot_locked()
            expected = state in (CameraState.STARTING, CameraState.ONLINE, CameraState.STOPPED) or (
                reason == "end of file")
            log.log(logging.INFO if expected else logging.WARNING, "camera %s %s%s", self._camera_id,
                    state.value, f": {reason}" if reason else "")
            if self._on_state_change is None:
                return
            try:
                self._on_state_change(snapshot)
            except Exception:
                log.exception("camera %s: on_state_change callback failed", self._camera_id)

    def frame_read(self, clock_now: float, wall_now: datetime) -> int:
        """Counts a good frame; returns its index (0 for the first)."""
        with self._lock:
            self._last_frame_clock = clock_now
            self._last_frame_wall = wall_now
            self._frames_read += 1
            return self._frames_read - 1

    def frame_dropped(self) -> None:
        with self._lock:
            self._frames_dropped += 1

    def frame_corrupt(self) -> None:
        with self._lock:
            self._frames_corrupt += 1

    def reconnecting(self) -> None:
        with self._lock:
            self._reconnects += 1
