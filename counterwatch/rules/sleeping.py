"""sleeping (行为规定 5 (2)): dozing on the counter (趴台打盹).

- Cue per frame: the staff zone is still (motion <= `max_motion`) and someone in it has closed eyes, or the
  learned sleeping head (on by default) at or above its threshold; for a person the head did not score (no head
  configured, or not the window's main staff person), the head down (nose below the shoulder line) instead.
- Closed eyes are judged per person: the eye aspect ratio (EAR) differs between faces and camera angles, so each
  track keeps a baseline of its own open-eye EAR (the `ear_baseline_percentile` of its recent EARs judged open);
  eyes are closed below `eyes_closed_ratio` x baseline. Until a track has `ear_baseline_min_samples` EARs its eyes
  are not judged (only the head-down cue works). Closed-eye samples do not enter the baseline, so a long doze does
  not drag the baseline down until closed eyes look open.
- Opens when the cue episode has lasted `dwell_s` with the cue in >= `min_fraction` of the frames of the last
  `dwell_s` seconds; closes after `clear_s` without the cue (ended_at = the first cue-free frame).
- Per-track state is deleted once a track has been missing for `rules.common.track_forget_s`.
"""
from __future__ import annotations

import bisect
import math
from collections import deque
from typing import Any

from counterwatch.config.rules import Sleeping as Settings
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.base import Rule, register
from counterwatch.rules.state import WindowState
from counterwatch.rules.timing import DensityEpisode, FrameRef, TrackTable


class EyeBaseline:
    """One person's open-eye EAR baseline over a bounded history."""

    def __init__(self, *, ratio: float, percentile: float, min_samples: int, history: int):
        if not 0 < ratio < 1:
            raise ValueError(f"ratio must be within (0, 1), got {ratio}")
        if not 0 < percentile <= 1:
            raise ValueError(f"percentile must be within (0, 1], got {percentile}")
        if min_samples < 1 or history < 1:
            raise ValueError(f"min_samples and history must be >= 1, got {min_samples}, {history}")
        self._ratio = ratio
        self._percentile = percentile
        self._min_samples = min_samples
        self._recent: deque[float] = deque()
        self._history = history
        self._sorted: list[float] = []

    def __len__(self) -> int:
        return len(self._recent)

    def baseline(self) -> float | None:
        count = len(self._sorted)
        if count < self._min_samples:
            return None
        return self._sorted[min(count - 1, max(0, math.ceil(self._percentile * count) - 1))]

    def judge(self, ear: float) -> bool | None:
        """True: eyes closed; False: open; None: no baseline yet. Open (and unjudged) samples feed the baseline."""
        baseline = self.baseline()
        closed = None if baseline is None else ear < self._ratio * baseline
        if not closed:
            self._recent.append(ear)
            bisect.insort(self._sorted, ear)
            if len(self._recent) > self._history:
                old = self._recent.popleft()
                del self._sorted[bisect.bisect_left(self._sorted, old)]
        return closed


@register
class Sleeping(Rule[Settings]):
    name = "sleeping"
    settings_type = Settings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        s = self.settings
        self._episode = DensityEpisode(s.dwell_s, s.min_fraction, s.clear_s)
        self._eyes = TrackTable(self.common.track_forget_s, lambda: EyeBaseline(
            ratio=s.eyes_closed_ratio, percentile=s.ear_baseline_percentile,
            min_samples=s.ear_baseline_min_samples, history=s.ear_history_frames))

    @property
    def tracked_people(self) -> int:
        """Tracks with per-person state (for memory checks)."""
        return len(self._eyes)

    def _reset(self) -> None:
        self._episode.reset()
        self._eyes.clear()

    def _on_gap(self) -> None:
        # Eye baselines describe the person, not the moment: they survive a gap (tracks that ended are dropped
        # by the usual forgetting).
        if self._incident.is_open:
            self._episode.interrupt()
        else:
            self._episode.reset()

    def _cue(self, state: WindowState, frame: FrameRef) -> frozenset[str]:
        tags = set()
        for person in state.staff:
            eyes = self._eyes.touch(person.track_id, frame.ts)
            ear = person.cues.eye_aspect_ratio
            if ear is not None and math.isfinite(ear) and ear > 0 and eyes.judge(ear):
                tags.add("eyes_closed")
            # Head-down geometry also fires on people reading at a desk (seen from above, the nose drops below the
            # shoulders); where the learned head scored the person it decides instead (its features hold the
            # geometry too). Closed eyes, judged against the person's own baseline, stay a cue of their own.
            if person.cues.head_down and person.cues.head_prob(self.name) is None:
                tags.add("head_down")
            if person.cues.head_fired(self.name):
                tags.add("head")
        self._eyes.forget(frame.ts)
        if not tags:
            return frozenset()
        still = state.motion <= self.settings.max_motion
        return frozenset(tags) if still else frozenset()

    def _reason(self, frame: FrameRef) -> Reason:
        """held_s: since the first cue frame of the episode; the frame counts are of the last dwell_s, and only
        still frames carry a cue."""
        window = self._episode.window
        onset = self._incident.onset or self._episode.onset
        return Reason.of("sleeping.still", held_s=frame.ts - onset.ts if onset is not None else 0.0,
                         dwell_s=window.span_s, frames=len(window), share=window.fraction,
                         min_share=self.settings.min_fraction, head_down_frames=window.tag_count("head_down"),
                         eyes_closed_frames=window.tag_count("eyes_closed"), head_frames=window.tag_count("head"),
                         max_motion=self.settings.max_motion)

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        tags = self._cue(state, frame)
        ended = self._episode.step(frame, bool(tags), tags, holding=self._incident.is_open)
        if self._incident.is_open:
            if ended is not None:
                return [self._incident.close(frame.ts, ended.wall_time,
                                             Reason.of("closed.awake", quiet_s=frame.ts - ended.ts))]
            update = self._incident.update(frame, self._episode.fraction, self._reason(frame)) if tags else None
            return [update] if update else []
        if self._episode.reached(frame.ts) and self._incident.can_open(frame.ts):
            assert self._episode.onset is not None  # a reached episode has begun
            return [self._incident.open(self._episode.onset, frame, self._episode.fraction, self._reason(frame))]
        return []
