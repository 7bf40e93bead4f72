"""Polling helpers for tests of background threads."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from cameras import CameraReader, Frame

T = TypeVar("T")


def wait_until(predicate: Callable[[], T], timeout_s: float, what: str, interval_s: float = 0.02) -> T:
    """Polls `predicate` until it returns something truthy; fails the test with `what` after timeout_s."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(interval_s)


class Drain:
    """A consumer thread that takes every frame a reader hands over (an offline reader waits for its consumer)."""

    def __init__(self, reader: CameraReader) -> None:
        self.frames: list[Frame] = []
        self._reader = reader
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            frame = self._reader.get(timeout=0.05)
            if frame is not None:
                with self._lock:
                    self.frames.append(frame)

    def count(self) -> int:
        with self._lock:
            return len(self.frames)

    def snapshot(self) -> list[Frame]:
        with self._lock:
            return list(self.frames)

    def __enter__(self) -> Drain:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
