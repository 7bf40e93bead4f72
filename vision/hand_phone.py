"""Phone evidence from an ImageNet classifier on crops around the staff person's hands.

The COCO detector scores wallets as phones and misses small phones in hands; an ImageNet classifier's phone-like
classes on a hand crop tell a phone from a wallet or an earbuds case (DESIGN.md). The cascade calls this only for a
person whose hands it already looks at (cost), and adds the result as one more detection, labelled
PHONE_CLASSIFIER_LABEL, whose box is the hand crop: vision.cues combines it with the detector's phone evidence.

Crops: around each MediaPipe hand (grown, a phone sticks out of the fingers) and around each pose wrist pushed a
little beyond it along the forearm (where a held phone is), sized in body scales so a small CCTV person and a large
photo person get the same view. A wrist whose crop centre falls in a hand's crop is that hand, already cropped: it
gets no second crop (each crop is one classifier run, ~40 ms).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from models.types import Box, Classification, Detection
from vision.cues import DEFAULT_CUE_SETTINGS, PHONE_CLASSIFIER_LABEL, CueSettings, body_frame
from vision.observation import Person

if TYPE_CHECKING:
    from models.base import ImageClassifier

# ImageNet-1k ids: 487 cellular telephone, 590 hand-held computer (a smartphone seen face-on), 605 iPod.
PHONE_CLASS_IDS = (487, 590, 605)


@dataclass(frozen=True)
class HandPhoneSettings:
    """`gain` calibrates the summed class probability to the phone cue's scale: probability 0.3 / gain reaches the
    phone decision threshold 0.3 (chosen on data/dev/phones_handheld, checked on data/dev/har; see README)."""

    class_ids: tuple[int, ...] = PHONE_CLASS_IDS
    gain: float = 15.0
    hand_crop: float = 2.2  # MediaPipe hand crop side, in the hand box's longer side
    min_hand_crop: float = 0.4  # ... at least this many body scales
    wrist_crop: float = 1.0  # pose wrist crop side, in body scales
    forearm_push: float = 0.35  # the wrist crop's centre moves this fraction of elbow->wrist beyond the wrist
    min_crop_px: int = 16  # smaller crops are not classified

    def __post_init__(self) -> None:
        if not self.class_ids or any(isinstance(i, bool) or not isinstance(i, int) or i < 0 for i in self.class_ids):
            raise ValueError(f"HandPhoneSettings.class_ids must be non-empty ints >= 0, got {self.class_ids!r}")
        for name in ("gain", "hand_crop", "min_hand_crop", "wrist_crop", "forearm_push"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"HandPhoneSettings.{name} must be a finite number >= 0, got {value!r}")
        if self.gain <= 0 or self.wrist_crop <= 0 or self.hand_crop <= 0 or self.min_crop_px < 8:
            raise ValueError("HandPhoneSettings: gain, wrist_crop, hand_crop > 0 and min_crop_px >= 8")


DEFAULT_HAND_PHONE_SETTINGS = HandPhoneSettings()


def calibrated(probability: float, settings: HandPhoneSettings = DEFAULT_HAND_PHONE_SETTINGS) -> float:
    """The phone cue (0..1) of a summed phone-class probability."""
    return min(1.0, max(0.0, probability) * settings.gain)


def hand_crop_boxes(person: Person, settings: HandPhoneSettings = DEFAULT_HAND_PHONE_SETTINGS,
                    cue_settings: CueSettings = DEFAULT_CUE_SETTINGS) -> tuple[Box, ...]:
    """Square crops (frame pixels, unclipped) around each MediaPipe hand and each visible pose wrist whose crop is
    not centred in a hand's crop."""
    scale = body_frame(person, cue_settings).scale
    boxes = []
    for hand in person.hands:
        box = hand.box
        side = max(max(box.width, box.height) * settings.hand_crop, settings.min_hand_crop * scale)
        boxes.append(_square(*box.center, side))
    hand_boxes = tuple(boxes)
    pose = person.pose
    if pose is not None:
        k = cue_settings.keypoint_min_score
        for side_name in ("left", "right"):
            wrist, elbow = pose.get(f"{side_name}_wrist", k), pose.get(f"{side_name}_elbow", k)
            if wrist is None:
                continue
            x, y = wrist.x, wrist.y
            if elbow is not None:
                x, y = x + settings.forearm_push * (wrist.x - elbow.x), y + settings.forearm_push * (wrist.y - elbow.y)
            if not any(hand.x1 <= x <= hand.x2 and hand.y1 <= y <= hand.y2 for hand in hand_boxes):
                boxes.append(_square(x, y, settings.wrist_crop * scale))
    return tuple(boxes)


def phone_probability(scores: Sequence[Classification], class_ids: Sequence[int]) -> float:
    """Summed score of `class_ids` in a classifier's Classification list (it must cover those classes)."""
    wanted = set(class_ids)
    return float(sum(c.score for c in scores if c.class_id in wanted))


def hand_phone_detections(classifier: ImageClassifier, image: npt.NDArray[Any], person: Person,
                          settings: HandPhoneSettings = DEFAULT_HAND_PHONE_SETTINGS) -> tuple[Detection, ...]:
    """One PHONE_CLASSIFIER_LABEL detection per classified hand crop (score = calibrated phone probability); crops
    with a zero score are left out."""
    height, width = image.shape[:2]
    names = getattr(classifier, "class_names", None)  # every class when the classifier lists them
    top_k = len(names) if names else 1000
    found = []
    for box in hand_crop_boxes(person, settings):
        clipped = box.clip(width, height)
        x1, y1 = max(0, int(clipped.x1)), max(0, int(clipped.y1))
        x2, y2 = min(width, int(np.ceil(clipped.x2))), min(height, int(np.ceil(clipped.y2)))
        if x2 - x1 < settings.min_crop_px or y2 - y1 < settings.min_crop_px:
            continue
        scores = classifier.classify(np.ascontiguousarray(image[y1:y2, x1:x2]), top_k=top_k)
        score = calibrated(phone_probability(scores, settings.class_ids), settings)
        if score > 0.0:
            found.append(Detection(PHONE_CLASSIFIER_LABEL, settings.class_ids[0], score,
                                   Box(float(x1), float(y1), float(x2), float(y2))))
    return tuple(found)


def _square(cx: float, cy: float, side: float) -> Box:
    return Box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2)
