"""Pure-numpy pre/post-processing for YOLOX (Megvii) ONNX exports.

Input: the BGR image resized keeping its aspect ratio into the top-left corner of the network input, the rest
filled with 114, float32 0..255 (no normalisation, no channel swap), NCHW.

Output (1, N, 5 + nc), N = sum over the strides s of (H/s) * (W/s) anchor-free grid cells, level by level, each
level row-major (y, then x). Columns: x, y (offsets in cells), log w, log h (in strides), objectness, nc class
scores; objectness and class scores are already sigmoid-ed. Decoding: centre = (offset + cell) * stride,
size = exp(log size) * stride; score = objectness * class score; then class-wise NMS.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from models.yolo_decode import DecodedBoxes, nms

__all__ = ["YOLOX_STRIDES", "TopLeftResize", "decode_yolox", "grid_cells", "resize_top_left", "yolox_layout"]

YOLOX_STRIDES = (8, 16, 32)
_PAD_VALUE = 114


@dataclass(frozen=True, slots=True)
class TopLeftResize:
    """input = image * ratio (the picture sits in the top-left corner, padding right and below)."""

    ratio: float

    def __post_init__(self) -> None:
        if not self.ratio > 0:
            raise ValueError(f"TopLeftResize.ratio must be > 0, got {self.ratio}")

    def to_image(self, xy: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.asarray(xy, dtype=np.float32) / self.ratio


def resize_top_left(image_bgr: npt.NDArray[Any], input_size: tuple[int, int]) -> tuple[npt.NDArray[Any], TopLeftResize]:
    """The (1, 3, H, W) float32 blob for an input of `input_size` (width, height) and the transform back."""
    in_w, in_h = input_size
    height, width = image_bgr.shape[:2]
    ratio = min(in_w / width, in_h / height)
    new_w, new_h = max(1, int(width * ratio)), max(1, int(height * ratio))
    resized = image_bgr if (new_w, new_h) == (width, height) else cv2.resize(
        image_bgr, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    canvas = np.full((in_h, in_w, 3), _PAD_VALUE, dtype=np.uint8)
    canvas[:new_h, :new_w] = resized
    blob = np.ascontiguousarray(canvas.transpose(2, 0, 1)[None], dtype=np.float32)
    return blob, TopLeftResize(ratio)


def grid_cells(input_size: tuple[int, int],
               strides: Sequence[int] = YOLOX_STRIDES) -> tuple[npt.NDArray[Any], npt.NDArray[Any]]:
    """((N, 2) cell x, y and (N,) stride) in the model's output order."""
    cells, cell_strides = [], []
    in_w, in_h = input_size
    for stride in strides:
        cols, rows = in_w // stride, in_h // stride
        ys, xs = np.meshgrid(np.arange(rows), np.arange(cols), indexing="ij")
        cells.append(np.stack([xs.ravel(), ys.ravel()], axis=1))
        cell_strides.append(np.full(rows * cols, stride))
    return np.concatenate(cells).astype(np.float32), np.concatenate(cell_strides).astype(np.float32)


def yolox_layout(shape: Sequence[int], num_classes: int, input_size: tuple[int, int],
                 strides: Sequence[int] = YOLOX_STRIDES) -> None:
    """ValueError unless `shape` is (1, N, 5 + nc) with N grid cells for this input size and these strides."""
    cells = sum((input_size[0] // s) * (input_size[1] // s) for s in strides)
    if len(shape) != 3 or shape[0] != 1 or shape[1] != cells or shape[2] != 5 + num_classes:
        raise ValueError(f"YOLOX output {tuple(shape)} is not (1, {cells}, {5 + num_classes}) for input "
                         f"{list(input_size)}, strides {list(strides)} and {num_classes} classes; check the "
                         "manifest's class_map, input_size and options.strides against the model")


def decode_yolox(output: npt.NDArray[Any], num_classes: int, input_size: tuple[int, int], *, min_score: float,
                 iou_threshold: float, max_det: int = 300, strides: Sequence[int] = YOLOX_STRIDES,
                 cells: tuple[npt.NDArray[Any], npt.NDArray[Any]] | None = None) -> DecodedBoxes:
    """Boxes (xyxy, input pixels), scores and class ids after the grid decode and class-wise NMS."""
    yolox_layout(np.shape(output), num_classes, input_size, strides)
    rows = np.asarray(output, dtype=np.float32)[0]
    class_ids = rows[:, 5:].argmax(axis=1)
    scores = rows[:, 4] * rows[np.arange(len(rows)), 5 + class_ids]
    keep = scores >= min_score
    if not keep.any():
        empty = np.zeros((0, 4), np.float32)
        return DecodedBoxes(empty, np.zeros(0, np.float32), np.zeros(0, np.int64))
    xy_cells, cell_strides = cells if cells is not None else grid_cells(input_size, strides)
    rows, scores, class_ids = rows[keep], scores[keep], class_ids[keep]
    stride = cell_strides[keep][:, None]
    centre = (rows[:, :2] + xy_cells[keep]) * stride
    size = np.exp(np.clip(rows[:, 2:4], -20.0, 20.0)) * stride
    boxes = np.concatenate([centre - size / 2, centre + size / 2], axis=1)
    order = nms(boxes, scores, class_ids, iou_threshold)[:max_det]
    return DecodedBoxes(boxes[order].astype(np.float32), scores[order].astype(np.float32),
                        class_ids[order].astype(np.int64))
