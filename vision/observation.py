"""What perception saw in one frame: typed, frozen values handed to the window-state stage."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from models.types import Box, Detection, Face, Hand, Pose


@dataclass(frozen=True)
class Person:
    """A person found by the detector, with whatever the cascade measured on them this frame."""

    box: Box
    score: float
    window_id: str | None = None  # the window they are at (vision.window_assignment); None: no windows configured
    pose: Pose | None = None
    face: Face | None = None
    eye_aspect_ratio: float | None = None  # mean of both eyes from the face mesh; None when not measured
    head_pitch_deg: float | None = None  # positive = head tilted down; None when not measured
    hands: tuple[Hand, ...] = ()

    def __post_init__(self) -> None:
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"Person.score must be within 0..1, got {self.score}")

    @property
    def foot_point(self) -> tuple[float, float]:
        return ((self.box.x1 + self.box.x2) / 2.0, self.box.y2)


@dataclass(frozen=True)
class SignReading:
    """The pause-sign check of one window. `checked` is False when the cascade did not look this frame."""

    window_id: str
    checked: bool
    marker_seen: bool = False
    text_confirmed: bool | None = None  # None: OCR not run
    text: str = ""

    @property
    def visible(self) -> bool:
        """The marker decides; the text only adds confidence (at CCTV distance the text is often too small to read)."""
        return self.marker_seen


@dataclass(frozen=True)
class WindowMotion:
    window_id: str
    score: float  # fraction of staff-zone pixels that changed since the previous analysed frame
    analysed: bool  # heavy models ran for this window this frame (False: the motion gate reused the last result)
    # a full look at the staff ran (behaviour cues measured afresh; False: carried from the last look, or reused)
    looked: bool = True


@dataclass(frozen=True)
class Observation:
    camera_id: str
    frame_index: int
    ts: float
    wall_time: datetime
    width: int
    height: int
    persons: tuple[Person, ...] = ()
    objects: tuple[Detection, ...] = ()  # everything but persons, frame coordinates
    signs: tuple[SignReading, ...] = ()
    motion: tuple[WindowMotion, ...] = ()
    timings_ms: tuple[tuple[str, float], ...] = field(default=())  # (model, milliseconds) for each run this frame

    def persons_in(self, window_id: str) -> tuple[Person, ...]:
        return tuple(p for p in self.persons if p.window_id == window_id)

    def sign(self, window_id: str) -> SignReading | None:
        return next((s for s in self.signs if s.window_id == window_id), None)
