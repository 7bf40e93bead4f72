"""eating and drinking (行为规定 5 (1)): repeated hand-to-mouth movements with food, or with a cup or bottle.

Two rule classes with separate incident types, so that a hall can allow water (drinking: enabled false).

- A movement is a rising edge of a person's hand_to_mouth cue (per track: one person's hand at the mouth is one
  movement however long it stays). It counts when the object (food for eating, a cup or bottle for drinking) is
  near the person on any frame of that movement. A chin resting on a hand is one long movement, not repetition,
  and without the object it never counts.
- Opens at the frame where `min_hand_to_mouth` counted movements have started within the last `dwell_s` seconds.
  Onset: the start of the first of them.
- Closes after `clear_s` without a frame showing a hand at the mouth with the object (ended_at = the first such
  quiet frame). Chewing between bites shorter than clear_s does not split an incident.
- The behaviour's learned head (counterwatch/learning, on by default) at or above its card threshold on a frame of
  a movement counts as the object being there (detectors rarely box food or a cup held at the mouth). Without a
  hand at the mouth the head alone counts for nothing: a cup or a lunch box on the desk beside someone at work
  makes the head fire on every frame, and is not eating or drinking.
- Per-track movement state is deleted once a track has been missing for `rules.common.track_forget_s`.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from counterwatch.config.rules import Drinking as DrinkingSettings, Eating as EatingSettings
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.base import Rule, register
from counterwatch.rules.state import WindowState
from counterwatch.rules.timing import EPS, FrameRef, Run, TrackTable


@dataclass
class _Movement:
    """Mutable per-track state: the hand-to-mouth movement in progress, if any."""

    at_mouth: bool = False
    start: FrameRef | None = None
    counted: bool = False


class _HandToMouthRule(Rule[EatingSettings | DrinkingSettings]):
    object_cue: ClassVar[str]  # the BehaviourCues field naming the object
    reason_code: ClassVar[str]  # what the rule saw (counterwatch.incidents.reasons.CODES)
    closed_code: ClassVar[str]  # why an incident of it closed

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._movements: TrackTable[_Movement] = TrackTable(self.common.track_forget_s, _Movement)
        self._counted: list[FrameRef] = []  # starts of counted movements within the last dwell_s, any person
        self._active = Run(release_s=self.settings.clear_s)  # frames with a hand at the mouth and the object

    @property
    def tracked_people(self) -> int:
        return len(self._movements)

    def _reset(self) -> None:
        self._movements.clear()
        self._counted.clear()
        self._active.reset()

    def _on_gap(self) -> None:
        # Movements in progress stay (no new rising edge for a hand that never left the mouth); counts restart.
        self._counted.clear()
        if self._incident.is_open:
            self._active.interrupt()
        else:
            self._active.reset()

    def _observe(self, state: WindowState, frame: FrameRef) -> bool:
        """Track movements per person; True when some hand is at the mouth with the object this frame."""
        cue = False
        for person in state.staff:
            movement = self._movements.touch(person.track_id, frame.ts)
            # Movements come from hand geometry only. The learned head (on by default) at or above its threshold
            # stands in for the object on a movement: detectors rarely box food held at the mouth. On its own it
            # never makes a movement: a cup on the desk beside someone at work is not drinking.
            head = person.cues.head_fired(self.name)
            at_mouth = person.cues.hand_to_mouth
            if at_mouth and not movement.at_mouth:
                movement.start, movement.counted = frame, False
            movement.at_mouth = at_mouth
            if at_mouth and (head or getattr(person.cues, self.object_cue)):
                cue = True
                if not movement.counted:
                    movement.counted = True
                    assert movement.start is not None  # set at the rising edge, this frame or earlier
                    self._counted.append(movement.start)
        self._movements.forget(frame.ts)
        horizon = frame.ts - self.settings.dwell_s - EPS
        self._counted = [start for start in self._counted if start.ts >= horizon]
        return cue

    def _confidence(self) -> float:
        # More repetitions, more certainty; the count already passed the threshold when this is used.
        count = len(self._counted)
        return count / (count + 1)

    def _reason(self, frame: FrameRef) -> Reason:
        """movements: counted movements that started within the last dwell_s; held_s: since the first of the
        incident's movements."""
        onset = self._incident.onset or min(self._counted, key=lambda f: f.ts, default=frame)
        return Reason.of(self.reason_code, movements=len(self._counted),
                         min_movements=self.settings.min_hand_to_mouth, dwell_s=self.settings.dwell_s,
                         held_s=frame.ts - onset.ts)

    def _step(self, state: WindowState, frame: FrameRef) -> list[IncidentEvent]:
        cue = self._observe(state, frame)
        ended = self._active.step(frame, cue)
        if self._incident.is_open:
            if ended is not None:
                self._counted.clear()  # these movements belong to the closed incident
                return [self._incident.close(frame.ts, ended.wall_time,
                                             Reason.of(self.closed_code, quiet_s=frame.ts - ended.ts))]
            update = self._incident.update(frame, self._confidence(), self._reason(frame)) if cue else None
            return [update] if update else []
        if (self._active.active and len(self._counted) >= self.settings.min_hand_to_mouth
                and self._incident.can_open(frame.ts)):
            onset = min(self._counted, key=lambda f: f.ts)
            return [self._incident.open(onset, frame, self._confidence(), self._reason(frame))]
        return []


@register
class Eating(_HandToMouthRule):
    name = "eating"
    settings_type = EatingSettings
    object_cue = "food_near"
    reason_code = "eating.hand_to_mouth"
    closed_code = "closed.no_eating"


@register
class Drinking(_HandToMouthRule):
    name = "drinking"
    settings_type = DrinkingSettings
    object_cue = "drink_near"
    reason_code = "drinking.hand_to_mouth"
    closed_code = "closed.no_drinking"
