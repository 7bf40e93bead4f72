"""One incident's clip, chosen from the buffered frames and rendered a few frames at a time.

A clip runs from before the behaviour's onset to after its alert: with a 120 s dwell that is 130 s, 260 frames at
2 fps. Every frame is privacy-masked with the face detector (~50-90 ms on 2 cores), so rendering them all in one
pipeline step would stall the camera's loop for many seconds, long enough for the rules to see an observation gap.
So a clip is thinned to a frame budget (`thin_clip`) and rendered incrementally: the recorder gives each job a few
frames' worth of work per analysed frame (`step`), the encoder taking each frame as it is rendered (ClipWriter),
and the file appears under its final name when the last frame is in (`finish`).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from counterwatch.incidents.media import ClipWriter
from counterwatch.incidents.ring_buffer import BufferedFrame


def thin_clip(frames: Sequence[BufferedFrame], keep: Sequence[tuple[float, float]],
              max_frames: int) -> list[BufferedFrame]:
    """At most `max_frames` of `frames` (in ts order): all those within the `keep` ranges [t0, t1), and the others
    evenly spread over the stretches between; if the ranges alone hold too many, all frames evenly spread."""
    if len(frames) <= max_frames:
        return list(frames)
    if max_frames <= 0:
        return []
    kept = {i for i, f in enumerate(frames) if any(t0 <= f.ts < t1 for t0, t1 in keep)}
    if len(kept) > max_frames:
        kept = set()
    rest = [i for i in range(len(frames)) if i not in kept]
    budget = max_frames - len(kept)  # < len(rest), as len(frames) > max_frames
    # Evenly spaced, the gaps at both ends included: positions more than one apart, so no index repeats.
    kept.update(rest[round((j + 1) * (len(rest) + 1) / (budget + 1)) - 1] for j in range(budget))
    return [frames[i] for i in sorted(kept)]


class ClipJob:
    """The frames of one clip and how far rendering has got. `render(frame, (width, height))` returns the stored
    image of a buffered frame at the clip's size (even width and height)."""

    def __init__(self, path: Path, t1: float, fps: float,
                 render: Callable[[BufferedFrame, tuple[int, int]], np.ndarray]) -> None:
        self.path = path
        self.t1 = t1  # frames at or past it are not part of the clip
        self.frames: list[BufferedFrame] = []
        self._fps = fps
        self._render = render
        self._done = 0
        self._writer: ClipWriter | None = None

    @property
    def rendered(self) -> int:
        return self._done

    def take(self, frames: Sequence[BufferedFrame]) -> None:
        """Add frames to the end of the clip: those later than the last one taken and before t1."""
        last = self.frames[-1].ts if self.frames else -np.inf
        for frame in frames:
            if last < frame.ts < self.t1:
                self.frames.append(frame)
                last = frame.ts

    def step(self, budget: int) -> int:
        """Render and encode up to `budget` of the frames taken so far; returns how many it did."""
        todo = self.frames[self._done:self._done + max(0, budget)]
        for frame in todo:
            size = (self.frames[0].width, self.frames[0].height)
            image = self._render(frame, size)
            if self._writer is None:
                self._writer = ClipWriter(self.path, self._fps, image.shape[1], image.shape[0])
            self._writer.add(image, frame.ts)
            self._done += 1
        return len(todo)

    def finish(self) -> None:
        """Render what is left and write the file under its final name; raises (leaving nothing) on failure."""
        try:
            self.step(len(self.frames))
            if self._writer is None:
                raise ValueError(f"clip {self.path} has no frame")
            writer, self._writer = self._writer, None
            writer.close()
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.abort()
            self._writer = None
