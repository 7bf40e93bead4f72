"""OpenCV VideoCapture details shared by the file and stream sources."""
from __future__ import annotations

import cv2


def enable_metadata_rotation(capture: cv2.VideoCapture, enabled: bool) -> None:
    """Make the container's rotation metadata (an mp4 display matrix) explicit.

    Measured with opencv-python 4.11.0.86: CAP_PROP_ORIENTATION_AUTO reads 0 after open (metadata NOT applied) and
    is refused as an open() parameter ("unsupported parameters"), so it is set after open. Setting it is a no-op
    for streams without a display matrix.
    """
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1 if enabled else 0)


def release_quietly(capture: cv2.VideoCapture | None) -> None:
    if capture is not None:
        capture.release()
