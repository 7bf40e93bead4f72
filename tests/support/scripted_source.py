"""A FrameSource that plays a script, to drive the real CameraReader through failures a camera can produce.

Script items: an ndarray (returned as the frame), None (a missing frame), any other object (returned as is: a
garbage frame), an exception instance (raised), BLOCK (read() blocks until `release` is set, then returns None),
and, once the script runs out, `end` is raised. Timestamps are time.monotonic() like a live camera, or with
`ts_step_s` a file's clock that advances one step per read.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterable

import numpy as np

from cameras import EndOfStream, FrameSource

BLOCK = object()


class ScriptedSource(FrameSource):
    def __init__(
        self,
        script: Iterable[object],
        *,
        realtime: bool = True,
        period_s: float = 0.0,
        open_error: BaseException | None = None,
        open_blocks: bool = False,
        close_error: BaseException | None = None,
        end: BaseException | None = None,
        release: threading.Event | None = None,
        ts_step_s: float | None = None,
        open_timeout_s: float | None = None,
    ) -> None:
        self.realtime = realtime
        self._open_timeout_s = open_timeout_s
        self._ts_step_s = ts_step_s  # None: live clock (monotonic); else a file's clock, one step per read
        self._script = iter(script)
        self._period_s = period_s
        self._open_error = open_error
        self._open_blocks = open_blocks
        self._close_error = close_error
        self._end = end if end is not None else EndOfStream("script ended", final=False)
        self.release = release if release is not None else threading.Event()
        self.opened = False
        self.closed = 0
        self.reads = 0
        self.blocked = threading.Event()
        self._timestamp = 0.0

    @property
    def description(self) -> str:
        return "scripted source"

    @property
    def open_timeout_s(self) -> float | None:
        return self._open_timeout_s

    @property
    def timestamp(self) -> float:
        return self._timestamp

    def open(self) -> None:
        if self._open_blocks:
            self.blocked.set()
            self.release.wait()
        if self._open_error is not None:
            raise self._open_error
        self.opened = True

    def read(self) -> np.ndarray | None:
        self.reads += 1
        if self._period_s:
            time.sleep(self._period_s)
        item = next(self._script, _END)
        self._timestamp = time.monotonic() if self._ts_step_s is None else (self.reads - 1) * self._ts_step_s
        if item is _END:
            raise self._end
        if item is BLOCK:
            self.blocked.set()
            self.release.wait()
            return None
        if isinstance(item, BaseException):
            raise item
        if isinstance(item, np.ndarray):
            return item.copy()
        return item  # type: ignore[return-value]

    def close(self) -> None:
        self.closed += 1
        if self._close_error is not None:
            raise self._close_error


_END = object()


class FakeClock:
    """A clock the test moves by hand (the reader's `clock` argument)."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._now += seconds
