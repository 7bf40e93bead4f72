"""MediaPipe Hands (lite models, model_complexity=0)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from models._mediapipe import QuietStartSolution, check_confidence, mp, to_rgb
from models.base import HandLandmarker, check_bgr
from models.manifest import ModelManifest, Runtime
from models.types import Hand

__all__ = ["MediaPipeHandLandmarker"]

_SWAP = {"left": "right", "right": "left"}


class MediaPipeHandLandmarker(HandLandmarker):
    """Hands with 21 landmarks.

    MediaPipe labels handedness as if the image were a mirrored selfie; hall cameras are not mirrored, so by
    default the label is swapped to give the person's own left/right (``mirrored_input=True`` keeps it).
    """

    type = "mediapipe_hands"
    runtime = Runtime.mediapipe

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        min_detection_confidence: float = 0.5,
        max_num_hands: int = 4,
        mirrored_input: bool = False,
    ) -> None:
        super().__init__(manifest, files)
        self.min_detection_confidence = check_confidence(min_detection_confidence, "min_detection_confidence")
        if isinstance(max_num_hands, bool) or not isinstance(max_num_hands, int) or not 1 <= max_num_hands <= 8:
            raise ValueError(f"max_num_hands must be an int in 1..8, got {max_num_hands!r}")
        if not isinstance(mirrored_input, bool):
            raise ValueError(f"mirrored_input must be a bool, got {mirrored_input!r}")
        self.max_num_hands = max_num_hands
        self.mirrored_input = mirrored_input
        # model_complexity=0 (lite) found hands where 1 found none on the prototype's photos.
        self._solution = QuietStartSolution(
            mp.solutions.hands.Hands,
            static_image_mode=True, model_complexity=0, max_num_hands=max_num_hands,
            min_detection_confidence=self.min_detection_confidence)

    def _release(self) -> None:
        self._solution.close()

    def detect(self, image_bgr: npt.NDArray[Any]) -> tuple[Hand, ...]:
        check_bgr(image_bgr)
        rgb = to_rgb(image_bgr)
        with self._lock:
            self._ensure_open()
            result = self._solution.process(rgb)
        if not result.multi_hand_landmarks:
            return ()
        height, width = image_bgr.shape[:2]
        hands = []
        for landmarks, handedness in zip(result.multi_hand_landmarks, result.multi_handedness, strict=True):
            label = handedness.classification[0]
            side = label.label.lower()
            if not self.mirrored_input:
                side = _SWAP.get(side, side)
            points = np.array([(lm.x * width, lm.y * height, lm.z * width) for lm in landmarks.landmark],
                              dtype=np.float32)
            hands.append(Hand(landmarks=points, handedness=side, score=float(min(max(label.score, 0.0), 1.0))))
        return tuple(sorted(hands, key=lambda hand: -hand.score))
