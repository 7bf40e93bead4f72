"""Timing policies of the reader: which frames to analyse, and how long to wait before reconnecting."""
from __future__ import annotations

import math
import random

from cameras._checks import fraction, positive_seconds

# Stream times are floats computed from milliseconds; a frame exactly on a tick must count as on it.
_EPSILON_S = 1e-6


class StreamTimeSampler:
    """Picks frames at `fps` by stream time, never by when they happen to be read.

    The first frame is picked; after that, the first frame at or after each tick of a grid of period 1/fps that
    starts at the first frame. A 25 fps file sampled at 2 fps gives frames 0, 13, 25, 38, ... however fast or slow
    it is read. Ticks that pass without any frame (a gap in the stream) are skipped, not caught up.
    """

    def __init__(self, fps: float) -> None:
        self._period = 1.0 / positive_seconds("fps", fps)
        self._origin: float | None = None
        self._next_tick_number = 1

    def would_take(self, ts: float) -> bool:
        """Whether due(ts) would pick the frame at stream time `ts`, without picking it: no state changes.

        The reader asks this before fetching a frame's image, so that only the frames it takes are retrieved.
        """
        if self._origin is None:
            return True
        return ts + _EPSILON_S >= self._origin + self._next_tick_number * self._period

    def due(self, ts: float) -> bool:
        """Whether the frame at stream time `ts` is to be analysed, and if so picks it (the grid moves on).

        Call it for each usable frame, in stream order; a frame it is not called for (a corrupt one) does not use
        up a tick, so the next usable frame takes it.
        """
        if not self.would_take(ts):
            return False
        if self._origin is None:
            self._origin = ts
            return True
        self._next_tick_number = math.floor((ts - self._origin) / self._period + _EPSILON_S) + 1
        return True


class Backoff:
    """Capped exponential backoff with a little jitter.

    The n-th delay (from 0) lies in [b * (1 - jitter), b] with b = min(max_s, initial_s * factor**n): the jitter
    only shortens, so delays never exceed max_s, and with factor 2 and jitter < 0.5 each uncapped delay is longer
    than the one before. The jitter keeps cameras that failed together (a switch reboot) from retrying in step.
    """

    def __init__(
        self,
        initial_s: float,
        max_s: float,
        *,
        factor: float = 2.0,
        jitter: float = 0.1,
        rng: random.Random | None = None,
    ) -> None:
        self.initial_s = positive_seconds("initial_s", initial_s)
        self.max_s = positive_seconds("max_s", max_s)
        if self.max_s < self.initial_s:
            raise ValueError(f"max_s ({max_s}) must be >= initial_s ({initial_s})")
        self.factor = positive_seconds("factor", factor)
        if self.factor < 1:
            raise ValueError(f"factor must be >= 1, got {factor!r}")
        self.jitter = fraction("jitter", jitter)
        self._rng = rng if rng is not None else random.Random()
        self._attempt = 0

    def next_delay(self) -> float:
        base = self.max_s
        if self.initial_s * self.factor**self._attempt < self.max_s:
            base = self.initial_s * self.factor**self._attempt
            self._attempt += 1  # stop counting once capped, so the power never overflows
        return base * (1.0 - self.jitter * self._rng.random())

    def reset(self) -> None:
        """Start again from initial_s (after a connection that delivered frames)."""
        self._attempt = 0
