"""Shared building blocks of the configuration schema."""
from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$",
          description="An identifier: letters, digits, '_', '.', '-'; starts with a letter or digit."),
]

_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"expected a time of day as HH:MM (24 h), got {value!r}")
    return value


ClockTime = Annotated[str, AfterValidator(_check_hhmm),
                      Field(description="Time of day, HH:MM, 24-hour, hall local time.")]


def minutes_of(hhmm: str) -> int:
    hours, minutes = hhmm.split(":")
    return int(hours) * 60 + int(minutes)


class Strict(BaseModel):
    """Base for every config section: unknown keys are errors and values are immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


Point = Annotated[
    tuple[Annotated[float, Field(ge=0.0, le=1.0)], Annotated[float, Field(ge=0.0, le=1.0)]],
    Field(description="A point [x, y] as fractions of the rotated frame's width and height (0..1)."),
]


class TimeRange(Strict):
    start: ClockTime = Field(description="Start, HH:MM.")
    end: ClockTime = Field(description="End, HH:MM; must be after start (ranges do not cross midnight).")

    @model_validator(mode="after")
    def _ordered(self) -> TimeRange:
        if minutes_of(self.end) <= minutes_of(self.start):
            raise ValueError(f"end {self.end} must be after start {self.start}")
        return self

    def contains(self, minute_of_day: float) -> bool:
        return minutes_of(self.start) <= minute_of_day < minutes_of(self.end)
