"""The value a camera hands to the rest of the system."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Frame:
    """One decoded, rotated image from one camera.

    `ts` is the stream time in seconds: monotonic within one camera's stream, taken from the source (file position
    for files, a monotonic clock for live sources). Rules use `ts`, never the wall clock. `wall_time` is UTC and is
    what gets stored.
    """

    camera_id: str
    index: int
    ts: float
    wall_time: datetime
    image: npt.NDArray[Any]

    def __post_init__(self) -> None:
        if not self.camera_id:
            raise ValueError("Frame.camera_id must be a non-empty string")
        if not isinstance(self.image, np.ndarray) or self.image.ndim != 3 or self.image.shape[2] != 3:
            shape = getattr(self.image, "shape", None)
            raise ValueError(f"Frame.image must be an HxWx3 BGR array, got shape {shape}")
        if self.image.dtype != np.uint8:
            raise ValueError(f"Frame.image must be uint8, got {self.image.dtype}")
        if self.wall_time.tzinfo is None:
            raise ValueError("Frame.wall_time must be timezone-aware (UTC)")

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])
