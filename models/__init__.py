"""Offline models for counterwatch: manifests, verified loading and typed inference results.

This package knows nothing of halls, windows or rules: it finds model files, checks their sha256, constructs a
runtime and returns frozen values in the pixel frame of the image it was given.
"""

from __future__ import annotations

from typing import Any

from models.base import (
    FaceDetector,
    FaceMesher,
    HandLandmarker,
    ImageClassifier,
    MarkerDetector,
    ModelRuntime,
    ObjectDetector,
    PoseEstimator,
    TextReader,
)
from models.errors import ModelError
from models.manifest import ModelManifest, check_files, class_names, load_manifests, resolve_files
from models.registry import load_model, register_runtime, runtime_types
from models.types import (
    COCO17_KEYPOINTS,
    FACE_KEYPOINTS,
    FACE_MESH_LEFT_EYE,
    FACE_MESH_RIGHT_EYE,
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

__all__ = [
    "COCO17_KEYPOINTS",
    "FACE_KEYPOINTS",
    "FACE_MESH_LEFT_EYE",
    "FACE_MESH_RIGHT_EYE",
    "Box",
    "Classification",
    "Detection",
    "Face",
    "FaceDetector",
    "FaceLandmarks",
    "FaceMesher",
    "Hand",
    "HandLandmarker",
    "ImageClassifier",
    "Keypoint",
    "Marker",
    "MarkerDetector",
    "ModelError",
    "ModelManifest",
    "ModelRuntime",
    "ObjectDetector",
    "Pose",
    "PoseEstimator",
    "TextLine",
    "TextReader",
    "check_files",
    "class_names",
    "load_manifests",
    "load_model",
    "register_runtime",
    "render_marker",
    "resolve_files",
    "runtime_types",
]


def __getattr__(name: str) -> Any:
    # cv2.aruco is only needed by callers that render signs.
    if name == "render_marker":
        from models.markers import render_marker

        return render_marker
    raise AttributeError(f"module 'models' has no attribute {name!r}")
