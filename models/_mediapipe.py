"""Shared helpers for the MediaPipe legacy ``solutions`` runtimes."""

from __future__ import annotations

import os

import cv2
import numpy as np

# glog/absl print an INFO line per graph and a warning per call unless told otherwise; only a default, so an
# operator debugging MediaPipe can still turn them on.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mediapipe as mp  # noqa: E402  (the environment defaults above must be set first)

__all__ = ["check_confidence", "mp", "to_rgb"]


def to_rgb(image_bgr: np.ndarray) -> np.ndarray:
    """Contiguous RGB copy: MediaPipe wants RGB and rejects non-contiguous views."""
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)


def check_confidence(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)
