"""When the cascade takes a full look at a window's staff, and what carries over to the frames in between.

Presence needs the person detector on every analysed frame; the behaviour cues do not: the rules judge a behaviour
over a dwell of tens of seconds, so measuring it about once a second (`CascadeSettings.look_interval_s`) gives the
same shares and counts. A full look runs the second detector on the window crop (people confirmed across both
detectors: vision.person_ensemble), the detector around the hands, pose, face, face mesh, hands and the phone
classifier, and the behaviour heads score the main staff person. Between looks a person the person detector finds
again (IoU with a person of the last look) carries that look's pose, face and hands, moved with the box, and the
look's person boxes of the second detector confirm this frame's people.

A look is taken at once, whatever the interval, when:
- a staff person is not one of the last look's (someone arrived, or moved too far to be matched);
- the last look saw a raised wrist (a hand at the mouth or the ear: eating, drinking, a call are happening now);
- the last look started to see a hand-held object that the look before it did not (a cue starting: confirm it on
  the next frame, then back to the interval).
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from models.types import Box, Detection
from vision.observation import Person

CARRY_MIN_IOU = 0.3  # a person this close to one of the last look's persons is the same person


@dataclass(frozen=True)
class Look:
    """What one full look at a window found, in frame pixels."""

    ts: float
    people: tuple[Detection, ...]  # the second detector's person boxes on the window crop (for confirmation)
    objects: tuple[Detection, ...]  # everything but persons: window crop, around the hands, hand crops
    persons: tuple[Person, ...]  # the staff analysed in depth, with pose, face, eyes and hands
    hands_checked: bool  # something hand-held or a raised wrist made the hands matter for someone
    wrist_raised: bool  # a staff person had a wrist above the shoulders


def match(persons: Iterable[Person], box: Box, min_iou: float = CARRY_MIN_IOU) -> Person | None:
    """The person of `persons` that overlaps `box` most (at least `min_iou`), else None."""
    best, best_iou = None, min_iou
    for person in persons:
        iou = person.box.iou(box)
        if iou >= best_iou:
            best, best_iou = person, iou
    return best


def carry(looked: Person, person: Person) -> Person:
    """`person` (found this frame) with the measurements of `looked` (the same person at the last look), moved by
    how far the box centre moved."""
    dx = person.box.center[0] - looked.box.center[0]
    dy = person.box.center[1] - looked.box.center[1]
    return replace(person,
                   pose=None if looked.pose is None else looked.pose.offset(dx, dy),
                   face=None if looked.face is None else looked.face.offset(dx, dy),
                   eye_aspect_ratio=looked.eye_aspect_ratio, head_pitch_deg=looked.head_pitch_deg,
                   hands=tuple(hand.offset(dx, dy) for hand in looked.hands))


class LookSchedule:
    """Per window: the last look and whether the next frame needs one. `interval_s` 0 looks on every frame."""

    def __init__(self, interval_s: float) -> None:
        if interval_s < 0:
            raise ValueError(f"interval_s must be >= 0, got {interval_s}")
        self._interval_s = interval_s
        self._looks: dict[str, Look] = {}
        self._started: dict[str, bool] = {}  # window -> the last look started to see a hand-held object

    def last(self, window_id: str) -> Look | None:
        return self._looks.get(window_id)

    def due(self, window_id: str, ts: float, staff_boxes: Sequence[Box]) -> bool:
        """Does this frame need a full look at the window, given the boxes of the staff found this frame?"""
        look = self._looks.get(window_id)
        if self._interval_s == 0 or look is None or not look.ts <= ts < look.ts + self._interval_s:
            return True
        if look.wrist_raised or self._started.get(window_id, False):
            return True
        return any(match(look.persons, box) is None for box in staff_boxes)

    def record(self, window_id: str, look: Look) -> None:
        previous = self._looks.get(window_id)
        self._started[window_id] = look.hands_checked and (previous is None or not previous.hands_checked)
        self._looks[window_id] = look
