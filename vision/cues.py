"""Behaviour cues of one staff person in one frame: the per-frame evidence the behaviour rules integrate over time.

A cue is a measurement, not a verdict: one frame with a phone in a hand is not an incident; the rules decide from
how long and how often cues fire.

Geometry is measured in shoulder widths (the body's own scale), so the same thresholds hold for a person 80 px tall
in a CCTV window crop and 600 px tall in a photo. Where shoulders are foreshortened (a person seen from the side),
the scale is floored by the face width and the box height, so distances do not blow up.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models.types import Box, Detection, Keypoint, Pose
from vision.observation import Person

PHONE_LABELS = frozenset({"cell phone"})
# "remote" is what COCO detectors often call a phone held edge-on; it counts only as a weaker phone.
PHONE_LOOKALIKE_LABELS = frozenset({"remote"})
# A hand crop an ImageNet classifier scored as a phone (vision.hand_phone); its score is already calibrated.
PHONE_CLASSIFIER_LABEL = "phone (hand classifier)"
FOOD_LABELS = frozenset({"banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut",
                         "cake", "bowl", "fork", "spoon"})
DRINK_LABELS = frozenset({"cup", "bottle", "wine glass"})

# MediaPipe hand landmarks that say where the hand is: wrist, thumb tip, the four finger bases and fingertips.
_HAND_POINTS = (0, 4, 5, 8, 9, 12, 13, 16, 17, 20)


@dataclass(frozen=True)
class CueSettings:
    """Distances are in body scales (shoulder widths); scores are detector scores. Defaults: see DESIGN.md and the
    `counterwatch eval frames` measurements; they were set from body proportions first, then checked on photos."""

    keypoint_min_score: float = 0.3  # pose keypoints below this are treated as unseen
    phone_in_hand: float = 0.6  # phone box within this of a hand point: in the hand, full detector score
    phone_reach: float = 1.5  # beyond this from every hand point: not held (score falls linearly to 0 here)
    phone_without_hands: float = 0.5  # factor for a phone over the person when no hand could be located
    lookalike_factor: float = 0.5  # factor for phone look-alike labels ("remote")
    object_min_score: float = 0.25  # food and drink boxes below this are ignored
    call_distance: float = 0.6  # hand point to ear for a call posture
    mouth_distance: float = 0.5  # hand point to mouth for hand-to-mouth
    object_at_mouth: float = 0.2  # a cup or food box this close to the mouth is held there (the hand hides behind)
    object_near: float = 0.8  # food or drink box to a hand point or the mouth for food_near / drink_near
    # nose less than this above the shoulder line counts as head down (har: 0.05-0.15 flat)
    head_down_margin: float = 0.1
    min_scale_box_fraction: float = 0.2  # floor of the body scale as a fraction of the person box height
    face_width_to_shoulders: float = 2.0  # floor of the body scale in face widths (a face is ~half the shoulders)

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
                raise ValueError(f"CueSettings.{name} must be a finite number >= 0, got {value!r}")
        if self.phone_reach <= self.phone_in_hand:
            raise ValueError("CueSettings.phone_reach must exceed phone_in_hand")


DEFAULT_CUE_SETTINGS = CueSettings()


@dataclass(frozen=True)
class BehaviourCues:
    phone: float = 0.0  # 0..1: evidence of a phone in or near a hand (detector score, hand geometry)
    call: bool = False  # a wrist or hand at the ear (phone call posture)
    hand_to_mouth: bool = False  # a hand or wrist at the mouth this frame
    food_near: bool = False  # food or a bowl near the person's hands or face
    drink_near: bool = False  # a cup, glass or bottle near the person's hands or face
    head_down: bool = False  # head on or towards the desk (nose below the shoulder line)
    eye_aspect_ratio: float | None = None  # raw mean EAR; rules normalise it per person (track)
    head_pitch_deg: float | None = None  # positive = looking down
    # Learned behaviour heads (counterwatch/learning): (behaviour, calibrated probability, the head's threshold from
    # its model card). Empty when no head is configured or this person was not scored.
    head: tuple[tuple[str, float, float], ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.phone <= 1.0:
            raise ValueError(f"BehaviourCues.phone must be within 0..1, got {self.phone}")
        names = [entry[0] for entry in self.head]
        if len(set(names)) != len(names):
            raise ValueError(f"BehaviourCues.head names a behaviour twice: {names}")
        for name, prob, threshold in self.head:
            if not (0.0 <= prob <= 1.0 and 0.0 <= threshold <= 1.0):
                raise ValueError(f"BehaviourCues.head[{name!r}]: probability and threshold must be within 0..1, "
                                 f"got {prob}, {threshold}")

    def head_prob(self, name: str) -> float | None:
        """The head's calibrated probability for behaviour `name`, or None when no head scored it."""
        return next((prob for behaviour, prob, _ in self.head if behaviour == name), None)

    def head_fired(self, name: str) -> bool:
        """The head for `name` reached its own threshold (the one on its model card)."""
        return any(behaviour == name and prob >= threshold for behaviour, prob, threshold in self.head)


@dataclass(frozen=True)
class BodyFrame:
    """The landmarks the cues need, in frame pixels, and the body scale (pixels per shoulder width)."""

    scale: float
    hands: tuple[tuple[float, float], ...]  # wrists and hand landmarks
    mouth: tuple[float, float] | None
    ears: tuple[tuple[float, float], ...]
    nose: tuple[float, float] | None
    shoulder_y: float | None  # the shoulder line (mean of the visible shoulders)
    ears_y: float | None


def person_cues(person: Person, objects: Sequence[Detection], *, settings: CueSettings = DEFAULT_CUE_SETTINGS
                ) -> BehaviourCues:
    """Cues of one person given the objects found around them (frame pixels; the cascade's window crop objects)."""
    body = body_frame(person, settings)
    phone = phone_score(person.box, body, objects, settings)
    near_food = _object_near(person.box, body, objects, FOOD_LABELS, settings)
    near_drink = _object_near(person.box, body, objects, DRINK_LABELS, settings)
    return BehaviourCues(
        phone=phone,
        call=_call_posture(body, settings),
        hand_to_mouth=_hand_at_mouth(body, settings) or _held_at_mouth(body, objects, settings),
        food_near=near_food,
        drink_near=near_drink,
        head_down=head_down(body, settings),
        eye_aspect_ratio=person.eye_aspect_ratio,
        head_pitch_deg=person.head_pitch_deg,
    )


def body_frame(person: Person, settings: CueSettings = DEFAULT_CUE_SETTINGS) -> BodyFrame:
    pose: Pose | None = person.pose
    face = person.face
    k = settings.keypoint_min_score

    def point(name: str) -> Keypoint | None:
        return pose.get(name, k) if pose is not None else None

    shoulders = [p for p in (point("left_shoulder"), point("right_shoulder")) if p]
    scale = person.box.height * settings.min_scale_box_fraction
    if len(shoulders) == 2:
        scale = max(scale, math.dist((shoulders[0].x, shoulders[0].y), (shoulders[1].x, shoulders[1].y)))
    if face is not None:
        scale = max(scale, face.box.width * settings.face_width_to_shoulders)
    scale = max(scale, 1.0)
    hands = [(p.x, p.y) for p in (point("left_wrist"), point("right_wrist")) if p]
    for hand in person.hands:
        hands.extend((float(hand.landmarks[i, 0]), float(hand.landmarks[i, 1])) for i in _HAND_POINTS)
    nose = point("nose")
    nose_xy = (nose.x, nose.y) if nose else (face.get("nose_tip").x, face.get("nose_tip").y) if face else None
    mouth: tuple[float, float] | None
    if face is not None:
        mouth = (face.get("mouth_center").x, face.get("mouth_center").y)
        ears = [(face.get(n).x, face.get(n).y) for n in ("left_ear_tragion", "right_ear_tragion")]
    else:
        # COCO-17 has no mouth: it sits about a fifth of a shoulder width below the nose.
        mouth = (nose.x, nose.y + 0.2 * scale) if nose else None
        ears = []
    pose_ears = [p for p in (point("left_ear"), point("right_ear")) if p]
    ears.extend((p.x, p.y) for p in pose_ears)
    return BodyFrame(scale=scale, hands=tuple(hands), mouth=mouth, ears=tuple(ears), nose=nose_xy,
                     shoulder_y=sum(p.y for p in shoulders) / len(shoulders) if shoulders else None,
                     ears_y=sum(p.y for p in pose_ears) / len(pose_ears) if pose_ears else None)


def phone_score(person_box: Box, body: BodyFrame, objects: Iterable[Detection],
                settings: CueSettings = DEFAULT_CUE_SETTINGS) -> float:
    """The best phone detection weighted by how close it is to a hand: 1x in the hand, 0 beyond reach.

    Without any hand point (pose failed, hands hidden) a phone over the person still counts, weakly: a phone lying
    on the desk in front of the staff is in their box too, so it must not weigh like one in the hand.
    A hand-crop classifier score (PHONE_CLASSIFIER_LABEL: its box is the crop around a hand) counts like a phone
    box (weighted by closeness to this person's hands), so detector and classifier evidence combine by max.
    """
    best = 0.0
    for obj in objects:
        if obj.label in PHONE_LABELS or obj.label == PHONE_CLASSIFIER_LABEL:
            factor = 1.0
        elif obj.label in PHONE_LOOKALIKE_LABELS:
            factor = settings.lookalike_factor
        else:
            continue
        if body.hands:
            distance = min(box_distance(obj.box, x, y) for x, y in body.hands) / body.scale
            reach = (settings.phone_reach - distance) / (settings.phone_reach - settings.phone_in_hand)
            factor *= min(1.0, max(0.0, reach))
        elif person_box.intersection(obj.box) >= 0.5 * obj.box.area:
            factor *= settings.phone_without_hands
        else:
            factor = 0.0
        best = max(best, obj.score * factor)
    return min(1.0, best)


def head_down(body: BodyFrame, settings: CueSettings = DEFAULT_CUE_SETTINGS) -> bool:
    """Nose (or the ears) at or below the shoulder line: upright, the nose is ~0.5-0.8 shoulder widths above it."""
    if body.shoulder_y is None:
        return False
    line = body.shoulder_y - settings.head_down_margin * body.scale
    if body.nose is not None and body.nose[1] >= line:
        return True
    return body.ears_y is not None and body.ears_y >= body.shoulder_y


def _call_posture(body: BodyFrame, settings: CueSettings) -> bool:
    """A hand at an ear, nearer the ear than the mouth (a cup at the lips is also within reach of the ear), and
    above the shoulder line (a hand beside a head lying on the desk is not a call)."""
    if not body.ears or not body.hands:
        return False
    limit = settings.call_distance * body.scale
    for hand in body.hands:
        if body.shoulder_y is not None and hand[1] >= body.shoulder_y:
            continue
        to_ear = min(math.dist(hand, ear) for ear in body.ears)
        if to_ear <= limit and (body.mouth is None or to_ear < math.dist(hand, body.mouth)):
            return True
    return False


def _hand_at_mouth(body: BodyFrame, settings: CueSettings) -> bool:
    """A hand point at the mouth and nearer the mouth than the ears (a phone held to the ear is not eating)."""
    if body.mouth is None:
        return False
    limit = settings.mouth_distance * body.scale
    for hand in body.hands:
        to_mouth = math.dist(hand, body.mouth)
        if to_mouth <= limit and all(to_mouth <= math.dist(hand, ear) for ear in body.ears):
            return True
    return False


def _held_at_mouth(body: BodyFrame, objects: Iterable[Detection], settings: CueSettings) -> bool:
    """A cup, bottle or food box touching the mouth: someone holds it there even when the hand itself is hidden."""
    if body.mouth is None:
        return False
    limit = settings.object_at_mouth * body.scale
    return any(obj.label in FOOD_LABELS | DRINK_LABELS and obj.score >= settings.object_min_score
               and box_distance(obj.box, *body.mouth) <= limit for obj in objects)


def _object_near(person_box: Box, body: BodyFrame, objects: Iterable[Detection], labels: frozenset[str],
                 settings: CueSettings) -> bool:
    """An object within reach of a hand or the mouth; without any hand or mouth point (pose failed), an object
    mostly over the person's box."""
    anchors = list(body.hands) + ([body.mouth] if body.mouth else [])
    limit = settings.object_near * body.scale
    for obj in objects:
        if obj.label not in labels or obj.score < settings.object_min_score:
            continue
        if anchors and min(box_distance(obj.box, x, y) for x, y in anchors) <= limit:
            return True
        if not anchors and person_box.intersection(obj.box) >= 0.5 * obj.box.area:
            return True
    return False


def box_distance(box: Box, x: float, y: float) -> float:
    """Distance from a point to a box (0 inside it)."""
    dx = max(box.x1 - x, 0.0, x - box.x2)
    dy = max(box.y1 - y, 0.0, y - box.y2)
    return math.hypot(dx, dy)
