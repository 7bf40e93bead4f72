"""Image normalisation between a source and a Frame: channel layout and configured rotation."""
from __future__ import annotations

from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

ROTATIONS: tuple[int, ...] = (0, 90, 180, 270)

_CV2_ROTATIONS = {
    90: cv2.ROTATE_90_CLOCKWISE,
    180: cv2.ROTATE_180,
    270: cv2.ROTATE_90_COUNTERCLOCKWISE,
}


def check_rotation(rotation: object, name: str = "rotation") -> int:
    if isinstance(rotation, bool) or not isinstance(rotation, int) or rotation not in ROTATIONS:
        raise ValueError(f"{name} must be one of {ROTATIONS} (degrees clockwise), got {rotation!r}")
    return rotation


def rotate(image: npt.NDArray[Any], rotation: int) -> npt.NDArray[Any]:
    """The image turned `rotation` degrees clockwise (the input itself when rotation is 0), for cameras mounted
    sideways or upside down."""
    if rotation == 0:
        return image
    return cv2.rotate(image, _CV2_ROTATIONS[check_rotation(rotation)])


def as_bgr(image: object) -> npt.NDArray[Any] | None:
    """The image as HxWx3 uint8 BGR, or None when it is not a usable image (a corrupt frame).

    Grey and BGRA images are converted rather than rejected: some USB cameras and drivers deliver them.
    """
    if not isinstance(image, np.ndarray) or image.size == 0 or image.dtype != np.uint8:
        return None
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim != 3:
        return None
    channels = image.shape[2]
    if channels == 3:
        return image
    if channels == 1:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return None
