"""Light, scripted stand-ins for the model runtimes (models/base.py), for unit tests of the perception cascade.

Every fake is a real subclass of its ABC, built on a minimal test manifest (no files), validates its input image the
way the real runtimes do (check_bgr), refuses calls once closed, and records each call (the image's shape, the
keyword options, what it returned). Results are in the pixels of the image the fake was given, as the ABCs promise:

- a fixed result (returned on every call), a `Sequenced` list (one result per call) or any callable of the image;
- `Painted`: the "detector" finds solid rectangles of given colours in the image it is handed, so one painted scene
  gives consistent boxes on every crop the cascade cuts (window crops, crops around a person, upscaled or not);
- pose, face, face mesh and hands are laid out in fractions of the crop they are given (the cascade hands them a
  crop around one person or one head), or in absolute crop pixels.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np

from cameras.frame import Frame
from models.base import (
    FaceDetector,
    FaceMesher,
    HandLandmarker,
    ImageClassifier,
    MarkerDetector,
    ObjectDetector,
    PoseEstimator,
    TextReader,
    check_bgr,
)
from models.manifest import ModelManifest, Runtime, Task
from models.types import (
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
from vision.cascade import CascadeModels
from vision.face_geometry import LEFT_EYE, RIGHT_EYE

GREY = (100, 100, 100)  # the empty scene
PERSON = (60, 140, 200)  # BGR colours the Painted detector is told about
PERSON_2 = (200, 140, 60)
PERSON_3 = (60, 200, 60)
CUP = (30, 30, 220)
LAPTOP = (220, 220, 220)
CHAIR = (20, 20, 20)  # never reported: moving it is motion without a detection

# Relative layouts (fractions of the pose crop: the person box grown by 10% on each side, so the person spans
# about 0.08..0.92 of it). Image y grows downwards: a raised wrist has a smaller y than the shoulders.
UPRIGHT = {
    "nose": (0.5, 0.2), "left_eye": (0.55, 0.17), "right_eye": (0.45, 0.17), "left_ear": (0.6, 0.19),
    "right_ear": (0.4, 0.19), "left_shoulder": (0.7, 0.35), "right_shoulder": (0.3, 0.35),
    "left_elbow": (0.75, 0.55), "right_elbow": (0.25, 0.55), "left_wrist": (0.7, 0.7), "right_wrist": (0.3, 0.7),
    "left_hip": (0.62, 0.8), "right_hip": (0.38, 0.8),
}
WRIST_RAISED = dict(UPRIGHT, left_elbow=(0.8, 0.35), left_wrist=(0.68, 0.22))

Script = Any  # a fixed sequence of results, a Sequenced, or a callable(image) -> iterable of results


def fake_manifest(name: str, task: Task) -> ModelManifest:
    """A valid manifest with no files: ModelRuntime's constructor then takes an empty file list."""
    return ModelManifest(name=name, task=task, runtime=Runtime.onnxruntime, type="fake", licence="test only")


@dataclass
class Call:
    shape: tuple[int, ...]
    options: dict[str, Any]
    result: Any = None
    image: np.ndarray | None = field(default=None, repr=False)


class Sequenced:
    """One scripted result per call, in order; `after` once the list is used up."""

    def __init__(self, *results: Iterable, after: Iterable = ()) -> None:
        self._results = [tuple(r) for r in results]
        self._after = tuple(after)
        self._next = 0

    def __call__(self, image: np.ndarray) -> tuple:
        self._next += 1
        return self._results[self._next - 1] if self._next <= len(self._results) else self._after


def _run(script: Script, image: np.ndarray) -> tuple:
    if script is None:
        return ()
    return tuple(script(image) if callable(script) else script)


class _Recorder:
    """Mixin for the fakes: validate, refuse when closed, record."""

    calls: list[Call]

    def _record(self, image: np.ndarray, result: Any, **options: Any) -> Any:
        check_bgr(image)
        with self._lock:  # type: ignore[attr-defined]
            self._ensure_open()  # type: ignore[attr-defined]
            self.calls.append(Call(image.shape, options, result, image))
        return result

    @property
    def call_count(self) -> int:
        return len(self.calls)


class Painted:
    """A detector's eyes: connected areas of each given colour (within `tolerance` per channel) become detections,
    boxes in the pixels of the image handed in. `{colour: (label, score)}`."""

    def __init__(self, colours: Mapping[tuple[int, int, int], tuple[str, float]], *, tolerance: int = 12,
                 min_area: int = 20) -> None:
        self._colours = dict(colours)
        self._tolerance = tolerance
        self._min_area = min_area

    def __call__(self, image: np.ndarray) -> tuple[Detection, ...]:
        found = []
        for class_id, (colour, (label, score)) in enumerate(self._colours.items()):
            low = np.clip(np.array(colour) - self._tolerance, 0, 255).astype(np.uint8)
            high = np.clip(np.array(colour) + self._tolerance, 0, 255).astype(np.uint8)
            mask = cv2.inRange(image, low, high)
            if not cv2.countNonZero(mask):
                continue
            count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=4)
            for x, y, w, h, area in stats[1:count]:
                if area >= self._min_area:
                    found.append(Detection(label, class_id, score, Box(float(x), float(y), float(x + w), float(y + h))))
        return tuple(found)


class FakeDetector(_Recorder, ObjectDetector):
    type = "fake_detector"
    runtime = Runtime.onnxruntime

    def __init__(self, script: Script = (), *, name: str = "fake_detector") -> None:
        super().__init__(fake_manifest(name, Task.object_detection), ())
        self.script = script
        self.calls = []

    def detect(self, image_bgr: np.ndarray, *, min_score: float) -> tuple[Detection, ...]:
        found = [d for d in _run(self.script, image_bgr) if d.score >= min_score]
        return self._record(image_bgr, tuple(sorted(found, key=lambda d: -d.score)), min_score=min_score)


def make_pose(points: Mapping[str, tuple[float, float]], *, score: float = 0.9, keypoint_score: float = 0.9) -> Pose:
    """A Pose with the named keypoints at the given pixels; the others unseen (score 0)."""
    unknown = set(points) - set(COCO17_KEYPOINTS)
    if unknown:
        raise ValueError(f"unknown keypoints {sorted(unknown)}")
    return Pose(tuple(Keypoint(name, *points[name], keypoint_score) if name in points else Keypoint(name, 0.0, 0.0, 0.0)
                      for name in COCO17_KEYPOINTS), score)


class FakePose(_Recorder, PoseEstimator):
    """`layout`: {keypoint: (fx, fy)} in fractions of the crop (relative=True) or in crop pixels; None: no pose."""

    type = "fake_pose"
    runtime = Runtime.mediapipe

    def __init__(self, layout: Mapping[str, tuple[float, float]] | None = UPRIGHT, *, relative: bool = True,
                 score: float = 0.9) -> None:
        super().__init__(fake_manifest("fake_pose", Task.pose), ())
        self.layout, self.relative, self.score = layout, relative, score
        self.calls = []

    def estimate(self, image_bgr: np.ndarray) -> tuple[Pose, ...]:
        if self.layout is None:
            return self._record(image_bgr, ())
        height, width = image_bgr.shape[:2]
        sx, sy = (width, height) if self.relative else (1.0, 1.0)
        points = {name: (fx * sx, fy * sy) for name, (fx, fy) in self.layout.items()}
        return self._record(image_bgr, (make_pose(points, score=self.score),))


class FakeFaceDetector(_Recorder, FaceDetector):
    """One face whose box is `box` in fractions of the head crop (None: no face)."""

    type = "fake_face"
    runtime = Runtime.mediapipe

    def __init__(self, box: tuple[float, float, float, float] | None = (0.25, 0.2, 0.75, 0.8),
                 score: float = 0.9) -> None:
        super().__init__(fake_manifest("fake_face", Task.face_detection), ())
        self.box, self.score = box, score
        self.calls = []

    def detect(self, image_bgr: np.ndarray) -> tuple[Face, ...]:
        if self.box is None:
            return self._record(image_bgr, ())
        height, width = image_bgr.shape[:2]
        x1, y1, x2, y2 = self.box[0] * width, self.box[1] * height, self.box[2] * width, self.box[3] * height
        w, h = x2 - x1, y2 - y1
        spots = {"right_eye": (0.35, 0.4), "left_eye": (0.65, 0.4), "nose_tip": (0.5, 0.55),
                 "mouth_center": (0.5, 0.75), "right_ear_tragion": (0.05, 0.5), "left_ear_tragion": (0.95, 0.5)}
        keypoints = tuple(Keypoint(n, x1 + spots[n][0] * w, y1 + spots[n][1] * h, 0.9) for n in FACE_KEYPOINTS)
        return self._record(image_bgr, (Face(Box(x1, y1, x2, y2), self.score, keypoints),))


class FakeFaceMesher(_Recorder, FaceMesher):
    """A 468-point mesh whose eyes have aspect ratio `ear` (None: no face found)."""

    type = "fake_mesh"
    runtime = Runtime.mediapipe

    def __init__(self, ear: float | None = 0.3) -> None:
        super().__init__(fake_manifest("fake_mesh", Task.face_landmarks), ())
        self.ear = ear
        self.calls = []

    def mesh(self, face_crop_bgr: np.ndarray) -> FaceLandmarks | None:
        if self.ear is None:
            return self._record(face_crop_bgr, None)
        height, width = face_crop_bgr.shape[:2]
        side = float(min(width, height))
        rng = np.random.default_rng(0)
        points = np.column_stack([rng.uniform(0.2, 0.8, 468) * width, rng.uniform(0.2, 0.8, 468) * height,
                                  np.zeros(468)])
        for eye, cx in ((RIGHT_EYE, 0.35 * width), (LEFT_EYE, 0.65 * width)):
            half, lid = 0.1 * side, 0.1 * side * self.ear  # corners 0.2 * side apart, lids ear * that apart
            p1, p2, p3, p4, p5, p6 = eye
            cy = 0.4 * height
            points[p1, :2], points[p4, :2] = (cx - half, cy), (cx + half, cy)
            points[p2, :2], points[p3, :2] = (cx - half / 2, cy - lid), (cx + half / 2, cy - lid)
            points[p6, :2], points[p5, :2] = (cx - half / 2, cy + lid), (cx + half / 2, cy + lid)
        return self._record(face_crop_bgr, FaceLandmarks(points))


class FakeHands(_Recorder, HandLandmarker):
    """`hands`: (handedness, (fx, fy)) per hand, 21 landmarks spread around that point of the crop."""

    type = "fake_hands"
    runtime = Runtime.mediapipe

    def __init__(self, hands: Sequence[tuple[str, tuple[float, float]]] = (("right", (0.3, 0.7)),)) -> None:
        super().__init__(fake_manifest("fake_hands", Task.hand_landmarks), ())
        self.hands = tuple(hands)
        self.calls = []

    def detect(self, image_bgr: np.ndarray) -> tuple[Hand, ...]:
        height, width = image_bgr.shape[:2]
        angles = np.linspace(0.0, 2.0 * np.pi, 21, endpoint=False)
        radius = 0.05 * min(width, height)
        found = tuple(Hand(np.column_stack([fx * width + radius * np.cos(angles), fy * height + radius * np.sin(angles),
                                            np.zeros(21)]), handedness, 0.9)
                      for handedness, (fx, fy) in self.hands)
        return self._record(image_bgr, found)


class FakeMarker(_Recorder, MarkerDetector):
    """Sees the markers `ids` (the same on every crop), each a square in the middle of the crop."""

    type = "fake_marker"
    runtime = Runtime.cv2_aruco

    def __init__(self, ids: Iterable[int] = ()) -> None:
        super().__init__(fake_manifest("fake_marker", Task.marker_detection), ())
        self.ids = tuple(sorted(ids))
        self.calls = []

    def detect(self, image_bgr: np.ndarray) -> tuple[Marker, ...]:
        height, width = image_bgr.shape[:2]
        cx, cy, half = width / 2.0, height / 2.0, min(width, height) / 4.0
        corners = np.array([[cx - half, cy - half], [cx + half, cy - half], [cx + half, cy + half],
                            [cx - half, cy + half]])
        return self._record(image_bgr, tuple(Marker(i, corners) for i in self.ids))


class FakeTextReader(_Recorder, TextReader):
    type = "fake_ocr"
    runtime = Runtime.rapidocr

    def __init__(self, text: str = "本窗口暂停办理业务") -> None:
        super().__init__(fake_manifest("fake_ocr", Task.text_recognition), ())
        self.text = text
        self.calls = []

    def read(self, image_bgr: np.ndarray) -> tuple[TextLine, ...]:
        height, width = image_bgr.shape[:2]
        polygon = np.array([[0.0, 0.0], [width, 0.0], [width, height / 2.0], [0.0, height / 2.0]])
        return self._record(image_bgr, (TextLine(self.text, 0.9, polygon),) if self.text else ())


class FakeClassifier(_Recorder, ImageClassifier):
    """Every image gets the same `{class_id: score}`; embed() is a fixed vector."""

    type = "fake_classifier"
    runtime = Runtime.litert

    def __init__(self, scores: Mapping[int, float] | None = None) -> None:
        super().__init__(fake_manifest("fake_classifier", Task.image_classification), ())
        self.scores = {487: 0.04} if scores is None else dict(scores)  # 487: ImageNet "cellular telephone"
        self.calls = []

    def classify(self, image_bgr: np.ndarray, *, top_k: int = 5) -> tuple[Classification, ...]:
        ranked = sorted(self.scores.items(), key=lambda item: -item[1])[:top_k]
        return self._record(image_bgr, tuple(Classification(f"class_{i}", i, s) for i, s in ranked), top_k=top_k)

    def embed(self, image_bgr: np.ndarray) -> np.ndarray:
        return self._record(image_bgr, np.zeros(8, np.float32))


def fake_models(**overrides: Any) -> CascadeModels:
    """CascadeModels of fakes: a Painted detector that sees PERSON, an upright pose, a face and its mesh, one hand,
    no marker, no OCR, no phone classifier, no second person detector; pass fields to replace any of them."""
    models: dict[str, Any] = dict(
        detector=FakeDetector(Painted({PERSON: ("person", 0.9), CUP: ("cup", 0.8)})), pose=FakePose(),
        face_detector=FakeFaceDetector(), face_mesh=FakeFaceMesher(), hands=FakeHands(), marker=FakeMarker(),
        text_reader=None, phone_classifier=None, person_detector=None)
    models.update(overrides)
    return CascadeModels(**models)


def scene(*boxes: tuple[tuple[float, float, float, float], tuple[int, int, int]], width: int = 640,
          height: int = 360) -> np.ndarray:
    """A solid GREY image with solid rectangles ((x1, y1, x2, y2), colour) painted on it, in frame pixels."""
    image = np.full((height, width, 3), GREY, np.uint8)
    for (x1, y1, x2, y2), colour in boxes:
        image[int(y1):int(y2), int(x1):int(x2)] = colour
    return image


WALL_TIME = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def frame(image: np.ndarray, ts: float = 0.0, index: int = 0, camera_id: str = "cam") -> Frame:
    return Frame(camera_id, index, ts, WALL_TIME, image)


def model_names(timings: Iterable[tuple[str, float]]) -> list[str]:
    return [name for name, _ in timings]

