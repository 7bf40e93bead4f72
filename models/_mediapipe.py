"""Shared helpers for the MediaPipe legacy ``solutions`` runtimes."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np
import numpy.typing as npt

# glog prints an INFO line per graph unless told otherwise; only a default, so an operator debugging MediaPipe can
# still turn it on. absl's log, which MediaPipe's calculators and its TFLite use, reads no environment variable:
# until absl::InitializeLog() is called (the wheel never calls it) every warning goes to stderr. Those lines come
# while a graph starts and on its first results, so that is when `QuietStartSolution` drops them.
os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import mediapipe as mp  # noqa: E402  (the environment defaults above must be set first)

from models._native_log import native_start_filtered  # noqa: E402

__all__ = ["QuietStartSolution", "check_confidence", "mp", "to_rgb"]


class QuietStartSolution:
    """A MediaPipe solution whose start-up lines are dropped (`native_start_filtered`): its graph is built and run
    once on a blank frame, which opens every calculator and loads every model, and later frames run filtered until
    the first one with a result (some calculators warn on the first landmarks they project). After that, frames run
    unfiltered, so warnings MediaPipe gives while running still reach stderr. Not thread-safe by itself: the
    runtimes call `process` under their lock."""

    _WARM_UP_FRAME = np.zeros((64, 64, 3), np.uint8)

    def __init__(self, factory: Callable[..., Any], **kwargs: Any) -> None:
        with native_start_filtered():
            self._solution = factory(**kwargs)
            # process() waits until the graph is idle: calculators open asynchronously after the constructor
            # returns, and would otherwise log after the window closed.
            self._solution.process(self._WARM_UP_FRAME)
        self._started = False

    def process(self, rgb: npt.NDArray[Any]) -> Any:
        if self._started:
            return self._solution.process(rgb)
        with native_start_filtered():
            result = self._solution.process(rgb)
        # A solution's result is a named-tuple class whose field attributes are all None when it found nothing.
        self._started = any(getattr(result, field) is not None for field in result._fields)
        return result

    def close(self) -> None:
        self._solution.close()


def to_rgb(image_bgr: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """Contiguous RGB copy: MediaPipe wants RGB and rejects non-contiguous views."""
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)


def check_confidence(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be a number in [0, 1], got {value!r}")
    return float(value)
