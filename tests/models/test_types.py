"""Result types: validation names the field and shape; helpers return new values."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from models import (
    COCO17_KEYPOINTS,
    FACE_KEYPOINTS,
    Box,
    Classification,
    Detection,
    Face,
    FaceLandmarks,
    Hand,
    Keypoint,
    Marker,
    Pose,
    TextLine,
)


def _pose(dx: float = 0.0) -> Pose:
    return Pose(tuple(Keypoint(n, 10 + i + dx, 20 + 2 * i, 0.5) for i, n in enumerate(COCO17_KEYPOINTS)), 0.8)


def test_box_geometry() -> None:
    box = Box(10, 20, 50, 100)
    assert (box.width, box.height, box.area, box.center) == (40, 80, 3200, (30, 60))
    assert box.iou(box) == 1.0 and box.iou(Box(100, 100, 110, 110)) == 0.0
    assert box.iou(Box(30, 20, 70, 100)) == pytest.approx(1 / 3)
    assert box.clip(40, 60) == Box(10, 20, 40, 60)
    assert box.offset(5, -5) == Box(15, 15, 55, 95)
    assert box.scale(2, 0.5) == Box(20, 10, 100, 50)
    assert box.expand(2) == Box(-10, -20, 70, 140)
    assert Box(1.2, 2.7, 3.1, 4.0).to_int() == (1, 2, 4, 4)
    assert box.contains(10, 100) and not box.contains(9.9, 50)
    assert Box.from_points(np.array([[3, 4], [1, 9], [2, 2]])) == Box(1, 2, 3, 9)


@pytest.mark.parametrize(("args", "message"), [
    ((5, 0, 1, 1), "x1 <= x2"),
    ((0, 0, float("nan"), 1), "Box.x2 must be finite"),
    ((0, "a", 1, 1), "Box.y1 must be a number"),
])
def test_box_validation(args, message) -> None:
    with pytest.raises(ValueError, match=message):
        Box(*args)


def test_values_are_frozen() -> None:
    box = Box(0, 0, 1, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        box.x1 = 5  # type: ignore[misc]
    hand = Hand(np.zeros((21, 3)), "left", 0.9)
    with pytest.raises(ValueError):
        hand.landmarks[0, 0] = 1.0  # read-only array


def test_detection_validation_and_mapping() -> None:
    detection = Detection("cup", 47, 0.9, Box(0, 0, 10, 10))
    assert detection.offset(5, 5).box == Box(5, 5, 15, 15)
    assert detection.scale(2).box == Box(0, 0, 20, 20)
    with pytest.raises(ValueError, match="Detection.score must be in"):
        Detection("cup", 47, 1.5, Box(0, 0, 1, 1))
    with pytest.raises(ValueError, match="Detection.class_id"):
        Detection("cup", -1, 0.5, Box(0, 0, 1, 1))
    with pytest.raises(ValueError, match="Detection.box must be a Box"):
        Detection("cup", 1, 0.5, (0, 0, 1, 1))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Classification.label"):
        Classification("", 1, 0.5)


def test_pose_requires_the_17_coco_keypoints_in_order() -> None:
    pose = _pose()
    assert pose.get("left_wrist").x == 10 + COCO17_KEYPOINTS.index("left_wrist")
    assert pose.offset(3, 4).get("nose") == Keypoint("nose", 13, 24, 0.5)
    assert pose.scale(2).get("right_ankle").y == 2 * (20 + 2 * 16)
    shuffled = tuple(reversed(pose.keypoints))
    with pytest.raises(ValueError, match="17 Keypoints named"):
        Pose(shuffled, 0.5)
    with pytest.raises(ValueError, match="17 Keypoints named"):
        Pose(pose.keypoints[:16], 0.5)
    with pytest.raises(ValueError, match="Keypoint.score must be in"):
        Keypoint("nose", 1, 1, 2)


def test_face_keypoints() -> None:
    keypoints = tuple(Keypoint(n, i, i, 0.9) for i, n in enumerate(FACE_KEYPOINTS))
    face = Face(Box(0, 0, 10, 10), 0.9, keypoints)
    assert face.get("nose_tip").x == 2
    assert face.offset(1, 1).get("nose_tip").x == 3
    with pytest.raises(ValueError, match="unknown face keypoint"):
        face.get("nose")
    with pytest.raises(ValueError, match="6 Keypoints named"):
        Face(Box(0, 0, 1, 1), 0.9, keypoints[:5])


@pytest.mark.parametrize(("factory", "message"), [
    (lambda: FaceLandmarks(np.zeros((478, 3))), r"FaceLandmarks.points must have shape \(468, 3\), got \(478, 3\)"),
    (lambda: Hand(np.zeros((21, 2)), "left", 0.5), r"Hand.landmarks must have shape \(21, 3\)"),
    (lambda: Hand(np.zeros((21, 3)), "Left", 0.5), "Hand.handedness must be 'left' or 'right'"),
    (lambda: Marker(3, np.zeros((4, 3))), r"Marker.corners must have shape \(4, 2\)"),
    (lambda: Marker(-2, np.zeros((4, 2))), "Marker.marker_id"),
    (lambda: TextLine("x", 0.5, np.zeros((5, 2))), r"TextLine.polygon must have shape \(4, 2\)"),
    (lambda: TextLine("x", 0.5, np.full((4, 2), np.inf)), "finite"),
])
def test_array_types_name_the_expected_shape(factory, message) -> None:
    with pytest.raises(ValueError, match=message):
        factory()


def test_array_types_map_back_and_compare_by_value() -> None:
    landmarks = np.arange(63, dtype=np.float32).reshape(21, 3)
    hand = Hand(landmarks, "right", 0.7)
    moved = hand.offset(10, 20)
    assert moved.landmarks[0].tolist() == [10, 21, 2]  # depth unchanged by an offset
    assert hand.scale(2, 3).landmarks[1].tolist() == [6, 12, 10]  # depth follows the x scale
    assert hand == Hand(landmarks.copy(), "right", 0.7) and hand != moved
    assert hand.box == Box(0, 1, 60, 61)
    marker = Marker(4, np.array([[0, 0], [10, 0], [10, 10], [0, 10]]))
    assert marker.center == (5, 5) and marker.side_px == 10
    assert marker.offset(1, 2).box == Box(1, 2, 11, 12)
    line = TextLine("PAUSED", 0.9, np.array([[0, 0], [40, 0], [40, 10], [0, 10]]))
    assert line.scale(0.5).box == Box(0, 0, 20, 5)
    with pytest.raises(TypeError):
        hash(hand)
