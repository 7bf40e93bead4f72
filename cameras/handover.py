"""The one-frame slot between a camera's capture thread and its consumer."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from cameras.frame import Frame

# How long a waiting capture sleeps between checks for cancellation; wake() ends the wait earlier.
_CANCEL_POLL_S = 0.2


class FrameSlot:
    """Holds at most one frame: nothing can queue up behind a slow consumer.

    Live sources `offer()` (replace an untaken frame); offline sources `hand_over()` (wait until the consumer took
    the previous one). Once closed, `take()` returns what is left and then None at once.
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._frame: Frame | None = None
        self._closed = False

    def offer(self, frame: Frame) -> bool:
        """Puts the frame in, replacing an untaken one; True when one was replaced (dropped)."""
        with self._condition:
            replaced = self._frame is not None
            self._frame = frame
            self._condition.notify_all()
            return replaced

    def hand_over(self, frame: Frame, cancelled: Callable[[], bool]) -> bool:
        """Waits until the slot is empty, then puts the frame in. False (frame not handed over) if `cancelled()`
        became true first; call wake() after making it true."""
        with self._condition:
            while self._frame is not None and not cancelled():
                self._condition.wait(_CANCEL_POLL_S)
            if cancelled():
                return False
            self._frame = frame
            self._condition.notify_all()
            return True

    def take(self, timeout: float) -> Frame | None:
        """The frame in the slot, waiting up to `timeout` seconds; None if none came or the slot is closed."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._frame is None:
                remaining = deadline - time.monotonic()
                if self._closed or remaining <= 0:
                    return None
                self._condition.wait(remaining)
            frame, self._frame = self._frame, None
            self._condition.notify_all()  # a capture may be waiting in hand_over()
            return frame

    def close(self, *, discard: bool = False) -> None:
        """No frame will be put in any more; with `discard`, the untaken one is thrown away too."""
        with self._condition:
            self._closed = True
            if discard:
                self._frame = None
            self._condition.notify_all()

    def wake(self) -> None:
        with self._condition:
            self._condition.notify_all()
