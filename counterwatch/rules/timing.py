"""Time bookkeeping shared by the rules, all driven by frame timestamps (stream seconds), never the wall clock.

- StreamClock classifies each new timestamp: the next frame, an observation gap, a duplicate, or a jump back.
- Run is a stretch of frames where a condition holds, with hysteresis on its end (flicker does not split it).
- FrameWindow is a sliding window over the last `span_s` seconds of frames (fraction of analysed frames with a cue,
  so missed frames lower the fraction instead of breaking a streak).
- TrackTable holds per-person state and deletes it when a track ends, so memory stays flat in long runs.
"""
from __future__ import annotations

import enum
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

# Float tolerance for "has lasted at least X seconds": timestamps like 0.1 * n do not add up exactly.
EPS = 1e-6


@dataclass(frozen=True)
class FrameRef:
    """What an incident needs to remember about one frame (its onset, its end) without holding the state."""

    ts: float
    wall_time: datetime
    frame_index: int
    camera_id: str
    rostered_staff: str | None


class Step(enum.Enum):
    FIRST = "first"  # the first frame (or the first after a reset)
    NEXT = "next"
    GAP = "gap"  # frames were missing for longer than the gap threshold
    DUPLICATE = "duplicate"  # the same timestamp again
    BACKWARDS = "backwards"  # the stream restarted with a new time base


class StreamClock:
    """Classifies frame timestamps. The usual interval is the median of recent ones, so a slow camera's normal
    cadence is not mistaken for a gap, and one stall does not move the threshold."""

    _HISTORY = 15  # intervals kept for the median: enough to ignore a few odd ones, short enough to follow changes

    def __init__(self, max_gap_s: float, gap_factor: float):
        if not max_gap_s > 0:
            raise ValueError(f"max_gap_s must be > 0, got {max_gap_s}")
        if not gap_factor >= 1:
            raise ValueError(f"gap_factor must be >= 1, got {gap_factor}")
        self._max_gap_s = max_gap_s
        self._gap_factor = gap_factor
        self._last: float | None = None
        self._intervals: deque[float] = deque(maxlen=self._HISTORY)

    @property
    def last_ts(self) -> float | None:
        return self._last

    def gap_threshold(self) -> float:
        usual = statistics.median(self._intervals) if self._intervals else 0.0
        return max(self._max_gap_s, self._gap_factor * usual)

    def step(self, ts: float) -> Step:
        if self._last is None:
            self._last = ts
            return Step.FIRST
        delta = ts - self._last
        if delta == 0:
            return Step.DUPLICATE
        if delta < 0:
            self.reset()
            self._last = ts
            return Step.BACKWARDS
        gap = delta > self.gap_threshold()
        # Gap intervals join the history too: one stall does not move the median, but a camera whose analysis
        # rate really dropped is treated as a slower camera after a few frames instead of as gaps forever.
        self._intervals.append(delta)
        self._last = ts
        return Step.GAP if gap else Step.NEXT

    def reset(self) -> None:
        self._last = None
        self._intervals.clear()


class Run:
    """A stretch of frames where a condition holds. It starts at the first frame with the condition (the onset)
    and ends once the condition has been false for `release_s`; shorter dropouts stay inside the run."""

    def __init__(self, release_s: float):
        if release_s < 0:
            raise ValueError(f"release_s must be >= 0, got {release_s}")
        self.release_s = release_s
        self.onset: FrameRef | None = None
        self.off_since: FrameRef | None = None  # first frame of the current dropout inside the run
        self.frames = 0
        self.on_frames = 0

    @property
    def active(self) -> bool:
        return self.onset is not None

    def held_s(self, ts: float) -> float:
        return ts - self.onset.ts if self.onset is not None else 0.0

    @property
    def on_fraction(self) -> float:
        return self.on_frames / self.frames if self.frames else 0.0

    def step(self, frame: FrameRef, on: bool) -> FrameRef | None:
        """Feed one frame; returns the first frame of the final dropout when the run ends at this frame."""
        if on:
            if self.onset is None:
                self.onset, self.frames, self.on_frames = frame, 0, 0
            self.off_since = None
            self.frames += 1
            self.on_frames += 1
            return None
        if self.onset is None:
            return None
        self.frames += 1
        if self.off_since is None:
            self.off_since = frame
        if frame.ts - self.off_since.ts >= self.release_s - EPS:
            ended = self.off_since
            self.reset()
            return ended
        return None

    def interrupt(self) -> None:
        """After an observation gap: a dropout that began before the gap starts counting again after it."""
        self.off_since = None

    def reset(self) -> None:
        self.onset = self.off_since = None
        self.frames = self.on_frames = 0


@dataclass(frozen=True)
class _Sample:
    frame: FrameRef
    on: bool
    tags: frozenset[str]


class FrameWindow:
    """The frames of the last `span_s` seconds (inclusive of the frame exactly `span_s` ago), with counts."""

    def __init__(self, span_s: float):
        if not span_s > 0:
            raise ValueError(f"span_s must be > 0, got {span_s}")
        self.span_s = span_s
        self._samples: deque[_Sample] = deque()
        self._on = 0
        self._tags: dict[str, int] = {}

    def add(self, frame: FrameRef, on: bool, tags: frozenset[str] = frozenset()) -> None:
        self._samples.append(_Sample(frame, on, tags))
        self._on += on
        for tag in tags:
            self._tags[tag] = self._tags.get(tag, 0) + 1
        horizon = frame.ts - self.span_s - EPS
        while self._samples and self._samples[0].frame.ts < horizon:
            old = self._samples.popleft()
            self._on -= old.on
            for tag in old.tags:
                self._tags[tag] -= 1

    def __len__(self) -> int:
        return len(self._samples)

    @property
    def fraction(self) -> float:
        return self._on / len(self._samples) if self._samples else 0.0

    def tag_count(self, tag: str) -> int:
        return self._tags.get(tag, 0)

    def first_on(self) -> FrameRef | None:
        return next((s.frame for s in self._samples if s.on), None)

    def clear(self) -> None:
        self._samples.clear()
        self._on = 0
        self._tags.clear()


T = TypeVar("T")


class TrackTable(Generic[T]):
    """Per-track state, deleted once a track has been missing for `forget_s` (the tracker already bridges short
    occlusions, so a missing id means the person is gone)."""

    def __init__(self, forget_s: float, factory: Callable[[], T]):
        if forget_s < 0:
            raise ValueError(f"forget_s must be >= 0, got {forget_s}")
        self._forget_s = forget_s
        self._factory = factory
        self._entries: dict[int, tuple[float, T]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, track_id: int) -> bool:
        return track_id in self._entries

    def touch(self, track_id: int, ts: float) -> T:
        """The state of a track seen at `ts`, created on first sight."""
        entry = self._entries.get(track_id)
        value = entry[1] if entry is not None else self._factory()
        self._entries[track_id] = (ts, value)
        return value

    def forget(self, ts: float) -> None:
        """Delete tracks not seen for longer than forget_s (ties keep: a track seen in this frame stays)."""
        gone = [tid for tid, (seen, _) in self._entries.items() if ts - seen > self._forget_s + EPS or seen > ts]
        for tid in gone:
            del self._entries[tid]

    def clear(self) -> None:
        self._entries.clear()


class DensityEpisode:
    """An episode of a cue that detectors see in most frames but not all (a phone, closed eyes).

    It starts at a cue frame (the onset) and is *reached* once it has lasted `span_s` and the cue shows in at least
    `min_fraction` of the frames of the last `span_s` seconds; so a clean start opens exactly `span_s` after the
    onset, and missed detections only lower the fraction. It ends after `clear_s` without the cue. If a pending
    episode has lasted `span_s` without enough density (sporadic false cues), its onset moves up to the first cue
    inside the window, so sporadic cues before the real behaviour do not drag its onset back.
    """

    def __init__(self, span_s: float, min_fraction: float, clear_s: float):
        if not 0 < min_fraction <= 1:
            raise ValueError(f"min_fraction must be within (0, 1], got {min_fraction}")
        self.span_s = span_s
        self.min_fraction = min_fraction
        self.window = FrameWindow(span_s)
        self.run = Run(release_s=clear_s)

    @property
    def onset(self) -> FrameRef | None:
        return self.run.onset

    @property
    def fraction(self) -> float:
        return self.window.fraction

    def step(self, frame: FrameRef, on: bool, tags: frozenset[str] = frozenset(), *,
             holding: bool = False) -> FrameRef | None:
        """Feed one frame; returns the first cue-free frame when the episode ends here (clear_s without the cue).

        `holding`: an incident is open on this episode, so its onset is fixed and only clear_s can end it.
        """
        self.window.add(frame, on, tags)
        ended = self.run.step(frame, on)
        if ended is not None:
            return ended
        if (not holding and self.run.active and self.run.held_s(frame.ts) >= self.span_s - EPS
                and self.window.fraction < self.min_fraction - EPS):
            first = self.window.first_on()
            if first is None:
                self.run.reset()
            elif self.run.onset is not None and first.ts > self.run.onset.ts:  # onset is set: the run is active
                self.run.onset = first
        return None

    def reached(self, ts: float) -> bool:
        return (self.run.active and self.run.held_s(ts) >= self.span_s - EPS
                and self.window.fraction >= self.min_fraction - EPS)

    def interrupt(self) -> None:
        """Observation gap with an open incident: the window restarts, and so does the clear timer."""
        self.window.clear()
        self.run.interrupt()

    def reset(self) -> None:
        self.window.clear()
        self.run.reset()
