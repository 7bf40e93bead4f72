"""Where each service window is in a camera's frame: polygons in normalised coordinates, mapped to pixels."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt
from shapely.geometry import Point, Polygon

from models.types import Box

NormPolygon = tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class WindowRegion:
    """One window as one camera sees it. Polygons are fractions (0..1) of the rotated frame."""

    window_id: str
    staff_zone: NormPolygon
    citizen_side: NormPolygon
    sign_region: NormPolygon
    marker_id: int

    def __post_init__(self) -> None:
        for name in ("staff_zone", "citizen_side", "sign_region"):
            points = getattr(self, name)
            if len(points) < 3:
                raise ValueError(f"WindowRegion.{name} needs at least 3 points, got {len(points)}")
            if any(not (0.0 <= v <= 1.0) for point in points for v in point):
                raise ValueError(f"WindowRegion.{name} coordinates must be within 0..1")

    def pixels(self, name: str, width: int, height: int) -> npt.NDArray[Any]:
        """A polygon as an (N, 2) int32 array of pixel coordinates, for cv2 drawing and masks."""
        points = np.asarray(getattr(self, name), dtype=np.float64) * np.array([width, height], dtype=np.float64)
        pixels: npt.NDArray[np.int32] = np.round(points).astype(np.int32)
        return pixels

    def polygon(self, name: str, width: int, height: int) -> Polygon:
        return Polygon(self.pixels(name, width, height))

    def bounds(self, name: str, width: int, height: int) -> Box:
        points = self.pixels(name, width, height)
        return Box(float(points[:, 0].min()), float(points[:, 1].min()),
                   float(points[:, 0].max()), float(points[:, 1].max()))

    def contains(self, name: str, width: int, height: int, x: float, y: float) -> bool:
        covered: bool = self.polygon(name, width, height).covers(Point(x, y))
        return covered

    def mask(self, name: str, width: int, height: int) -> npt.NDArray[np.uint8]:
        mask = np.zeros((height, width), dtype=np.uint8)
        # cv2's stubs type the colour as a sequence only; OpenCV takes a scalar for a one-channel image.
        cv2.fillPoly(mask, [self.pixels(name, width, height)], 255)  # type: ignore[call-overload]
        return mask


def grow_box(box: Box, margin: float, width: int, height: int) -> Box:
    """The box grown by `margin` times its size on every side, clipped to the frame."""
    return box.expand(1.0 + 2.0 * margin).clip(width, height)


@dataclass(frozen=True)
class Crop:
    """A crop of a frame, possibly upscaled; maps crop pixels back to frame pixels."""

    image: npt.NDArray[Any]
    x0: int
    y0: int
    scale: float  # crop pixels per frame pixel

    def to_frame(self, x: float, y: float) -> tuple[float, float]:
        return self.x0 + x / self.scale, self.y0 + y / self.scale


def crop(image: npt.NDArray[Any], box: Box, *, min_side: int = 0, max_side: int = 0) -> Crop | None:
    """Cut `box` out of `image`; upscale so the shorter side is at least `min_side`; cap the longer at `max_side`."""
    height, width = image.shape[:2]
    x1, y1 = max(0, int(box.x1)), max(0, int(box.y1))
    x2, y2 = min(width, int(np.ceil(box.x2))), min(height, int(np.ceil(box.y2)))
    if x2 - x1 < 8 or y2 - y1 < 8:
        return None
    patch = image[y1:y2, x1:x2]
    scale = 1.0
    short, long = min(patch.shape[:2]), max(patch.shape[:2])
    if min_side and short < min_side:
        scale = min_side / short
    if max_side and long * scale > max_side:
        scale = max_side / long
    if abs(scale - 1.0) > 1e-3:
        interpolation = cv2.INTER_CUBIC if scale > 1 else cv2.INTER_AREA
        patch = cv2.resize(patch, (max(1, round(patch.shape[1] * scale)), max(1, round(patch.shape[0] * scale))),
                           interpolation=interpolation)
    else:
        patch = np.ascontiguousarray(patch)
    return Crop(patch, x1, y1, scale)
