"""When the cascade takes a full look at a window's staff, and what carries over to the frames in between.

Presence needs the person detector on every analysed frame; the behaviour cues do not: the rules judge a behaviour
over a dwell of tens of seconds, so measuring it about once a second (`CascadeSettings.look_interval_s`) gives the
same shares and counts. While the last look found the staff's hands idle (nothing hand-held near anyone, no raised
wrist), the next look waits `idle_interval_s` (2 s by default) instead: what such a look measures (head down, eyes
closed, posture, and the behaviour heads, which score every 2 s anyway) changes over tens of seconds, and the cues
that come and go in a second (a hand at the mouth or the ear, a phone or a cup in hand) bring the look back to the
short interval as soon as a look sees them.

A full look runs the second detector on the window crop (people confirmed across both detectors:
vision.person_ensemble), the detector around the hands, pose, face, face mesh, hands and the phone classifier, and
the behaviour heads score the main staff person. Between looks a person the person detector finds
again (IoU with a person of the last look) carries that look's pose, face and hands, moved with the box.

The second detector confirms people (vision.person_ensemble). A person stays the person it was confirmed as while
the person detector keeps finding them, so the second detector runs at most every `confirm_interval_s` (at a look),
or at a look where the carried confirmation no longer fits: the person detector finds someone it has not confirmed,
or no longer finds someone it has.
Its person boxes follow the boxes of the people they were matched to, frame by frame, and confirm them in between; a
box the person detector stops finding is kept for at most one look interval.

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
class Confirmation:
    """The second detector's last run on a window crop, in frame pixels."""

    ts: float
    people: tuple[Detection, ...]  # its person boxes, each moved along with the person it was matched to since
    objects: tuple[Detection, ...]  # its other objects
    seen_at: tuple[float, ...] = ()  # per person box: when the person detector last found that person (or ts)

    def __post_init__(self) -> None:
        if not self.seen_at:
            object.__setattr__(self, "seen_at", (self.ts,) * len(self.people))
        if len(self.seen_at) != len(self.people):
            raise ValueError("Confirmation.seen_at must have one time per person box")


def follow(people: Sequence[Detection], found: Sequence[Detection], min_iou: float = CARRY_MIN_IOU,
           ) -> tuple[int | None, ...]:
    """For each of `people`, the index of the person of `found` it overlaps most (at least `min_iou`, one to one),
    else None."""
    pairs = sorted(((p.box.iou(f.box), i, j) for i, p in enumerate(people) for j, f in enumerate(found)),
                   reverse=True)
    matched: dict[int, int] = {}
    taken: set[int] = set()
    for iou, i, j in pairs:
        if iou < min_iou:
            break
        if i not in matched and j not in taken:
            matched[i] = j
            taken.add(j)
    return tuple(matched.get(i) for i in range(len(people)))


@dataclass(frozen=True)
class Look:
    """What one full look at a window found, in frame pixels."""

    ts: float
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
    """Per window: the last look and whether the next frame needs one, and the second detector's last confirmation.
    `interval_s` 0 looks on every frame; `idle_interval_s` (None, or less than `interval_s`: `interval_s`) follows
    a look that found the hands idle; `confirm_interval_s` 0 runs the second detector at every look."""

    def __init__(self, interval_s: float, confirm_interval_s: float = 0.0, idle_interval_s: float | None = None,
                 ) -> None:
        idle = interval_s if idle_interval_s is None else idle_interval_s
        for name, value in (("interval_s", interval_s), ("confirm_interval_s", confirm_interval_s),
                            ("idle_interval_s", idle)):
            if value < 0:
                raise ValueError(f"{name} must be >= 0, got {value}")
        self._interval_s = interval_s
        self._idle_interval_s = max(idle, interval_s)
        self._confirm_interval_s = confirm_interval_s
        self._looks: dict[str, Look] = {}
        self._started: dict[str, bool] = {}  # window -> the last look started to see a hand-held object
        self._confirmations: dict[str, Confirmation] = {}

    def last(self, window_id: str) -> Look | None:
        return self._looks.get(window_id)

    def due(self, window_id: str, ts: float, staff_boxes: Sequence[Box]) -> bool:
        """Does this frame need a full look at the window, given the boxes of the staff found this frame?"""
        look = self._looks.get(window_id)
        if self._interval_s == 0 or look is None:
            return True
        # A raised wrist makes the hands checked too (and brings the next look at once, below).
        interval = self._interval_s if look.hands_checked else self._idle_interval_s
        if not look.ts <= ts < look.ts + interval:
            return True
        if look.wrist_raised or self._started.get(window_id, False):
            return True
        return any(match(look.persons, box) is None for box in staff_boxes)

    def confirmation(self, window_id: str) -> Confirmation | None:
        return self._confirmations.get(window_id)

    def confirm_due(self, window_id: str, ts: float) -> bool:
        """Is the second detector due at this look by the interval? (The cascade also calls it in when the carried
        confirmation no longer fits the people found.)"""
        last = self._confirmations.get(window_id)
        return self._confirm_interval_s == 0 or last is None or not last.ts <= ts < last.ts + self._confirm_interval_s

    def confirmed(self, window_id: str, confirmation: Confirmation) -> None:
        self._confirmations[window_id] = confirmation

    def follow(self, window_id: str, found: Sequence[Detection], ts: float) -> None:
        """Move the confirmation's person boxes along with the people the person detector found this frame. A box
        the person detector has not found for `interval_s` is dropped: nobody is carried into a still scene."""
        last = self._confirmations.get(window_id)
        if last is None:
            return
        people, seen = [], []
        for person, seen_at, index in zip(last.people, last.seen_at, follow(last.people, found), strict=True):
            if index is not None:
                people.append(replace(person, box=found[index].box))
                seen.append(ts)
            elif ts - seen_at <= self._interval_s:
                people.append(person)
                seen.append(seen_at)
        self._confirmations[window_id] = replace(last, people=tuple(people), seen_at=tuple(seen))

    def record(self, window_id: str, look: Look) -> None:
        previous = self._looks.get(window_id)
        self._started[window_id] = look.hands_checked and (previous is None or not previous.hands_checked)
        self._looks[window_id] = look
