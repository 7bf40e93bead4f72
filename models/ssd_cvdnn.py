"""SSD MobileNet (TensorFlow frozen graph) through cv2.dnn.

The graph does its own preprocessing and per-class NMS, and returns boxes in [0, 1] image coordinates, so any
input size works: 300x300 is the trained size, a wide size such as 533x300 keeps more detail on 16:9 frames.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from models.base import ObjectDetector, check_bgr
from models.manifest import ModelManifest, Runtime, class_names
from models.types import Box, Detection

__all__ = ["SsdCvDnnDetector"]


def _input_size(value: Sequence[int] | None, manifest: ModelManifest) -> tuple[int, int]:
    size = value if value is not None else manifest.input_size or (300, 300)
    if len(size) != 2 or not all(isinstance(v, int) and 32 <= v <= 2048 for v in size):
        raise ValueError(f"input_size must be [width, height] with ints in 32..2048, got {size!r}")
    return int(size[0]), int(size[1])


class SsdCvDnnDetector(ObjectDetector):
    type = "ssd_cvdnn"
    runtime = Runtime.cv2_dnn

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        input_size: Sequence[int] | None = None,
    ) -> None:
        super().__init__(manifest, files)
        self.input_size = _input_size(input_size, manifest)
        self.class_names = class_names(manifest, list(files))
        self._net: cv2.dnn.Net | None = cv2.dnn.readNetFromTensorflow(str(self.file("weights")),
                                                                      str(self.file("config")))
        self._net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        self._net.setPreferableTarget(cv2.dnn.DNN_TARGET_CPU)

    def _release(self) -> None:
        self._net = None

    def detect(self, image_bgr: npt.NDArray[Any], *, min_score: float) -> tuple[Detection, ...]:
        check_bgr(image_bgr)
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {min_score}")
        height, width = image_bgr.shape[:2]
        # The graph expects RGB 0..255 and normalises inside, hence scale 1, no mean, swapRB.
        blob = cv2.dnn.blobFromImage(image_bgr, 1.0, self.input_size, swapRB=True, crop=False)
        with self._lock:
            self._ensure_open()
            assert self._net is not None  # released only on close, which _ensure_open rejects
            self._net.setInput(blob)
            raw = self._net.forward()
        rows = raw.reshape(-1, 7)  # [batch, class_id, score, x1, y1, x2, y2] per detection
        rows = rows[(rows[:, 2] >= min_score) & (rows[:, 1] > 0)]
        rows = rows[np.argsort(-rows[:, 2], kind="stable")]
        detections = []
        for _, class_id, score, x1, y1, x2, y2 in rows:
            cid = int(class_id)
            box = Box(min(x1, x2) * width, min(y1, y2) * height, max(x1, x2) * width, max(y1, y2) * height)
            detections.append(Detection(
                label=self.class_names.get(cid, f"class_{cid}"),
                class_id=cid,
                score=float(min(max(score, 0.0), 1.0)),
                box=box.clip(width, height),
            ))
        return tuple(detections)
