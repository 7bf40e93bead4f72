"""Motion per window and the gate that decides when heavy models must run again."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import cv2
import numpy.typing as npt

from vision.regions import WindowRegion

_SIDE = 96  # motion is measured on a small grey image of the staff zone: cheap and insensitive to sensor noise
_PIXEL_DELTA = 18  # grey levels a pixel must change by to count as moving


@dataclass
class _ZoneHistory:
    previous: npt.NDArray[Any] | None = None
    last_analysis_ts: float | None = None


class MotionGate:
    """Measures staff-zone motion between analysed frames and says whether a window needs a fresh analysis.

    A window is analysed when its motion exceeds `threshold`, when it has never been analysed, or when
    `recheck_s` passed since its last analysis: a still scene (a sleeping person) is re-confirmed periodically and
    never skipped forever.
    """

    def __init__(self, regions: tuple[WindowRegion, ...], *, threshold: float, recheck_s: float):
        if not 0.0 <= threshold <= 1.0:
            raise ValueError(f"threshold must be within 0..1, got {threshold}")
        if recheck_s <= 0:
            raise ValueError(f"recheck_s must be positive, got {recheck_s}")
        self._regions = {region.window_id: region for region in regions}
        self._threshold = threshold
        self._recheck_s = recheck_s
        self._history = {window_id: _ZoneHistory() for window_id in self._regions}
        self._masks: dict[tuple[str, int, int], npt.NDArray[Any]] = {}

    def measure(self, image: npt.NDArray[Any], window_id: str) -> float:
        """Fraction of staff-zone pixels that changed since the last call for this window (1.0 on the first call)."""
        region = self._regions[window_id]
        height, width = image.shape[:2]
        box = region.bounds("staff_zone", width, height)
        x1, y1, x2, y2 = int(box.x1), int(box.y1), max(int(box.x2), int(box.x1) + 1), max(int(box.y2), int(box.y1) + 1)
        grey = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY)
        grey = cv2.GaussianBlur(cv2.resize(grey, (_SIDE, _SIDE), interpolation=cv2.INTER_AREA), (5, 5), 0)
        mask = self._mask(region, width, height, (x1, y1, x2, y2))
        history = self._history[window_id]
        previous, history.previous = history.previous, grey
        if previous is None:
            return 1.0
        moving = (cv2.absdiff(grey, previous) > _PIXEL_DELTA) & mask
        return float(moving.sum()) / max(1.0, float(mask.sum()))

    def needs_analysis(self, window_id: str, motion: float, ts: float) -> bool:
        last = self._history[window_id].last_analysis_ts
        return last is None or motion >= self._threshold or ts - last >= self._recheck_s or ts < last

    def mark_analysed(self, window_id: str, ts: float) -> None:
        self._history[window_id].last_analysis_ts = ts

    def _mask(self, region: WindowRegion, width: int, height: int, rect: tuple[int, int, int, int]) -> npt.NDArray[Any]:
        key = (region.window_id, width, height)
        if key not in self._masks:
            x1, y1, x2, y2 = rect
            full = region.mask("staff_zone", width, height)[y1:y2, x1:x2]
            self._masks[key] = cv2.resize(full, (_SIDE, _SIDE), interpolation=cv2.INTER_NEAREST) > 0
        return self._masks[key]
