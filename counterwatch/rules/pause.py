"""Is the window paused (暂停办理)? The sign (with hysteresis), the queue-calling system, or the schedule says so.

Each window keeps a record of its pause periods with their source, so that reports can show pause usage and a
reviewer can see why an absence did or did not count.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class PausePeriod:
    window_id: str
    source: str  # "sign" | "queue" | "schedule"
    started_at: datetime
    ended_at: datetime | None = None


class QueueStatus:
    """What the queue-calling system (叫号系统) last said per window. Thread-safe: the API sets it, workers read it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._paused: dict[str, bool] = {}

    def set(self, window_id: str, paused: bool) -> None:
        with self._lock:
            self._paused[window_id] = paused

    def pause(self, window_id: str) -> None:
        self.set(window_id, True)

    def resume(self, window_id: str) -> None:
        self.set(window_id, False)

    def is_paused(self, window_id: str) -> bool:
        with self._lock:
            return self._paused.get(window_id, False)


class SignHysteresis:
    """The sign counts as up after it was seen for `on_s`, and as down after it was not seen for `off_s`.

    A sign check that did not run (staff at the post) changes nothing: the last state holds.
    """

    def __init__(self, *, on_s: float = 1.0, off_s: float = 4.0):
        if on_s < 0 or off_s < 0:
            raise ValueError("on_s and off_s must be >= 0")
        self._on_s, self._off_s = on_s, off_s
        self._up = False
        self._since: float | None = None  # ts at which the reading started to disagree with the state

    @property
    def up(self) -> bool:
        return self._up

    def update(self, seen: bool | None, ts: float) -> bool:
        if seen is None or seen == self._up:
            if seen is not None:
                self._since = None
            return self._up
        if self._since is None or ts < self._since:
            self._since = ts
        if ts - self._since >= (self._on_s if seen else self._off_s):
            self._up, self._since = seen, None
        return self._up


class PauseTracker:
    """Combines the three pause sources of one window and records pause periods (one open period per source)."""

    def __init__(self, window_id: str, queue: QueueStatus, *, sign_on_s: float = 1.0, sign_off_s: float = 4.0):
        self.window_id = window_id
        self._queue = queue
        self._sign = SignHysteresis(on_s=sign_on_s, off_s=sign_off_s)
        self._open: dict[str, datetime] = {}
        self._closed: list[PausePeriod] = []

    def update(self, *, sign_seen: bool | None, on_schedule: bool, ts: float,
               wall_time: datetime) -> tuple[bool, str | None]:
        """(paused, source). When several sources agree, the schedule wins, then the queue, then the sign."""
        active = {"sign": self._sign.update(sign_seen, ts), "queue": self._queue.is_paused(self.window_id),
                  "schedule": not on_schedule}
        for source, on in active.items():
            if on and source not in self._open:
                self._open[source] = wall_time
            elif not on and source in self._open:
                self._closed.append(PausePeriod(self.window_id, source, self._open.pop(source), wall_time))
        for source in ("schedule", "queue", "sign"):
            if active[source]:
                return True, source
        return False, None

    def take_periods(self) -> tuple[PausePeriod, ...]:
        """Pause periods that ended since the last call (the open ones stay until they end)."""
        closed, self._closed = tuple(self._closed), []
        return closed

    def open_periods(self) -> tuple[PausePeriod, ...]:
        return tuple(PausePeriod(self.window_id, source, start) for source, start in self._open.items())
