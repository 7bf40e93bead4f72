"""MediaPipe face detection (full range) and Face Mesh (468 points on a head crop)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models._mediapipe import QuietStartSolution, check_confidence, mp, to_rgb
from models.base import FaceDetector, FaceMesher, check_bgr
from models.manifest import ModelManifest, Runtime
from models.types import FACE_KEYPOINTS, Box, Face, FaceLandmarks, Keypoint

__all__ = ["MediaPipeFaceDetector", "MediaPipeFaceMesher"]


class MediaPipeFaceDetector(FaceDetector):
    """Faces with six keypoints; keypoints carry the face score (MediaPipe gives none per keypoint)."""

    type = "mediapipe_face_detection"
    runtime = Runtime.mediapipe

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        min_detection_confidence: float = 0.5,
    ) -> None:
        super().__init__(manifest, files)
        self.min_detection_confidence = check_confidence(min_detection_confidence, "min_detection_confidence")
        # model_selection=1 is the full-range model: staff sit 1-3 m from the camera, beyond short range's 2 m.
        self._solution = QuietStartSolution(
            mp.solutions.face_detection.FaceDetection,
            model_selection=1, min_detection_confidence=self.min_detection_confidence)

    def _release(self) -> None:
        self._solution.close()

    def detect(self, image_bgr: npt.NDArray[Any]) -> tuple[Face, ...]:
        check_bgr(image_bgr)
        rgb = to_rgb(image_bgr)
        with self._lock:
            self._ensure_open()
            result = self._solution.process(rgb)
        height, width = image_bgr.shape[:2]
        faces = []
        for detection in result.detections or ():
            score = float(min(max(detection.score[0], 0.0), 1.0))
            rel = detection.location_data.relative_bounding_box
            box = Box(rel.xmin * width, rel.ymin * height, (rel.xmin + rel.width) * width,
                      (rel.ymin + rel.height) * height).clip(width, height)
            keypoints = tuple(
                Keypoint(name, kp.x * width, kp.y * height, score)
                for name, kp in zip(FACE_KEYPOINTS, detection.location_data.relative_keypoints, strict=True)
            )
            faces.append(Face(box=box, score=score, keypoints=keypoints))
        return tuple(sorted(faces, key=lambda face: -face.score))


class MediaPipeFaceMesher(FaceMesher):
    """Face mesh of one face in a head crop; the caller maps points back with ``FaceLandmarks.offset``."""

    type = "mediapipe_face_mesh"
    runtime = Runtime.mediapipe

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        min_detection_confidence: float = 0.5,
    ) -> None:
        super().__init__(manifest, files)
        self.min_detection_confidence = check_confidence(min_detection_confidence, "min_detection_confidence")
        # refine_landmarks=False: the attention model adds iris points and run time that no cue uses.
        self._solution = QuietStartSolution(
            mp.solutions.face_mesh.FaceMesh,
            static_image_mode=True, max_num_faces=1, refine_landmarks=False,
            min_detection_confidence=self.min_detection_confidence)

    def _release(self) -> None:
        self._solution.close()

    def mesh(self, face_crop_bgr: npt.NDArray[Any]) -> FaceLandmarks | None:
        check_bgr(face_crop_bgr, "face_crop_bgr")
        rgb = to_rgb(face_crop_bgr)
        with self._lock:
            self._ensure_open()
            result = self._solution.process(rgb)
        if not result.multi_face_landmarks:
            return None
        height, width = face_crop_bgr.shape[:2]
        landmarks = result.multi_face_landmarks[0].landmark
        points = np.array([(lm.x * width, lm.y * height, lm.z * width) for lm in landmarks], dtype=np.float32)
        return FaceLandmarks(points)
