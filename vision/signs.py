"""Reading a window's pause sign: its ArUco marker in the sign region, confirmed by reading the sign text."""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vision.observation import SignReading
from vision.regions import WindowRegion, crop, grow_box

if TYPE_CHECKING:
    import numpy.typing as npt

    from models.base import MarkerDetector, TextReader

SIGN_TEXT = "本窗口暂停办理业务"
_MIN_SHARED_CHARS = 5  # OCR of a small, angled sign drops characters; five of the nine make a confident match


def text_matches_sign(text: str) -> bool:
    return "暂停" in text or len(set(text) & set(SIGN_TEXT)) >= _MIN_SHARED_CHARS


class SignReader:
    """Looks for one window's pause sign. OCR is a confirmer only: it runs when the marker is seen, at most once per
    `ocr_interval_s` per window (it costs ~0.4 s), and its result is carried between runs while the marker stays."""

    def __init__(self, marker_detector: MarkerDetector, text_reader: TextReader | None = None, *,
                 ocr_interval_s: float = 10.0, min_side: int = 240) -> None:
        if ocr_interval_s < 0:
            raise ValueError(f"ocr_interval_s must be >= 0, got {ocr_interval_s}")
        self._markers = marker_detector
        self._text = text_reader
        self._ocr_interval_s = ocr_interval_s
        self._min_side = min_side
        self._last_ocr: dict[str, tuple[float, bool, str]] = {}

    def read(self, image: npt.NDArray[Any], region: WindowRegion, ts: float) -> SignReading:
        height, width = image.shape[:2]
        box = grow_box(region.bounds("sign_region", width, height), 0.1, width, height)
        patch = crop(image, box, min_side=self._min_side, max_side=1280)
        if patch is None:
            return SignReading(region.window_id, checked=True)
        seen = any(marker.marker_id == region.marker_id for marker in self._markers.detect(patch.image))
        if not seen:
            self._last_ocr.pop(region.window_id, None)
            return SignReading(region.window_id, checked=True, marker_seen=False)
        if self._text is None:
            return SignReading(region.window_id, checked=True, marker_seen=True)
        last = self._last_ocr.get(region.window_id)
        if last is None or ts - last[0] >= self._ocr_interval_s or ts < last[0]:
            text = "".join(line.text for line in self._text.read(patch.image))
            last = (ts, text_matches_sign(text), text)
            self._last_ocr[region.window_id] = last
        return SignReading(region.window_id, checked=True, marker_seen=True, text_confirmed=last[1], text=last[2])
