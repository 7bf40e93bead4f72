"""Exported YOLO detection and pose models through onnxruntime (CPU).

The input size comes from the ONNX graph when it is static, else from the manifest's ``input_size``; class names
come from the manifest (``counterwatch models export`` writes them from the weights).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import onnxruntime as ort

from models.base import ObjectDetector, PoseEstimator, check_bgr
from models.manifest import ModelManifest, Runtime, class_names
from models.types import COCO17_KEYPOINTS, Box, Detection, Keypoint, Pose
from models.yolo_decode import (
    DecodedBoxes,
    Letterbox,
    decode_detect,
    decode_pose,
    detect_layout,
    letterbox,
    pose_layout,
)

__all__ = ["YoloOnnxDetector", "YoloOnnxPoseEstimator"]


def _check_unit(value: float, name: str) -> float:
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def onnx_input_size(shape: Sequence[Any], manifest: ModelManifest, weights: Path) -> tuple[tuple[int, int], bool]:
    """((width, height), static) of an image model's ONNX input [1, 3, H, W]: the graph's own size when it is fixed
    (the manifest's `input_size` must agree), else the manifest's (it must name one)."""
    if len(shape) != 4 or shape[1] not in (3, "3"):
        raise ValueError(f"{weights} input must be (1, 3, H, W), got {shape}")
    if isinstance(shape[2], int) and isinstance(shape[3], int):  # dims are str/None when the export was dynamic
        size = (int(shape[3]), int(shape[2]))
        if manifest.input_size is not None and tuple(manifest.input_size) != size:
            raise ValueError(f"manifest input_size {list(manifest.input_size)} differs from the model's "
                             f"{list(size)} (width, height)")
        return size, True
    if manifest.input_size is None:
        raise ValueError(f"{weights}: the model has a dynamic input size; set input_size [width, height] in the "
                         "manifest")
    return (int(manifest.input_size[0]), int(manifest.input_size[1])), False


class _YoloSession:
    """One onnxruntime session with its letterbox input geometry."""

    def __init__(self, manifest: ModelManifest, weights: Path, num_threads: int) -> None:
        if not isinstance(num_threads, int) or num_threads < 0:
            raise ValueError(f"num_threads must be an int >= 0 (0 = onnxruntime default), got {num_threads!r}")
        options = ort.SessionOptions()
        options.intra_op_num_threads = num_threads
        options.log_severity_level = 3  # the CPU provider warns about unused initialisers in exported graphs
        self.session = ort.InferenceSession(str(weights), sess_options=options, providers=["CPUExecutionProvider"])
        output_shape = self.session.get_outputs()[0].shape
        # A static output shape lets a wrong class_map or a non-YOLO model fail at load time, not per frame.
        self.static_output_shape = tuple(output_shape) if all(isinstance(d, int) for d in output_shape) else None
        model_input = self.session.get_inputs()[0]
        self.input_name = model_input.name
        self.input_dtype = np.float16 if "float16" in model_input.type else np.float32
        self.input_size, _ = onnx_input_size(model_input.shape, manifest, weights)

    def run(self, image_bgr: npt.NDArray[Any]) -> tuple[npt.NDArray[Any], Letterbox]:
        blob, transform = letterbox(image_bgr, self.input_size)
        output = self.session.run(None, {self.input_name: blob.astype(self.input_dtype, copy=False)})[0]
        return np.asarray(output, dtype=np.float32), transform


def _image_boxes(decoded: DecodedBoxes, transform: Letterbox, width: int, height: int) -> list[Box]:
    boxes = transform.to_image(decoded.boxes)
    return [Box(min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)).clip(width, height) for x1, y1, x2, y2 in boxes]


class YoloOnnxDetector(ObjectDetector):
    type = "yolo_onnx"
    runtime = Runtime.onnxruntime

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        iou_threshold: float = 0.45,
        max_det: int = 300,
        num_threads: int = 0,
    ) -> None:
        super().__init__(manifest, files)
        self.iou_threshold = _check_unit(iou_threshold, "iou_threshold")
        if not isinstance(max_det, int) or max_det < 1:
            raise ValueError(f"max_det must be an int >= 1, got {max_det!r}")
        self.max_det = max_det
        self.class_names = class_names(manifest, list(files))
        if not self.class_names:
            raise ValueError("class_map is empty; list the model's class names in the manifest")
        self.num_classes = max(self.class_names) + 1
        self._model: _YoloSession | None = _YoloSession(manifest, self.file("weights"), num_threads)
        self.input_size = self._model.input_size
        if self._model.static_output_shape is not None:
            detect_layout(self._model.static_output_shape, self.num_classes)

    def _release(self) -> None:
        self._model = None

    def detect(self, image_bgr: npt.NDArray[Any], *, min_score: float) -> tuple[Detection, ...]:
        check_bgr(image_bgr)
        min_score = _check_unit(min_score, "min_score")
        with self._lock:
            self._ensure_open()
            assert self._model is not None  # released only on close, which _ensure_open rejects
            output, transform = self._model.run(image_bgr)
        decoded = decode_detect(output, self.num_classes, min_score=min_score,
                                iou_threshold=self.iou_threshold, max_det=self.max_det)
        height, width = image_bgr.shape[:2]
        boxes = _image_boxes(decoded, transform, width, height)
        return tuple(
            Detection(
                label=self.class_names.get(int(cid), f"class_{int(cid)}"),
                class_id=int(cid),
                score=float(np.clip(score, 0.0, 1.0)),
                box=box,
            )
            for box, score, cid in zip(boxes, decoded.scores, decoded.class_ids, strict=True)
        )


class YoloOnnxPoseEstimator(PoseEstimator):
    type = "yolo_pose_onnx"
    runtime = Runtime.onnxruntime

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        min_score: float = 0.25,
        iou_threshold: float = 0.45,
        max_det: int = 100,
        num_threads: int = 0,
    ) -> None:
        super().__init__(manifest, files)
        self.min_score = _check_unit(min_score, "min_score")
        self.iou_threshold = _check_unit(iou_threshold, "iou_threshold")
        if not isinstance(max_det, int) or max_det < 1:
            raise ValueError(f"max_det must be an int >= 1, got {max_det!r}")
        self.max_det = max_det
        self._model: _YoloSession | None = _YoloSession(manifest, self.file("weights"), num_threads)
        self.input_size = self._model.input_size
        if self._model.static_output_shape is not None:
            pose_layout(self._model.static_output_shape)

    def _release(self) -> None:
        self._model = None

    def estimate(self, image_bgr: npt.NDArray[Any]) -> tuple[Pose, ...]:
        check_bgr(image_bgr)
        with self._lock:
            self._ensure_open()
            assert self._model is not None  # released only on close, which _ensure_open rejects
            output, transform = self._model.run(image_bgr)
        decoded = decode_pose(output, min_score=self.min_score, iou_threshold=self.iou_threshold,
                              max_det=self.max_det)
        height, width = image_bgr.shape[:2]
        boxes = _image_boxes(decoded, transform, width, height)
        assert decoded.keypoints is not None
        points = transform.to_image(decoded.keypoints[..., :2])  # (K, 17, 2): x, y pairs map like boxes
        confidences = np.clip(decoded.keypoints[..., 2], 0.0, 1.0)
        poses = []
        for box, score, xy, conf in zip(boxes, decoded.scores, points, confidences, strict=True):
            keypoints = tuple(
                Keypoint(name, float(x), float(y), float(c))
                for name, (x, y), c in zip(COCO17_KEYPOINTS, xy, conf, strict=True)
            )
            poses.append(Pose(keypoints=keypoints, score=float(np.clip(score, 0.0, 1.0)), box=box))
        return tuple(poses)
