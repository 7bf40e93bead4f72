"""The runtime plugin points: one small ABC per task.

A runtime instance owns its native resources (a cv2 net, an onnxruntime session, a MediaPipe graph). MediaPipe
graphs are not thread-safe, so every runtime serialises its own calls with a lock; use one instance per worker
thread for parallelism. ``close()`` frees native resources; instances are context managers.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from models.errors import ModelError
from models.manifest import ModelManifest, Runtime, Task
from models.types import Classification, Detection, Face, FaceLandmarks, Hand, Marker, Pose, TextLine

__all__ = [
    "FaceDetector",
    "FaceMesher",
    "HandLandmarker",
    "ImageClassifier",
    "MarkerDetector",
    "ModelRuntime",
    "ObjectDetector",
    "PoseEstimator",
    "TextReader",
    "check_bgr",
]


def check_bgr(image: Any, name: str = "image_bgr") -> npt.NDArray[Any]:
    """Validate an 8-bit BGR image (H, W, 3); returns it unchanged."""
    if not isinstance(image, np.ndarray):
        raise ValueError(f"{name} must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3 or image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"{name} must have shape (H, W, 3) BGR, got {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"{name} must be uint8, got {image.dtype}")
    return image


class ModelRuntime(ABC):
    """Base of every runtime: knows its manifest and file paths, closes once, serialises calls."""

    type: ClassVar[str]
    task: ClassVar[Task]
    runtime: ClassVar[Runtime]

    def __init__(self, manifest: ModelManifest, files: Sequence[Path]) -> None:
        if len(files) != len(manifest.files):
            raise ValueError(f"files must hold {len(manifest.files)} paths for {manifest.name!r}, got {len(files)}")
        self.manifest = manifest
        self._files = {entry.role: Path(path) for entry, path in zip(manifest.files, files, strict=True)}
        self._lock = threading.Lock()
        self._closed = False

    @property
    def name(self) -> str:
        return self.manifest.name

    def file(self, role: str) -> Path:
        try:
            return self._files[role]
        except KeyError:
            raise ModelError(self.name, f"manifest has no file with role {role!r} (has {sorted(self._files)})",
                             f"add it to manifest {self.name!r}") from None

    def _ensure_open(self) -> None:
        if self._closed:
            raise ModelError(self.name, "runtime is closed", "load the model again with load_model()")

    def _release(self) -> None:  # noqa: B027 - an optional hook: runtimes without native resources keep the no-op
        """Free native resources; subclasses override. Called at most once, under the lock."""

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._release()

    def __enter__(self) -> ModelRuntime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{type(self).__name__} {self.name!r} ({state})>"


class ObjectDetector(ModelRuntime):
    task = Task.object_detection

    @abstractmethod
    def detect(self, image_bgr: npt.NDArray[Any], *, min_score: float) -> tuple[Detection, ...]:
        """Objects in the image, best score first, boxes in image pixels."""


class PoseEstimator(ModelRuntime):
    task = Task.pose

    @abstractmethod
    def estimate(self, image_bgr: npt.NDArray[Any]) -> tuple[Pose, ...]:
        """Poses of the people in the image (MediaPipe: at most one), best score first."""


class FaceDetector(ModelRuntime):
    task = Task.face_detection

    @abstractmethod
    def detect(self, image_bgr: npt.NDArray[Any]) -> tuple[Face, ...]:
        """Faces in the image, best score first."""


class FaceMesher(ModelRuntime):
    task = Task.face_landmarks

    @abstractmethod
    def mesh(self, face_crop_bgr: npt.NDArray[Any]) -> FaceLandmarks | None:
        """The face mesh of the (single) face in a head crop, or None when no face is found."""


class HandLandmarker(ModelRuntime):
    task = Task.hand_landmarks

    @abstractmethod
    def detect(self, image_bgr: npt.NDArray[Any]) -> tuple[Hand, ...]:
        """Hands in the image, best score first."""


class MarkerDetector(ModelRuntime):
    task = Task.marker_detection

    @abstractmethod
    def detect(self, image_bgr: npt.NDArray[Any]) -> tuple[Marker, ...]:
        """Markers in the image, sorted by id."""


class TextReader(ModelRuntime):
    task = Task.text_recognition

    @abstractmethod
    def read(self, image_bgr: npt.NDArray[Any]) -> tuple[TextLine, ...]:
        """Text lines, top to bottom then left to right."""


class ImageClassifier(ModelRuntime):
    task = Task.image_classification

    @abstractmethod
    def classify(self, image_bgr: npt.NDArray[Any], *, top_k: int = 5) -> tuple[Classification, ...]:
        """The ``top_k`` classes of the whole image, best first."""

    @abstractmethod
    def embed(self, image_bgr: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """A 1-d float32 feature vector of the image, for small learned heads."""
