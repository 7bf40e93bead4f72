"""Eye aspect ratio and head pitch from MediaPipe face-mesh landmarks (468 points, pixel coordinates)."""
from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# Six landmarks per eye in the order p1..p6 of Soukupova & Cech's eye aspect ratio: corners p1/p4, lids p2,p3 / p6,p5.
LEFT_EYE = (362, 385, 387, 263, 373, 380)
RIGHT_EYE = (33, 160, 158, 133, 153, 144)

# A generic head model (millimetres, x right, y up, z forward) for the landmarks used in the pitch estimate.
_MODEL_POINTS = np.array([
    (0.0, 0.0, 0.0),          # nose tip (1)
    (0.0, -63.6, -12.5),      # chin (152)
    (-43.3, 32.7, -26.0),     # right eye outer corner (33)
    (43.3, 32.7, -26.0),      # left eye outer corner (263)
    (-28.9, -28.9, -24.1),    # right mouth corner (61)
    (28.9, -28.9, -24.1),     # left mouth corner (291)
], dtype=np.float64)
_IMAGE_INDICES = (1, 152, 33, 263, 61, 291)


def eye_aspect_ratio(points: npt.NDArray[Any], eye: tuple[int, ...]) -> float:
    p = points[list(eye), :2].astype(np.float64)
    horizontal = np.linalg.norm(p[0] - p[3])
    if horizontal < 1e-6:
        return 0.0
    vertical = np.linalg.norm(p[1] - p[5]) + np.linalg.norm(p[2] - p[4])
    return float(vertical / (2.0 * horizontal))


def mean_eye_aspect_ratio(points: npt.NDArray[Any]) -> float:
    """Mean EAR of both eyes: about 0.25-0.35 open, below about 0.15 closed (varies per person: normalise in rules)."""
    _check(points)
    return (eye_aspect_ratio(points, LEFT_EYE) + eye_aspect_ratio(points, RIGHT_EYE)) / 2.0


def head_pitch_degrees(points: npt.NDArray[Any], image_width: int, image_height: int) -> float | None:
    """Head pitch from a perspective-n-point fit of a generic head; positive = looking down. None if the fit fails."""
    _check(points)
    image_points = points[list(_IMAGE_INDICES), :2].astype(np.float64)
    focal = float(max(image_width, image_height))
    camera = np.array([[focal, 0, image_width / 2.0], [0, focal, image_height / 2.0], [0, 0, 1]], dtype=np.float64)
    # The model's y axis points up, the image's down: flip the model so the fit does not come out upside down.
    model = _MODEL_POINTS * np.array([1.0, -1.0, -1.0])
    ok, rotation_vector, _ = cv2.solvePnP(model, image_points, camera, np.zeros(4), flags=cv2.SOLVEPNP_ITERATIVE)
    if not ok:
        return None
    rotation, _ = cv2.Rodrigues(rotation_vector)
    # Pitch = rotation about the camera's x axis, from the rotation matrix (x-y-z Euler decomposition).
    pitch = math.degrees(math.atan2(-rotation[2, 1], rotation[2, 2]))
    # Fold into -90..90: a frontal face gives about 0 whichever way solvePnP orients the z axis.
    if pitch > 90:
        pitch -= 180
    elif pitch < -90:
        pitch += 180
    return float(-pitch)


def _check(points: npt.NDArray[Any]) -> None:
    if points.ndim != 2 or points.shape[0] < 468 or points.shape[1] < 2:
        raise ValueError(f"face landmarks must be an array of shape (468, 2 or 3), got {points.shape}")
