"""YOLOX (Megvii) detection ONNX exports through onnxruntime (CPU): the project's default person detector.

Pre- and post-processing are in models.yolox_decode; the class names come from the manifest. The input size comes
from the graph when it is static, else from the manifest's `input_size`. With `rect` (a graph whose input height and
width are free, as the shipped export: scripts/yolox_any_input_size.py) an image is scaled exactly as for the square
input, but the input ends one stride past the image's short side rounded up to a multiple of the largest stride
instead of being padded to a square: a 16:9 window crop runs at 416x288 instead of 416x416, about 30% less time for
nearly the same detections (the convolutions see the same picture; only the padding below or beside it is shorter).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from models.base import ObjectDetector, check_bgr
from models.manifest import ModelManifest, Runtime, class_names
from models.types import Box, Detection
from models.yolo_onnx import onnx_input_size
from models.yolox_decode import YOLOX_STRIDES, decode_yolox, grid_cells, resize_top_left, yolox_layout

__all__ = ["YoloxOnnxDetector"]


class YoloxOnnxDetector(ObjectDetector):
    type = "yolox_onnx"
    runtime = Runtime.onnxruntime

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        iou_threshold: float = 0.45,
        max_det: int = 300,
        num_threads: int = 1,
        strides: Sequence[int] = YOLOX_STRIDES,
        rect: bool = False,
    ) -> None:
        super().__init__(manifest, files)
        if not 0.0 <= iou_threshold <= 1.0:
            raise ValueError(f"iou_threshold must be in [0, 1], got {iou_threshold}")
        if not isinstance(max_det, int) or max_det < 1:
            raise ValueError(f"max_det must be an int >= 1, got {max_det!r}")
        if not isinstance(num_threads, int) or num_threads < 0:
            raise ValueError(f"num_threads must be an int >= 0 (0 = onnxruntime default), got {num_threads!r}")
        if not strides or not all(isinstance(s, int) and s > 0 for s in strides):
            raise ValueError(f"strides must be positive ints, got {strides!r}")
        self.iou_threshold = float(iou_threshold)
        self.max_det = max_det
        self.strides = tuple(strides)
        self.class_names = class_names(manifest, list(files))
        if not self.class_names:
            raise ValueError("class_map is empty; list the model's class names in the manifest")
        self.num_classes = max(self.class_names) + 1
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(self.file("weights")), sess_options=options,
                                             providers=["CPUExecutionProvider"])
        model_input = self._session.get_inputs()[0]
        self._input_name = model_input.name
        self.input_size, static = onnx_input_size(model_input.shape, manifest, self.file("weights"))
        if not isinstance(rect, bool):
            raise ValueError(f"rect must be true or false, got {rect!r}")
        if rect and static:
            raise ValueError(f"rect needs a graph whose input height and width are free; {self.file('weights')} "
                             f"is fixed at {list(self.input_size)} (scripts/yolox_any_input_size.py frees them)")
        if any(side % max(self.strides) for side in self.input_size):
            raise ValueError(f"input_size {list(self.input_size)} must be multiples of the largest stride "
                             f"{max(self.strides)}")
        self.rect = rect
        output_shape = self._session.get_outputs()[0].shape
        if all(isinstance(d, int) for d in output_shape):
            yolox_layout(output_shape, self.num_classes, self.input_size, self.strides)
        self._cells = {self.input_size: grid_cells(self.input_size, self.strides)}

    def _release(self) -> None:
        self._session = None

    def network_size(self, width: int, height: int) -> tuple[int, int]:
        """The (width, height) the network runs at for an image of this size: `input_size`, or with `rect` the
        image scaled into `input_size` with each short side rounded up to a multiple of the largest stride plus one
        stride more, so the cells at the picture's edge see padding beyond it as they do in the square input
        (measured on window crops of real clips: scores within 0.05 of the square input's, median 0.002)."""
        if not self.rect:
            return self.input_size
        in_w, in_h = self.input_size
        ratio = min(in_w / width, in_h / height)
        step = max(self.strides)
        return (min(in_w, step * math.ceil(max(1, int(width * ratio)) / step) + step),
                min(in_h, step * math.ceil(max(1, int(height * ratio)) / step) + step))

    def detect(self, image_bgr: npt.NDArray[Any], *, min_score: float) -> tuple[Detection, ...]:
        check_bgr(image_bgr)
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {min_score}")
        height, width = image_bgr.shape[:2]
        size = self.network_size(width, height)
        blob, transform = resize_top_left(image_bgr, size)
        if size not in self._cells:
            self._cells[size] = grid_cells(size, self.strides)
        with self._lock:
            self._ensure_open()
            output = self._session.run(None, {self._input_name: blob})[0]
        decoded = decode_yolox(output, self.num_classes, size, min_score=min_score,
                               iou_threshold=self.iou_threshold, max_det=self.max_det, strides=self.strides,
                               cells=self._cells[size])
        detections = []
        for (x1, y1, x2, y2), score, class_id in zip(transform.to_image(decoded.boxes), decoded.scores,
                                                     decoded.class_ids, strict=True):
            box = Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)).clip(width, height)
            if box.width <= 0 or box.height <= 0:
                continue
            detections.append(Detection(label=self.class_names.get(int(class_id), f"class_{int(class_id)}"),
                                        class_id=int(class_id), score=float(np.clip(score, 0.0, 1.0)), box=box))
        return tuple(detections)
