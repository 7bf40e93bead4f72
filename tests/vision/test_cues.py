"""Behaviour cues: a real photo through the real cascade, and scripted people whose geometry is known."""
from __future__ import annotations

import numpy as np
import pytest

from counterwatch.perception import build_cascade
from models.types import COCO17_KEYPOINTS, Box, Detection, Hand, Keypoint, Pose
from tests.conftest import make_frame
from vision.cues import BehaviourCues, CueSettings, body_frame, box_distance, head_down, person_cues
from vision.observation import Person

# A seated person facing the camera: shoulders 100 px apart (the body scale), nose 60 px above the shoulder line.
UPRIGHT = {
    "nose": (200, 140), "left_eye": (210, 130), "right_eye": (190, 130), "left_ear": (225, 138),
    "right_ear": (175, 138), "left_shoulder": (250, 200), "right_shoulder": (150, 200), "left_elbow": (265, 280),
    "right_elbow": (135, 280), "left_wrist": (250, 340), "right_wrist": (150, 340), "left_hip": (235, 380),
    "right_hip": (165, 380), "left_knee": (240, 460), "right_knee": (160, 460), "left_ankle": (240, 540),
    "right_ankle": (160, 540),
}
BOX = Box(120, 100, 280, 420)


def scripted_person(moves: dict[str, tuple[float, float]] | None = None, *, hidden: tuple[str, ...] = (),
                    hands: tuple[Hand, ...] = (), box: Box = BOX) -> Person:
    points = {**UPRIGHT, **(moves or {})}
    keypoints = tuple(Keypoint(name, *points[name], 0.05 if name in hidden else 0.9) for name in COCO17_KEYPOINTS)
    return Person(box, 0.9, pose=Pose(keypoints, 0.9), hands=hands, eye_aspect_ratio=0.3, head_pitch_deg=5.0)


def detection(label: str, score: float, cx: float, cy: float, side: float = 30.0) -> Detection:
    return Detection(label, 1, score, Box(cx - side / 2, cy - side / 2, cx + side / 2, cy + side / 2))


def test_astronaut_has_no_phone_and_her_head_is_up(astronaut_bgr, loaded_models) -> None:
    observation = build_cascade(None, None, loaded_models).observe(make_frame(astronaut_bgr))
    person = observation.persons[0]
    cues = person_cues(person, observation.objects)
    assert isinstance(cues, BehaviourCues)
    assert cues.phone == 0.0 and not cues.call
    assert not cues.head_down and not cues.hand_to_mouth and not cues.food_near
    # copied as measured, for the rules to normalise per person
    assert cues.eye_aspect_ratio == person.eye_aspect_ratio and cues.head_pitch_deg == person.head_pitch_deg
    body = body_frame(person)
    assert body.nose is not None and body.shoulder_y is not None
    assert (body.shoulder_y - body.nose[1]) / body.scale > 0.3  # nose well above the shoulder line


def test_upright_scripted_person_fires_nothing() -> None:
    cues = person_cues(scripted_person(), ())
    assert cues == BehaviourCues(eye_aspect_ratio=0.3, head_pitch_deg=5.0)


def test_nose_below_the_shoulders_is_head_down() -> None:
    down = scripted_person({"nose": (200, 215), "left_eye": (210, 208), "right_eye": (190, 208),
                            "left_ear": (225, 205), "right_ear": (175, 205)})
    assert person_cues(down, ()).head_down
    # just above the line but within the margin (0.1 shoulder widths = 10 px) still counts; well above does not
    assert head_down(body_frame(scripted_person({"nose": (200, 190)})))
    assert not head_down(body_frame(scripted_person({"nose": (200, 180)})))


def test_head_down_needs_shoulders() -> None:
    person = scripted_person({"nose": (200, 300)}, hidden=("left_shoulder", "right_shoulder"))
    assert not person_cues(person, ()).head_down


def test_phone_in_hand_scores_the_detector_and_fades_with_distance() -> None:
    person = scripted_person()
    in_hand = person_cues(person, (detection("cell phone", 0.8, 255, 345),))
    assert in_hand.phone == pytest.approx(0.8)
    # Box edge 1.0 shoulder widths from the nearest wrist: between in-hand (0.6) and reach (1.5) -> (1.5-1.0)/0.9.
    far = detection("cell phone", 0.8, 250 + 100 + 15, 340, side=30)
    assert box_distance(far.box, 250, 340) == pytest.approx(100)
    assert person_cues(person, (far,)).phone == pytest.approx(0.8 * 0.5 / 0.9)
    assert person_cues(person, (detection("cell phone", 0.8, 600, 340),)).phone == 0.0
    assert person_cues(person, (detection("remote", 0.8, 255, 345),)).phone == pytest.approx(0.4)


def test_phone_without_any_hand_point_counts_weakly_over_the_person() -> None:
    person = scripted_person(hidden=("left_wrist", "right_wrist"))
    assert person_cues(person, (detection("cell phone", 0.6, 200, 300),)).phone == pytest.approx(0.3)
    assert person_cues(person, (detection("cell phone", 0.6, 600, 300),)).phone == 0.0


def test_wrist_at_the_ear_is_a_call_and_not_hand_to_mouth() -> None:
    cues = person_cues(scripted_person({"left_wrist": (232, 145)}), ())
    assert cues.call and not cues.hand_to_mouth


def test_wrist_at_the_mouth_is_hand_to_mouth_and_not_a_call() -> None:
    # mouth is estimated 0.2 shoulder widths (20 px) below the nose: (200, 160)
    cues = person_cues(scripted_person({"right_wrist": (195, 170)}), ())
    assert cues.hand_to_mouth and not cues.call


def test_hand_landmarks_count_as_hand_points() -> None:
    landmarks = np.zeros((21, 3), np.float32)
    landmarks[:, 0], landmarks[:, 1] = 200, 165  # a hand at the mouth, wrists still resting on the desk
    cues = person_cues(scripted_person(hands=(Hand(landmarks, "right", 0.9),)), ())
    assert cues.hand_to_mouth


def test_cup_near_a_hand_is_drink_near_and_food_far_away_is_not_food_near() -> None:
    cues = person_cues(scripted_person(), (detection("cup", 0.7, 150, 360), detection("banana", 0.9, 700, 360)))
    assert cues.drink_near and not cues.food_near and not cues.hand_to_mouth
    weak = person_cues(scripted_person(), (detection("sandwich", 0.1, 150, 360),))
    assert not weak.food_near  # below the object score floor


def test_cup_at_the_mouth_counts_as_hand_to_mouth() -> None:
    cues = person_cues(scripted_person(), (detection("cup", 0.7, 200, 170, side=24),))
    assert cues.drink_near and cues.hand_to_mouth


def test_scale_floor_keeps_side_views_sane() -> None:
    # seen from the side the shoulders nearly coincide; the scale falls back to a fifth of the box height
    side_view = scripted_person({"left_shoulder": (203, 200), "right_shoulder": (197, 200)})
    assert body_frame(side_view).scale == pytest.approx(BOX.height * 0.2)


def test_settings_are_validated() -> None:
    with pytest.raises(ValueError, match="phone_reach"):
        CueSettings(phone_in_hand=1.0, phone_reach=0.5)
    with pytest.raises(ValueError, match="call_distance"):
        CueSettings(call_distance=-1)
