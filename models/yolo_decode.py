"""Pure-numpy pre/post-processing for exported YOLO (v8/11/26) ONNX models.

Two output layouts exist in the wild:
- "raw" (YOLOv8/11 default export): (1, 4 + nc, N) for detection, (1, 4 + 1 + 17*3, N) for pose; boxes are
  cx, cy, w, h in letterboxed input pixels, class scores already sigmoid-ed; NMS is ours to do.
- "end2end" (YOLOv10/26 default export): (1, N, 6) = x1, y1, x2, y2, score, class, and (1, N, 6 + 51) for pose;
  already de-duplicated by the model.
Both are decoded to letterbox pixels and then mapped back through the letterbox to image pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

__all__ = [
    "DecodedBoxes", "Letterbox", "decode_detect", "decode_pose", "detect_layout", "letterbox", "nms", "pose_layout",
]

POSE_KEYPOINTS = 17
_PAD_VALUE = (114, 114, 114)  # what ultralytics pads with; the models saw this grey during training


@dataclass(frozen=True, slots=True)
class Letterbox:
    """How an image was resized and padded into the network input: input = image * ratio + (pad_x, pad_y)."""

    ratio: float
    pad_x: int
    pad_y: int

    def __post_init__(self) -> None:
        if not self.ratio > 0:
            raise ValueError(f"Letterbox.ratio must be > 0, got {self.ratio}")

    def to_image(self, xy: npt.NDArray[Any]) -> npt.NDArray[Any]:
        """Map (..., 2k) interleaved x, y columns from input pixels back to image pixels."""
        out = np.array(xy, dtype=np.float32, copy=True)
        out[..., 0::2] = (out[..., 0::2] - self.pad_x) / self.ratio
        out[..., 1::2] = (out[..., 1::2] - self.pad_y) / self.ratio
        return out


def letterbox(image_bgr: npt.NDArray[Any], input_size: tuple[int, int]) -> tuple[npt.NDArray[Any], Letterbox]:
    """Resize keeping the aspect ratio and pad to ``input_size`` (width, height), as ultralytics does.

    Returns the network blob (1, 3, H, W) float32 RGB in [0, 1] and the transform to map results back.
    """
    in_w, in_h = input_size
    height, width = image_bgr.shape[:2]
    ratio = min(in_w / width, in_h / height)
    new_w, new_h = round(width * ratio), round(height * ratio)
    resized = image_bgr if (new_w, new_h) == (width, height) else cv2.resize(
        image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    dw, dh = (in_w - new_w) / 2.0, (in_h - new_h) / 2.0
    # The +-0.1 splits an odd padding the same way ultralytics does, so boxes line up to the pixel.
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    padded = cv2.copyMakeBorder(resized, top, bottom, left, right, cv2.BORDER_CONSTANT, value=_PAD_VALUE)
    blob = cv2.dnn.blobFromImage(padded, 1.0 / 255.0, swapRB=True)
    return blob, Letterbox(ratio=ratio, pad_x=left, pad_y=top)


def nms(boxes: npt.NDArray[Any], scores: npt.NDArray[Any], class_ids: npt.NDArray[Any],
        iou_threshold: float) -> npt.NDArray[Any]:
    """Class-wise greedy NMS over (K, 4) xyxy boxes; returns kept indices, best score first.

    Boxes of different classes are shifted apart so one pass handles every class (they can never overlap).
    """
    if len(boxes) == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(np.abs(boxes).max()) + 1.0
    shifted = boxes + (class_ids.astype(np.float32) * span)[:, None]
    x1, y1, x2, y2 = shifted.T
    areas = np.maximum(x2 - x1, 0) * np.maximum(y2 - y1, 0)
    order = np.argsort(-scores, kind="stable")
    keep = []
    while order.size:
        best, rest = order[0], order[1:]
        keep.append(best)
        w = np.maximum(np.minimum(x2[best], x2[rest]) - np.maximum(x1[best], x1[rest]), 0)
        h = np.maximum(np.minimum(y2[best], y2[rest]) - np.maximum(y1[best], y1[rest]), 0)
        inter = w * h
        iou = inter / np.maximum(areas[best] + areas[rest] - inter, 1e-9)
        order = rest[iou <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


@dataclass(frozen=True, slots=True)
class DecodedBoxes:
    """Parallel arrays in letterbox input pixels: boxes (K, 4) xyxy, scores (K,), class_ids (K,), keypoints
    (K, 17, 3) or None."""

    boxes: npt.NDArray[Any]
    scores: npt.NDArray[Any]
    class_ids: npt.NDArray[Any]
    keypoints: npt.NDArray[Any] | None = None


def _xywh_to_xyxy(xywh: npt.NDArray[Any]) -> npt.NDArray[Any]:
    cx, cy, w, h = xywh.T
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def _finish(boxes: npt.NDArray[Any], scores: npt.NDArray[Any], class_ids: npt.NDArray[Any],
            keypoints: npt.NDArray[Any] | None, *, min_score: float, iou_threshold: float, max_det: int,
            run_nms: bool) -> DecodedBoxes:
    keep = scores >= min_score
    boxes, scores, class_ids = boxes[keep], scores[keep], class_ids[keep]
    keypoints = None if keypoints is None else keypoints[keep]
    if run_nms:
        order = nms(boxes, scores, class_ids, iou_threshold)
    else:
        order = np.argsort(-scores, kind="stable")
    order = order[:max_det]
    return DecodedBoxes(
        boxes=boxes[order].astype(np.float32),
        scores=scores[order].astype(np.float32),
        class_ids=class_ids[order].astype(np.int64),
        keypoints=None if keypoints is None else keypoints[order].astype(np.float32),
    )


def detect_layout(shape: tuple[int, ...], num_classes: int) -> str:
    """"raw" or "end2end" for a detection output shape; ValueError naming both expected shapes otherwise."""
    if len(shape) == 3 and shape[0] == 1:
        if shape[1] == 4 + num_classes:
            return "raw"
        if shape[2] == 6:
            return "end2end"
    raise ValueError(
        f"YOLO detect output {tuple(shape)} matches neither (1, {4 + num_classes}, N) for {num_classes} "
        f"classes nor (1, N, 6); check the manifest's class_map against the model"
    )


def pose_layout(shape: tuple[int, ...]) -> str:
    """"raw" or "end2end" for a 17-keypoint pose output shape; ValueError otherwise."""
    kpt_len = POSE_KEYPOINTS * 3
    if len(shape) == 3 and shape[0] == 1:
        if shape[1] == 5 + kpt_len:
            return "raw"
        if shape[2] == 6 + kpt_len:
            return "end2end"
    raise ValueError(
        f"YOLO pose output {tuple(shape)} matches neither (1, {5 + kpt_len}, N) nor (1, N, {6 + kpt_len}); "
        "is this a 17-keypoint pose model?"
    )


def decode_detect(
    output: npt.NDArray[Any], num_classes: int, *, min_score: float, iou_threshold: float, max_det: int = 300,
) -> DecodedBoxes:
    """Decode a detection head output; see the module docstring for the two layouts."""
    if detect_layout(np.shape(output), num_classes) == "raw":
        rows = np.asarray(output)[0].T
        class_scores = rows[:, 4:]
        class_ids = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(rows)), class_ids]
        return _finish(_xywh_to_xyxy(rows[:, :4]), scores, class_ids, None, min_score=min_score,
                       iou_threshold=iou_threshold, max_det=max_det, run_nms=True)
    pred = np.asarray(output)[0]
    return _finish(pred[:, :4], pred[:, 4], pred[:, 5].round().astype(np.int64), None, min_score=min_score,
                   iou_threshold=iou_threshold, max_det=max_det, run_nms=False)


def decode_pose(
    output: npt.NDArray[Any], *, min_score: float, iou_threshold: float, max_det: int = 300,
) -> DecodedBoxes:
    """Decode a single-class (person) pose head output with 17 keypoints of (x, y, conf)."""
    if pose_layout(np.shape(output)) == "raw":  # box, person score, keypoints
        rows = np.asarray(output)[0].T
        keypoints = rows[:, 5:].reshape(-1, POSE_KEYPOINTS, 3)
        return _finish(_xywh_to_xyxy(rows[:, :4]), rows[:, 4], np.zeros(len(rows), np.int64), keypoints,
                       min_score=min_score, iou_threshold=iou_threshold, max_det=max_det, run_nms=True)
    pred = np.asarray(output)[0]  # x1, y1, x2, y2, score, class, keypoints
    keypoints = pred[:, 6:].reshape(-1, POSE_KEYPOINTS, 3)
    return _finish(pred[:, :4], pred[:, 4], pred[:, 5].round().astype(np.int64), keypoints,
                   min_score=min_score, iou_threshold=iou_threshold, max_det=max_det, run_nms=False)
