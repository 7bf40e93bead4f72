"""Frame times for one camera: `Frame.ts` from the source's clock, kept monotonic, and `Frame.wall_time`.

- `ts` is the source's time: position in the file for files, time.monotonic() for live sources. After a reconnect
  it is shifted when needed so that it never goes backwards within one reader: a file reopened from its start
  continues after the last frame, by the time that passed on the reader's clock (at least 1 ms). Rules rely on
  this monotonicity.
- `wall_time` (UTC) is the time of capture for live sources. For offline sources (files paced "fast", read faster
  than real time) it is the wall time at which the stream would have started, plus `ts`: stored times of an
  offline run are spaced like the video, not like the decoding speed.
"""
from __future__ import annotations

from datetime import datetime, timedelta

# Shift added after a reconnect when the source clock restarted and no time seems to have passed.
_MIN_STEP_S = 1e-3


class Timeline:
    """Places each good frame in time. Not thread-safe: the reader calls it under its lock."""

    def __init__(self) -> None:
        self._session: int | None = None
        self._offset = 0.0
        self._last_ts: float | None = None
        self._last_clock: float | None = None
        self._wall_origin: datetime | None = None

    def place(
        self, session: int, source_ts: float, *, clock_now: float, wall_now: datetime, realtime: bool
    ) -> tuple[float, datetime]:
        """(ts, wall_time) of a frame read at `clock_now`/`wall_now` with the source's timestamp `source_ts`."""
        ts, offset = self._shift(session, source_ts, clock_now)
        self._session = session
        self._offset = offset
        self._last_ts = ts
        self._last_clock = clock_now
        if realtime:
            return ts, wall_now
        if self._wall_origin is None:
            self._wall_origin = wall_now - timedelta(seconds=ts)
        return ts, self._wall_origin + timedelta(seconds=ts)

    def peek(self, session: int, source_ts: float, *, clock_now: float) -> float:
        """The ts that place() with the same arguments would give, without placing the frame: no state changes.

        The reader asks this before deciding whether a frame's image is worth fetching; a frame that then turns out
        corrupt is never placed, as if it had not been read.
        """
        return self._shift(session, source_ts, clock_now)[0]

    def _shift(self, session: int, source_ts: float, clock_now: float) -> tuple[float, float]:
        """(ts, the session's offset) of a frame, from the state left by the frames placed before it."""
        offset = self._offset
        if session != self._session:
            offset = 0.0
            if self._last_ts is not None and self._last_clock is not None and source_ts <= self._last_ts:
                since = max(clock_now - self._last_clock, _MIN_STEP_S)
                offset = self._last_ts + since - source_ts
        ts = source_ts + offset
        if self._last_ts is not None and ts <= self._last_ts:
            ts = self._last_ts + _MIN_STEP_S  # a source whose clock went backwards mid-session
        return ts, offset
