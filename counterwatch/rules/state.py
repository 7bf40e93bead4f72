"""WindowState: what one window looks like at one analysed frame, the only input of the behaviour rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.types import Box
from vision.cues import BehaviourCues

PAUSE_SOURCES = ("sign", "queue", "schedule")


@dataclass(frozen=True)
class StaffPresence:
    """A tracked person in the window's staff zone."""

    track_id: int
    box: Box
    score: float
    cues: BehaviourCues = BehaviourCues()


@dataclass(frozen=True)
class WindowState:
    window_id: str
    camera_id: str
    frame_index: int
    ts: float  # stream seconds, monotonic within one camera
    wall_time: datetime  # UTC
    staff: tuple[StaffPresence, ...] = ()  # people in the staff zone, best detection first
    citizens: int = 0  # people on the citizen side of the counter
    sign_visible: bool | None = None  # None: the sign was not checked this frame (someone is at the post)
    paused: bool = False  # 暂停办理: the sign is up (after hysteresis), the queue system says so, or the window is closed
    pause_source: str | None = None  # one of PAUSE_SOURCES when paused
    on_schedule: bool = True  # within service hours (regular or extended) for this window
    rostered_staff: str | None = None  # staff id the roster puts at this window now
    motion: float = 0.0  # staff-zone motion score (0..1)

    def __post_init__(self) -> None:
        if self.wall_time.tzinfo is None:
            raise ValueError("WindowState.wall_time must be timezone-aware (UTC)")
        if self.paused and self.pause_source not in PAUSE_SOURCES:
            raise ValueError(f"WindowState.pause_source must be one of {PAUSE_SOURCES} when paused")
        if self.citizens < 0:
            raise ValueError("WindowState.citizens must be >= 0")

    @property
    def staff_present(self) -> bool:
        return bool(self.staff)

    @property
    def visitors(self) -> int:
        """People in the staff zone beyond the one on duty."""
        return max(0, len(self.staff) - 1)

    @property
    def main_staff(self) -> StaffPresence | None:
        return self.staff[0] if self.staff else None
