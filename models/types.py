"""Typed, frozen results returned by every model runtime.

All coordinates are pixels in the frame of the image that was passed to the runtime. Callers that run a model on
a crop map the result back with ``offset(dx, dy)`` (and ``scale(sx, sy)`` when they resized the crop); every
method returns a new value, nothing is mutated. Array fields are stored as read-only float32 copies so that a
frozen value really is frozen.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from models._validate import (
    ArrayValue,
    check_scale as _check_scale,
    finite as _finite,
    read_only_array as _array,
    scaled as _scaled,
    shifted as _shifted,
    unit as _unit,
)

__all__ = [
    "COCO17_KEYPOINTS",
    "FACE_KEYPOINTS",
    "FACE_MESH_LEFT_EYE",
    "FACE_MESH_RIGHT_EYE",
    "Box",
    "Classification",
    "Detection",
    "Face",
    "FaceLandmarks",
    "Hand",
    "Keypoint",
    "Marker",
    "Pose",
    "TextLine",
]

# COCO-17 keypoint order, shared by YOLO-pose and by MediaPipe pose after mapping; "left" is the person's left.
COCO17_KEYPOINTS: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
)
_COCO17_INDEX = {name: i for i, name in enumerate(COCO17_KEYPOINTS)}

# MediaPipe face detection keypoint order; "left"/"right" are the person's sides.
FACE_KEYPOINTS: tuple[str, ...] = (
    "right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion",
)

# Eye contour indices of the 468-point face mesh (MediaPipe FACEMESH_LEFT_EYE / FACEMESH_RIGHT_EYE), copied so
# that reading a result never imports mediapipe. "left" is the person's left eye (right side of the image).
FACE_MESH_LEFT_EYE: tuple[int, ...] = (
    249, 263, 362, 373, 374, 380, 381, 382, 384, 385, 386, 387, 388, 390, 398, 466,
)
FACE_MESH_RIGHT_EYE: tuple[int, ...] = (
    7, 33, 133, 144, 145, 153, 154, 155, 157, 158, 159, 160, 161, 163, 173, 246,
)


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned box in pixels, ``x1 <= x2`` and ``y1 <= y2``."""

    x1: float
    y1: float
    x2: float
    y2: float

    def __post_init__(self) -> None:
        for name in ("x1", "y1", "x2", "y2"):
            object.__setattr__(self, name, _finite(getattr(self, name), f"Box.{name}"))
        if self.x2 < self.x1 or self.y2 < self.y1:
            raise ValueError(f"Box needs x1 <= x2 and y1 <= y2, got ({self.x1}, {self.y1}, {self.x2}, {self.y2})")

    @classmethod
    def from_points(cls, points: npt.NDArray[Any]) -> Box:
        """Smallest box holding (N, >=2) points."""
        pts = np.asarray(points, dtype=np.float64)
        if pts.ndim != 2 or pts.shape[0] == 0 or pts.shape[1] < 2:
            raise ValueError(f"points must have shape (N>0, 2 or 3), got {pts.shape}")
        return cls(pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max())

    @property
    def width(self) -> float:
        return self.x2 - self.x1

    @property
    def height(self) -> float:
        return self.y2 - self.y1

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        return ((self.x1 + self.x2) / 2.0, (self.y1 + self.y2) / 2.0)

    def contains(self, x: float, y: float) -> bool:
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2

    def intersection(self, other: Box) -> float:
        w = min(self.x2, other.x2) - max(self.x1, other.x1)
        h = min(self.y2, other.y2) - max(self.y1, other.y1)
        return max(w, 0.0) * max(h, 0.0)

    def iou(self, other: Box) -> float:
        inter = self.intersection(other)
        union = self.area + other.area - inter
        return inter / union if union > 0 else 0.0

    def clip(self, width: float, height: float) -> Box:
        """Clip to an image of ``width`` x ``height`` pixels."""
        return Box(
            min(max(self.x1, 0.0), width), min(max(self.y1, 0.0), height),
            min(max(self.x2, 0.0), width), min(max(self.y2, 0.0), height),
        )

    def expand(self, factor: float) -> Box:
        """Grow (or shrink) about the centre, e.g. ``expand(2.5)`` for a window crop around the staff box."""
        factor = _finite(factor, "factor")
        if factor <= 0:
            raise ValueError(f"factor must be > 0, got {factor}")
        cx, cy = self.center
        hw, hh = self.width * factor / 2.0, self.height * factor / 2.0
        return Box(cx - hw, cy - hh, cx + hw, cy + hh)

    def offset(self, dx: float, dy: float) -> Box:
        return Box(self.x1 + dx, self.y1 + dy, self.x2 + dx, self.y2 + dy)

    def scale(self, sx: float, sy: float | None = None) -> Box:
        sx, sy = _check_scale(sx, sy)
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)

    def to_int(self) -> tuple[int, int, int, int]:
        """Integer pixel bounds (floor of the start, ceil of the end) for slicing ``image[y1:y2, x1:x2]``."""
        return (math.floor(self.x1), math.floor(self.y1), math.ceil(self.x2), math.ceil(self.y2))


@dataclass(frozen=True, slots=True)
class Detection:
    """One object found by an object detector; ``class_id`` is the model's own id, ``label`` its name."""

    label: str
    class_id: int
    score: float
    box: Box

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise ValueError(f"Detection.label must be a non-empty str, got {self.label!r}")
        if isinstance(self.class_id, bool) or not isinstance(self.class_id, (int, np.integer)) or self.class_id < 0:
            raise ValueError(f"Detection.class_id must be an int >= 0, got {self.class_id!r}")
        object.__setattr__(self, "class_id", int(self.class_id))
        object.__setattr__(self, "score", _unit(self.score, "Detection.score"))
        if not isinstance(self.box, Box):
            raise ValueError(f"Detection.box must be a Box, got {type(self.box).__name__}")

    def offset(self, dx: float, dy: float) -> Detection:
        return Detection(self.label, self.class_id, self.score, self.box.offset(dx, dy))

    def scale(self, sx: float, sy: float | None = None) -> Detection:
        return Detection(self.label, self.class_id, self.score, self.box.scale(sx, sy))


@dataclass(frozen=True, slots=True)
class Classification:
    """One image-level class score from an image classifier."""

    label: str
    class_id: int
    score: float

    def __post_init__(self) -> None:
        if not isinstance(self.label, str) or not self.label:
            raise ValueError(f"Classification.label must be a non-empty str, got {self.label!r}")
        if isinstance(self.class_id, bool) or not isinstance(self.class_id, (int, np.integer)) or self.class_id < 0:
            raise ValueError(f"Classification.class_id must be an int >= 0, got {self.class_id!r}")
        object.__setattr__(self, "class_id", int(self.class_id))
        object.__setattr__(self, "score", _unit(self.score, "Classification.score"))


@dataclass(frozen=True, slots=True)
class Keypoint:
    """A named point in pixels; ``score`` is the model's confidence that the point is visible (0..1).

    Keypoints may lie outside the image: pose models guess occluded joints, with a low score.
    """

    name: str
    x: float
    y: float
    score: float

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Keypoint.name must be a non-empty str, got {self.name!r}")
        object.__setattr__(self, "x", _finite(self.x, "Keypoint.x"))
        object.__setattr__(self, "y", _finite(self.y, "Keypoint.y"))
        object.__setattr__(self, "score", _unit(self.score, "Keypoint.score"))

    def offset(self, dx: float, dy: float) -> Keypoint:
        return Keypoint(self.name, self.x + dx, self.y + dy, self.score)

    def scale(self, sx: float, sy: float | None = None) -> Keypoint:
        sx, sy = _check_scale(sx, sy)
        return Keypoint(self.name, self.x * sx, self.y * sy, self.score)


@dataclass(frozen=True, slots=True)
class Pose:
    """One person's 17 COCO keypoints, always all 17 in ``COCO17_KEYPOINTS`` order.

    ``box`` is the person box when the model gives one (YOLO-pose), else ``None`` (MediaPipe).
    """

    keypoints: tuple[Keypoint, ...]
    score: float
    box: Box | None = None

    def __post_init__(self) -> None:
        keypoints = tuple(self.keypoints)
        names = tuple(getattr(k, "name", None) for k in keypoints)
        if names != COCO17_KEYPOINTS or not all(isinstance(k, Keypoint) for k in keypoints):
            raise ValueError(f"Pose.keypoints must be 17 Keypoints named {COCO17_KEYPOINTS} in order, got {names}")
        object.__setattr__(self, "keypoints", keypoints)
        object.__setattr__(self, "score", _unit(self.score, "Pose.score"))
        if self.box is not None and not isinstance(self.box, Box):
            raise ValueError(f"Pose.box must be a Box or None, got {type(self.box).__name__}")

    def get(self, name: str, min_score: float = 0.0) -> Keypoint | None:
        """The keypoint called ``name``, or ``None`` when its score is below ``min_score``.

        An unknown name raises ValueError: a typo must not read as "not visible".
        """
        index = _COCO17_INDEX.get(name)
        if index is None:
            raise ValueError(f"unknown keypoint name {name!r}; expected one of {COCO17_KEYPOINTS}")
        keypoint = self.keypoints[index]
        return keypoint if keypoint.score >= min_score else None

    def offset(self, dx: float, dy: float) -> Pose:
        box = None if self.box is None else self.box.offset(dx, dy)
        return Pose(tuple(k.offset(dx, dy) for k in self.keypoints), self.score, box)

    def scale(self, sx: float, sy: float | None = None) -> Pose:
        box = None if self.box is None else self.box.scale(sx, sy)
        return Pose(tuple(k.scale(sx, sy) for k in self.keypoints), self.score, box)


@dataclass(frozen=True, slots=True)
class Face:
    """A detected face: box, score and the six ``FACE_KEYPOINTS`` in that order."""

    box: Box
    score: float
    keypoints: tuple[Keypoint, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.box, Box):
            raise ValueError(f"Face.box must be a Box, got {type(self.box).__name__}")
        object.__setattr__(self, "score", _unit(self.score, "Face.score"))
        keypoints = tuple(self.keypoints)
        names = tuple(getattr(k, "name", None) for k in keypoints)
        if names != FACE_KEYPOINTS or not all(isinstance(k, Keypoint) for k in keypoints):
            raise ValueError(f"Face.keypoints must be 6 Keypoints named {FACE_KEYPOINTS} in order, got {names}")
        object.__setattr__(self, "keypoints", keypoints)

    def get(self, name: str) -> Keypoint:
        if name not in FACE_KEYPOINTS:
            raise ValueError(f"unknown face keypoint name {name!r}; expected one of {FACE_KEYPOINTS}")
        return self.keypoints[FACE_KEYPOINTS.index(name)]

    def offset(self, dx: float, dy: float) -> Face:
        return Face(self.box.offset(dx, dy), self.score, tuple(k.offset(dx, dy) for k in self.keypoints))

    def scale(self, sx: float, sy: float | None = None) -> Face:
        return Face(self.box.scale(sx, sy), self.score, tuple(k.scale(sx, sy) for k in self.keypoints))


@dataclass(frozen=True, eq=False, slots=True)
class FaceLandmarks(ArrayValue):
    """The 468-point face mesh, (468, 3) pixels: x, y and a relative depth on the x scale (smaller is nearer)."""

    points: npt.NDArray[Any] = field(repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "points", _array(self.points, (468, 3), "FaceLandmarks.points"))

    @property
    def box(self) -> Box:
        return Box.from_points(self.points)

    @property
    def left_eye(self) -> npt.NDArray[Any]:
        """(16, 3) contour of the person's left eye."""
        return self.points[list(FACE_MESH_LEFT_EYE)]

    @property
    def right_eye(self) -> npt.NDArray[Any]:
        """(16, 3) contour of the person's right eye."""
        return self.points[list(FACE_MESH_RIGHT_EYE)]

    def offset(self, dx: float, dy: float) -> FaceLandmarks:
        return FaceLandmarks(_shifted(self.points, dx, dy))

    def scale(self, sx: float, sy: float | None = None) -> FaceLandmarks:
        sx, sy = _check_scale(sx, sy)
        return FaceLandmarks(_scaled(self.points, sx, sy))


@dataclass(frozen=True, eq=False, slots=True)
class Hand(ArrayValue):
    """21 MediaPipe hand landmarks, (21, 3) pixels; ``handedness`` is the person's "left" or "right" hand."""

    landmarks: npt.NDArray[Any] = field(repr=False)
    handedness: str
    score: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "landmarks", _array(self.landmarks, (21, 3), "Hand.landmarks"))
        if self.handedness not in ("left", "right"):
            raise ValueError(f"Hand.handedness must be 'left' or 'right', got {self.handedness!r}")
        object.__setattr__(self, "score", _unit(self.score, "Hand.score"))

    @property
    def box(self) -> Box:
        return Box.from_points(self.landmarks)

    @property
    def wrist(self) -> tuple[float, float]:
        return (float(self.landmarks[0, 0]), float(self.landmarks[0, 1]))

    def offset(self, dx: float, dy: float) -> Hand:
        return Hand(_shifted(self.landmarks, dx, dy), self.handedness, self.score)

    def scale(self, sx: float, sy: float | None = None) -> Hand:
        sx, sy = _check_scale(sx, sy)
        return Hand(_scaled(self.landmarks, sx, sy), self.handedness, self.score)


@dataclass(frozen=True, eq=False, slots=True)
class Marker(ArrayValue):
    """A fiducial marker: id and its 4 corners (4, 2) in the marker's own order (top-left first, clockwise)."""

    marker_id: int
    corners: npt.NDArray[Any] = field(repr=False)

    def __post_init__(self) -> None:
        if isinstance(self.marker_id, bool) or not isinstance(self.marker_id, (int, np.integer)) or self.marker_id < 0:
            raise ValueError(f"Marker.marker_id must be an int >= 0, got {self.marker_id!r}")
        object.__setattr__(self, "marker_id", int(self.marker_id))
        object.__setattr__(self, "corners", _array(self.corners, (4, 2), "Marker.corners"))

    @property
    def center(self) -> tuple[float, float]:
        cx, cy = self.corners.mean(axis=0)
        return (float(cx), float(cy))

    @property
    def box(self) -> Box:
        return Box.from_points(self.corners)

    @property
    def side_px(self) -> float:
        """Mean side length: how large the marker appears, for "is the sign readable" checks."""
        sides = np.linalg.norm(self.corners - np.roll(self.corners, -1, axis=0), axis=1)
        return float(sides.mean())

    def offset(self, dx: float, dy: float) -> Marker:
        return Marker(self.marker_id, _shifted(self.corners, dx, dy))

    def scale(self, sx: float, sy: float | None = None) -> Marker:
        sx, sy = _check_scale(sx, sy)
        return Marker(self.marker_id, _scaled(self.corners, sx, sy))


@dataclass(frozen=True, eq=False, slots=True)
class TextLine(ArrayValue):
    """One line of recognised text with its quadrilateral (4, 2): top-left, top-right, bottom-right, bottom-left."""

    text: str
    score: float
    polygon: npt.NDArray[Any] = field(repr=False)

    def __post_init__(self) -> None:
        if not isinstance(self.text, str):
            raise ValueError(f"TextLine.text must be a str, got {type(self.text).__name__}")
        object.__setattr__(self, "score", _unit(self.score, "TextLine.score"))
        object.__setattr__(self, "polygon", _array(self.polygon, (4, 2), "TextLine.polygon"))

    @property
    def box(self) -> Box:
        return Box.from_points(self.polygon)

    def offset(self, dx: float, dy: float) -> TextLine:
        return TextLine(self.text, self.score, _shifted(self.polygon, dx, dy))

    def scale(self, sx: float, sy: float | None = None) -> TextLine:
        sx, sy = _check_scale(sx, sy)
        return TextLine(self.text, self.score, _scaled(self.polygon, sx, sy))
