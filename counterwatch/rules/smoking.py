"""smoking (行为规定 5 (1)): repeated puff-like hand-to-mouth movements with nothing near that explains them.

A cigarette is too small for the COCO detectors, and a hand-made cigarette image cue (bright, thin, elongated blobs
or ridges around the mouth and hands) measured at chance on photos (README, "Measured"), so this rule works on
hand-to-mouth geometry and timing alone. That is why it is off by default (`rules.smoking.enabled`): coughing into
a hand repeatedly looks the same.

- A movement is a rising edge of a person's hand_to_mouth cue (per track), as for eating. It is judged when it
  ends (the first frame without the hand at the mouth). It counts as a puff when it lasted at least
  `min_movement_s` and at most `max_movement_s`, and no food, cup or bottle, or phone (phone cue >=
  `phone_max_score`) was near that person from `object_memory_s` before its start until its end.
- So a chin resting on a hand (one movement longer than max_movement_s) never counts, however long it lasts;
  scratching the nose is shorter than min_movement_s; eating, drinking and calls have their object near.
- A configured learned smoking head at or above its card threshold on a frame makes that frame a hand at the mouth
  with a cigarette: its movement counts whatever its shortness (the other conditions still apply).
- Opens at the frame where the `min_hand_to_mouth`-th puff that started within the last `dwell_s` seconds is
  judged. Onset: the start of the first of them.
- Closes after `clear_s` without a puff-like frame (a hand at the mouth with nothing near; ended_at = the first
  quiet frame). The pause between puffs is shorter than clear_s, so one cigarette is one incident.
- After an observation gap the counts restart, and a movement in progress cannot be timed: it does not count.
- Per-track state is deleted once a track has been missing for `rules.common.track_forget_s`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from counterwatch.config.rules import Smoking as SmokingSettings
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.base import Rule, register
from counterwatch.rules.state import StaffPresence, WindowState
from counterwatch.rules.timing import EPS, FrameRef, Run, TrackTable


@dataclass
class _Track:
    """Mutable per-track state: the movement in progress, and when an object was last near the person."""

    at_mouth: bool = False
    start: FrameRef | None = None
    countable: bool = False  # nothing near so far
    head: bool = False  # a learned smoking head fired on a frame of this movement
    object_ts: float | None = None  # the last frame with food, a cup or a phone near


@register
class Smoking(Rule[SmokingSettings]):
    name = "smoking"
    settings_type = SmokingSettings

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tracks: TrackTable[_Track] = TrackTable(self.common.track_forget_s, _Track)
        self._counted: list[FrameRef] = []  # starts of counted puffs within the last dwell_s, any person
        self._active = Run(release_s=self.settings.clear_s)  # puff-like frames
        self._after_gap = False
        self._timed_from: float | None = None  # the first frame after the latest observation gap

    @property
    def tracked_people(self) -> int:
        return len(self._tracks)

    def _reset(self) -> None:
        self._tracks.clear()
        self._counted.clear()
        self._active.reset()
        self._after_gap = False
        self._timed_from = None

    def _on_gap(self) -> None:
        self._counted.clear()
        self._after_gap = True  # movements that started before the gap cannot be timed
        if self._incident.is_open:
            self._active.interrupt()
        else:
            self._active.reset()

    def _object_near(self, person: StaffPresence) -> bool:
        cues = person.cues
        return cues.food_near or cues.drink_near or cues.phone >= self.settings.phone_max_score

    def _judge(self, track: _Track, frame: FrameRef) -> bool:
        """A movement ending at `frame`: True when it counts as a puff."""
        assert track.start is not None  # set when the movement began
        duration = frame.ts - track.start.ts
        timed = self._timed_from is None or track.start.ts >= self._timed_from - EPS
        long_enough = track.head or duration >= self.settings.min_movement_s - EPS
        return track.countable and timed and long_enough and duration <= self.settings.max_movement_s + EPS

    def _observe(self, state: WindowState, frame: FrameRef) -> tuple[bool, bool]:
        """Track movements per person: (some hand is at a mouth with nothing near, a puff was counted)."""
        puff_like = counted = False
        memory = self.settings.object_memory_s
        for person in state.staff:
            track = self._tracks.touch(person.track_id, frame.ts)
            if self._object_near(person):
                track.object_ts = frame.ts
            object_recent = track.object_ts is not None and frame.ts - track.object_ts <= memory + EPS
            head = person.cues.head_fired(self.name)
            at_mouth = person.cues.hand_to_mouth or head
            if at_mouth and not track.at_mouth:
                track.start, track.countable, track.head = frame, not object_recent, False
            if at_mouth:
                assert track.start is not None  # set at the rising edge, this frame or earlier
                track.head = track.head or head
                track.countable = track.countable and not object_recent
                within = frame.ts - track.start.ts <= self.settings.max_movement_s + EPS
                puff_like = puff_like or (track.countable and within)
            elif track.at_mouth:
                track.countable = track.countable and not object_recent
                if self._judge(track, frame):
                    assert track.start is not None  # the movement had a rising edge
                    self._counted.append(track.start)
                    counted = True
            track.at_mouth = at_mouth
        self._tracks.forget(frame.ts)
        horizon = frame.ts - self.settings.dwell_s - EPS
        self._counted = [start for start in self._counted if start.ts >= horizon]
        return puff_like, counted

    def _confidence(self) -> float:
        # Lower than eating's count / (count + 1) for the same count: no object confirms a puff.
        count = len(self._counted)
        return count / (count + 2)

    def _reason(self, frame: FrameRef) -> Reason:
        """puffs: counted puffs that started within the last dwell_s; held_s: since the first of the incident's."""
        s = self.settings
        onset = self._incident.onset or min(self._counted, key=lambda f: f.ts, default=frame)
        return Reason.of("smoking.puffs", puffs=len(self._counted), min_puffs=s.min_hand_to_mouth, dwell_s=s.dwell_s,
                         min_movement_s=s.min_movement_s, max_movement_s=s.max_movement_s,
                         held_s=frame.ts - onset.ts)

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        if self._after_gap:
            self._after_gap, self._timed_from = False, frame.ts
        puff_like, counted = self._observe(state, frame)
        ended = self._active.step(frame, puff_like)
        if self._incident.is_open:
            if ended is not None:
                self._counted.clear()  # these puffs belong to the closed incident
                return [self._incident.close(frame.ts, ended.wall_time,
                                             Reason.of("closed.no_puffs", quiet_s=frame.ts - ended.ts))]
            if not (puff_like or counted):
                return []
            update = self._incident.update(frame, self._confidence(), self._reason(frame))
            return [update] if update else []
        if (self._active.active and len(self._counted) >= self.settings.min_hand_to_mouth
                and self._incident.can_open(frame.ts)):
            onset = min(self._counted, key=lambda f: f.ts)
            return [self._incident.open(onset, frame, self._confidence(), self._reason(frame))]
        return []
