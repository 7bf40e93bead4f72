"""Validation and coordinate helpers shared by the result types in ``models.types``."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ArrayValue", "check_scale", "finite", "read_only_array", "scaled", "shifted", "unit"]


def finite(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def unit(value: Any, name: str) -> float:
    number = finite(value, name)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value!r}")
    return number


def read_only_array(value: Any, shape: tuple[int, int], name: str) -> npt.NDArray[Any]:
    """Validate an (N, D) coordinate array and return a read-only float32 copy."""
    array = np.array(value, dtype=np.float32)
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must contain only finite values")
    array.setflags(write=False)
    return array


def scaled(points: npt.NDArray[Any], sx: float, sy: float) -> npt.NDArray[Any]:
    factors = np.ones(points.shape[1], dtype=np.float32)
    factors[0], factors[1] = sx, sy
    if points.shape[1] == 3:
        factors[2] = sx  # MediaPipe depth is on the same scale as x
    return points * factors


def shifted(points: npt.NDArray[Any], dx: float, dy: float) -> npt.NDArray[Any]:
    shift = np.zeros(points.shape[1], dtype=np.float32)
    shift[0], shift[1] = dx, dy
    return points + shift


def check_scale(sx: float, sy: float | None) -> tuple[float, float]:
    sx = finite(sx, "sx")
    sy = sx if sy is None else finite(sy, "sy")
    if sx <= 0 or sy <= 0:
        raise ValueError(f"scale factors must be > 0, got sx={sx}, sy={sy}")
    return sx, sy


class ArrayValue:
    """Value equality for frozen dataclasses holding numpy arrays (the generated __eq__ would be ambiguous)."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for name in self.__dataclass_fields__:  # type: ignore[attr-defined]
            mine, theirs = getattr(self, name), getattr(other, name)
            same = np.array_equal(mine, theirs) if isinstance(mine, np.ndarray) else mine == theirs
            if not same:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]
