"""Phone evidence from the ImageNet classifier on hand crops: the real classifier on a real photo with a phone
rendered at the hand, and the combination with the detector's evidence on scripted people."""
from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest

from counterwatch.perception import build_cascade
from models.types import Box, Classification, Detection, Hand
from tests.conftest import make_frame
from tests.vision.test_cues import detection, scripted_person
from vision.cues import PHONE_CLASSIFIER_LABEL, person_cues
from vision.hand_phone import (
    PHONE_CLASS_IDS,
    HandPhoneSettings,
    calibrated,
    hand_crop_boxes,
    hand_phone_detections,
    phone_probability,
)


def rendered_phone(height: int, width: int) -> np.ndarray:
    """A smartphone seen face-on: dark body, lit screen with a grid of app icons, home button."""
    phone = np.full((200, 100, 3), 20, np.uint8)
    screen = phone[16:180, 6:94]
    screen[:] = (180, 120, 40)
    rng = np.random.default_rng(0)
    for row in range(5):
        for col in range(4):
            x, y = int(7 + col * 20), int(13 + row * 28)
            cv2.rectangle(screen, (x, y), (x + 14, y + 14), tuple(int(v) for v in rng.integers(60, 255, 3)), -1)
    cv2.circle(phone, (50, 190), 7, (60, 60, 60), -1)
    return cv2.resize(phone, (width, height), interpolation=cv2.INTER_AREA)


def with_phone_at_right_hand(image: np.ndarray) -> np.ndarray:
    """The astronaut photo with a phone pasted where her right hand is (the cascade finds the wrist at ~(119, 453))."""
    out = image.copy()
    out[385:495, 104:164] = rendered_phone(110, 60)
    return out


def test_a_phone_in_the_hand_raises_the_cue_through_the_classifier(astronaut_bgr, loaded_models) -> None:
    assert loaded_models.cascade_models.phone_classifier is not None  # perception.phone_classifier defaults on
    without_classifier = replace(loaded_models, cascade_models=replace(loaded_models.cascade_models,
                                                                       phone_classifier=None))

    def phone_cue(image: np.ndarray, models) -> tuple[float, tuple[str, ...]]:
        observation = build_cascade(None, None, models).observe(make_frame(image))
        person = max(observation.persons, key=lambda p: p.box.area)
        return person_cues(person, observation.objects).phone, tuple(o.label for o in observation.objects)

    empty, _ = phone_cue(astronaut_bgr, loaded_models)
    held, labels = phone_cue(with_phone_at_right_hand(astronaut_bgr), loaded_models)
    detector_only, detector_labels = phone_cue(with_phone_at_right_hand(astronaut_bgr), without_classifier)
    assert empty < 0.3  # her hand holds nothing: no phone evidence
    assert PHONE_CLASSIFIER_LABEL in labels and PHONE_CLASSIFIER_LABEL not in detector_labels
    # the classifier sees the phone the detector misses: at or above the decision threshold (0.3) of the phone cue
    assert held >= 0.3 and held > detector_only
    assert held > empty + 0.25


def test_classifier_on_the_hand_crop_only(astronaut_bgr, loaded_models) -> None:
    classifier = loaded_models.cascade_models.phone_classifier
    person = scripted_person({"right_elbow": (75, 363), "right_wrist": (119, 453)}, box=Box(10, 10, 370, 510))
    phone = hand_phone_detections(classifier, with_phone_at_right_hand(astronaut_bgr), person)
    plain = hand_phone_detections(classifier, astronaut_bgr, person)
    best = max((d.score for d in phone), default=0.0)
    assert best >= 0.5 and best > max((d.score for d in plain), default=0.0)
    assert all(d.label == PHONE_CLASSIFIER_LABEL and 0 <= d.box.x1 and d.box.y2 <= 512 for d in phone)


def test_crops_sit_around_hands_and_beyond_the_wrist_along_the_forearm() -> None:
    person = scripted_person()  # shoulders 100 px apart: body scale 100; wrists 60 px below the elbows
    boxes = hand_crop_boxes(person)
    assert len(boxes) == 2  # no MediaPipe hands: the two pose wrists
    left = next(b for b in boxes if b.center[0] > 200)
    # left elbow (265, 280) -> wrist (250, 340): centre pushed 0.35 of that beyond the wrist, side 1.0 body scale
    assert left.center == pytest.approx((250 - 0.35 * 15, 340 + 0.35 * 60))
    assert left.width == pytest.approx(100) and left.height == pytest.approx(100)
    hidden = scripted_person(hidden=("left_wrist", "right_wrist"))
    assert hand_crop_boxes(hidden) == ()


def test_phone_classes_are_summed_and_calibrated() -> None:
    scores = (Classification("cellular telephone", 487, 0.01), Classification("iPod", 605, 0.005),
              Classification("wallet", 893, 0.5))
    assert phone_probability(scores, PHONE_CLASS_IDS) == pytest.approx(0.015)
    assert calibrated(0.015) == pytest.approx(0.015 * HandPhoneSettings().gain)
    assert calibrated(0.5) == 1.0 and calibrated(-0.1) == 0.0
    with pytest.raises(ValueError):
        HandPhoneSettings(gain=0)
    with pytest.raises(ValueError):
        HandPhoneSettings(class_ids=())


def test_classifier_and_detector_evidence_combine_by_max_near_the_hand() -> None:
    person = scripted_person()

    def classifier_box(score: float, cx: float, cy: float) -> Detection:
        return Detection(PHONE_CLASSIFIER_LABEL, PHONE_CLASS_IDS[0], score, Box(cx - 50, cy - 50, cx + 50, cy + 50))

    at_hand = classifier_box(0.7, 250, 350)
    assert person_cues(person, (at_hand,)).phone == pytest.approx(0.7)
    assert person_cues(person, (at_hand, detection("cell phone", 0.4, 255, 345))).phone == pytest.approx(0.7)
    assert person_cues(person, (classifier_box(0.2, 250, 350), detection("cell phone", 0.8, 255, 345))
                       ).phone == pytest.approx(0.8)
    # a crop around someone else's hand, far beyond reach, adds nothing
    assert person_cues(person, (classifier_box(0.9, 700, 340),)).phone == 0.0


def _hand_at(cx: float, cy: float, side: float = 30.0) -> Hand:
    """21 landmarks spread over a `side`-pixel square centred at (cx, cy)."""
    grid = np.linspace(-side / 2, side / 2, 21)
    landmarks = np.stack([cx + grid, cy + grid[::-1], np.zeros(21)], axis=1)
    return Hand(landmarks, "left", 0.9)


def test_a_wrist_already_cropped_as_a_hand_gets_no_second_crop() -> None:
    # Left wrist (250, 340), elbow (265, 280): its crop centre (244.75, 361) falls in a hand crop centred at (246, 358)
    # (side 0.4 body scales = 40 px at least); the right wrist has no hand found: it keeps its own crop.
    at_left = scripted_person(hands=(_hand_at(246, 358),))
    boxes = hand_crop_boxes(at_left)
    assert len(boxes) == 2
    hand_box, wrist_box = boxes
    assert hand_box.center == pytest.approx((246, 358)) and hand_box.width == pytest.approx(66)
    assert wrist_box.center[0] < 200 and wrist_box.width == pytest.approx(100)  # the right wrist, 1 body scale
    # A hand far from both wrists (someone's hand on the desk) leaves both wrists their crops.
    elsewhere = scripted_person(hands=(_hand_at(400, 480),))
    assert len(hand_crop_boxes(elsewhere)) == 3
