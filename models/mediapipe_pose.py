"""MediaPipe Pose (BlazePose, model_complexity=1) mapped to the 17 COCO keypoints."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models._mediapipe import QuietStartSolution, check_confidence, mp, to_rgb
from models.base import PoseEstimator, check_bgr
from models.manifest import ModelManifest, Runtime
from models.types import COCO17_KEYPOINTS, Keypoint, Pose

__all__ = ["MEDIAPIPE_TO_COCO17", "MediaPipePoseEstimator"]

# Index of each COCO-17 keypoint among MediaPipe's 33 pose landmarks (both use the person's left/right).
MEDIAPIPE_TO_COCO17: tuple[int, ...] = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)


class MediaPipePoseEstimator(PoseEstimator):
    """One pose per call (MediaPipe tracks a single person); ``Pose.score`` is the mean keypoint visibility,
    because the legacy API exposes no detection score."""

    type = "mediapipe_pose"
    runtime = Runtime.mediapipe

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        min_detection_confidence: float = 0.5,
        model_complexity: int = 1,
    ) -> None:
        super().__init__(manifest, files)
        if model_complexity != 1:
            raise ValueError(
                f"model_complexity must be 1, got {model_complexity!r}: the models for 0 and 2 are not in the "
                "mediapipe wheel and would be downloaded"
            )
        self.min_detection_confidence = check_confidence(min_detection_confidence, "min_detection_confidence")
        self._solution = QuietStartSolution(
            mp.solutions.pose.Pose,
            static_image_mode=True,  # every frame is independent: frames arrive sparsely and from crops
            model_complexity=1,
            enable_segmentation=False,
            min_detection_confidence=self.min_detection_confidence,
        )

    def _release(self) -> None:
        self._solution.close()

    def estimate(self, image_bgr: npt.NDArray[Any]) -> tuple[Pose, ...]:
        check_bgr(image_bgr)
        rgb = to_rgb(image_bgr)
        with self._lock:
            self._ensure_open()
            result = self._solution.process(rgb)
        if result.pose_landmarks is None:
            return ()
        height, width = image_bgr.shape[:2]
        landmarks = result.pose_landmarks.landmark
        keypoints = []
        for name, index in zip(COCO17_KEYPOINTS, MEDIAPIPE_TO_COCO17, strict=True):
            lm = landmarks[index]
            keypoints.append(Keypoint(name, lm.x * width, lm.y * height, min(max(lm.visibility, 0.0), 1.0)))
        score = float(np.mean([k.score for k in keypoints]))
        return (Pose(keypoints=tuple(keypoints), score=score),)
