"""MediaPipe pose, face detection, face mesh and hands on the astronaut photo."""

from __future__ import annotations

import numpy as np
import pytest

from models import COCO17_KEYPOINTS, FACE_MESH_LEFT_EYE, FACE_MESH_RIGHT_EYE, FaceLandmarks, Hand, Pose


def test_pose_has_17_coco_keypoints(astronaut_pose: Pose) -> None:
    assert tuple(k.name for k in astronaut_pose.keypoints) == COCO17_KEYPOINTS
    assert 0.0 < astronaut_pose.score <= 1.0
    assert astronaut_pose.box is None


def test_pose_keypoints_are_anatomically_plausible(astronaut_pose: Pose) -> None:
    nose = astronaut_pose.get("nose", min_score=0.9)
    left_shoulder = astronaut_pose.get("left_shoulder", min_score=0.9)
    right_shoulder = astronaut_pose.get("right_shoulder", min_score=0.9)
    assert nose and left_shoulder and right_shoulder
    assert nose.y < left_shoulder.y and nose.y < right_shoulder.y
    # Hips are out of frame (low visibility) but their predicted positions must still be below the shoulders.
    for hip in ("left_hip", "right_hip"):
        assert astronaut_pose.get(hip).y > max(left_shoulder.y, right_shoulder.y) + 100
    # She faces the camera: her left side is on the right of the image.
    for part in ("eye", "ear", "shoulder"):
        assert astronaut_pose.get(f"left_{part}").x > astronaut_pose.get(f"right_{part}").x
    assert 80 < left_shoulder.x - right_shoulder.x < 300


def test_pose_nose_inside_the_person_box(astronaut_pose: Pose, astronaut_person) -> None:
    nose = astronaut_pose.get("nose")
    assert astronaut_person.box.contains(nose.x, nose.y)


def test_pose_get_rejects_unknown_names_and_hides_low_scores(astronaut_pose: Pose) -> None:
    with pytest.raises(ValueError, match="unknown keypoint"):
        astronaut_pose.get("left_sholder")
    ankle = astronaut_pose.get("left_ankle")
    assert ankle is not None and ankle.score < 0.5
    assert astronaut_pose.get("left_ankle", min_score=0.5) is None


def test_pose_on_a_blank_image_is_empty(mp_pose) -> None:
    assert mp_pose.estimate(np.full((256, 256, 3), 128, np.uint8)) == ()


def test_one_face_containing_the_nose(astronaut_face, astronaut_pose: Pose) -> None:
    nose = astronaut_pose.get("nose")
    assert astronaut_face.score > 0.7
    assert astronaut_face.box.contains(nose.x, nose.y)
    # The face detector's eyes agree with the pose model's, within a few pixels (independent models).
    for side in ("left_eye", "right_eye"):
        face_eye, pose_eye = astronaut_face.get(side), astronaut_pose.get(side)
        assert np.hypot(face_eye.x - pose_eye.x, face_eye.y - pose_eye.y) < 10


def _face_crop(astronaut, face):
    x1, y1, x2, y2 = face.box.expand(1.5).clip(astronaut.shape[1], astronaut.shape[0]).to_int()
    return astronaut[y1:y2, x1:x2], x1, y1


def test_face_mesh_on_the_face_crop(face_mesher, astronaut, astronaut_face) -> None:
    crop, x0, y0 = _face_crop(astronaut, astronaut_face)
    mesh = face_mesher.mesh(crop)
    assert isinstance(mesh, FaceLandmarks)
    assert mesh.points.shape == (468, 3)
    height, width = crop.shape[:2]
    assert (mesh.points[:, 0] >= 0).all() and (mesh.points[:, 0] <= width).all()
    assert (mesh.points[:, 1] >= 0).all() and (mesh.points[:, 1] <= height).all()

    left, right = mesh.left_eye, mesh.right_eye
    assert left.shape == right.shape == (16, 3)
    nose_tip = mesh.points[1]
    for eye in (left, right):
        assert np.ptp(eye[:, 0]) > 8  # an eye outline, not a collapsed point
        assert eye[:, 1].mean() < nose_tip[1]
    assert left[:, 0].mean() > right[:, 0].mean()  # person's left eye is on the image right

    # Mapped back to the photo, the mesh eyes land on the face detector's eye keypoints.
    full = mesh.offset(x0, y0)
    for eye_points, side in ((full.left_eye, "left_eye"), (full.right_eye, "right_eye")):
        keypoint = astronaut_face.get(side)
        cx, cy = eye_points[:, 0].mean(), eye_points[:, 1].mean()
        assert np.hypot(cx - keypoint.x, cy - keypoint.y) < 12


def test_face_mesh_eye_indices_match_mediapipe() -> None:
    from mediapipe.python.solutions import face_mesh_connections as fmc

    assert set(FACE_MESH_LEFT_EYE) == {i for edge in fmc.FACEMESH_LEFT_EYE for i in edge}
    assert set(FACE_MESH_RIGHT_EYE) == {i for edge in fmc.FACEMESH_RIGHT_EYE for i in edge}


def test_face_mesh_without_a_face_is_none(face_mesher, coffee) -> None:
    assert face_mesher.mesh(coffee) is None


def test_hands_return_typed_results(hands, astronaut) -> None:
    # No bundled photo shows a bare hand (her hands are gloved and out of view), so this checks the runtime
    # loads, runs and returns well-typed values; hand detection itself is not proven here.
    for image in (astronaut, np.full((240, 320, 3), 128, np.uint8)):
        result = hands.detect(image)
        assert isinstance(result, tuple)
        assert all(isinstance(hand, Hand) for hand in result)
    assert hands.detect(np.full((240, 320, 3), 128, np.uint8)) == ()
