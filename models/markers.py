"""ArUco markers (the pause sign) with cv2.aruco, and the generator for printable markers."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

from models.base import MarkerDetector, check_bgr
from models.manifest import ModelManifest, Runtime
from models.types import Marker

__all__ = ["ArucoMarkerDetector", "aruco_dictionary", "render_marker"]

_REFINEMENT = {
    "none": cv2.aruco.CORNER_REFINE_NONE,
    "subpix": cv2.aruco.CORNER_REFINE_SUBPIX,
    "contour": cv2.aruco.CORNER_REFINE_CONTOUR,
}


def aruco_dictionary(name: str) -> cv2.aruco.Dictionary:
    """A predefined dictionary by its OpenCV name, e.g. ``DICT_4X4_50``."""
    if not isinstance(name, str) or not name.startswith("DICT_") or not hasattr(cv2.aruco, name):
        raise ValueError(f"dictionary must be an OpenCV ArUco dictionary name such as 'DICT_4X4_50', got {name!r}")
    return cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, name))


def render_marker(marker_id: int, side_px: int, *, dictionary: str = "DICT_4X4_50",
                  quiet_zone_px: int = 0) -> npt.NDArray[Any]:
    """A printable marker as a grayscale uint8 image of ``side_px + 2 * quiet_zone_px`` pixels square.

    Detection needs a white margin around the black border; the sign generator adds one, or pass
    ``quiet_zone_px`` (one marker cell, ``side_px / 6`` for 4x4 markers, is enough).
    """
    aruco = aruco_dictionary(dictionary)
    count = aruco.bytesList.shape[0]
    if isinstance(marker_id, bool) or not isinstance(marker_id, (int, np.integer)) or not 0 <= marker_id < count:
        raise ValueError(f"marker_id must be an int in 0..{count - 1} for {dictionary}, got {marker_id!r}")
    cells = aruco.markerSize + 2  # data cells plus the one-cell black border
    if isinstance(side_px, bool) or not isinstance(side_px, (int, np.integer)) or side_px < cells:
        raise ValueError(f"side_px must be an int >= {cells} for {dictionary}, got {side_px!r}")
    if isinstance(quiet_zone_px, bool) or not isinstance(quiet_zone_px, (int, np.integer)) or quiet_zone_px < 0:
        raise ValueError(f"quiet_zone_px must be an int >= 0, got {quiet_zone_px!r}")
    marker = cv2.aruco.generateImageMarker(aruco, int(marker_id), int(side_px), borderBits=1)
    if quiet_zone_px:
        # cv2's stubs type `value` as a sequence only; OpenCV takes a scalar border value for a one-channel image.
        marker = cv2.copyMakeBorder(marker, quiet_zone_px, quiet_zone_px,  # type: ignore[call-overload]
                                    quiet_zone_px, quiet_zone_px, cv2.BORDER_CONSTANT, value=255)
    return marker


class ArucoMarkerDetector(MarkerDetector):
    type = "aruco"
    runtime = Runtime.cv2_aruco

    def __init__(
        self,
        manifest: ModelManifest,
        files: Sequence[Path],
        *,
        dictionary: str = "DICT_4X4_50",
        corner_refinement: str = "subpix",
    ) -> None:
        super().__init__(manifest, files)
        if corner_refinement not in _REFINEMENT:
            raise ValueError(f"corner_refinement must be one of {sorted(_REFINEMENT)}, got {corner_refinement!r}")
        self.dictionary = dictionary
        parameters = cv2.aruco.DetectorParameters()
        # Sub-pixel corners make the marker's apparent size and position stable from frame to frame.
        parameters.cornerRefinementMethod = _REFINEMENT[corner_refinement]
        self._detector: cv2.aruco.ArucoDetector | None = cv2.aruco.ArucoDetector(aruco_dictionary(dictionary),
                                                                                  parameters)

    def _release(self) -> None:
        self._detector = None

    def detect(self, image_bgr: npt.NDArray[Any]) -> tuple[Marker, ...]:
        check_bgr(image_bgr)
        gray = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
        with self._lock:
            self._ensure_open()
            assert self._detector is not None  # released only on close, which _ensure_open rejects
            corners, ids, _rejected = self._detector.detectMarkers(gray)
        if ids is None:
            return ()
        markers = [Marker(int(marker_id), quad.reshape(4, 2))
                   for marker_id, quad in zip(ids.ravel(), corners, strict=True)]
        return tuple(sorted(markers, key=lambda marker: (marker.marker_id, marker.center)))
