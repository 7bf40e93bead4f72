"""WindowState: what one window looks like at one analysed frame, the only input of the behaviour rules."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from models.types import Box
from vision.cues import BehaviourCues

PAUSE_SOURCES = ("sign", "queue", "schedule")
PRESENCE_CUES = ("detector", "pose", "motion", "reference")  # vision.presence.CUES


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
    # 暂停办理: the sign is up (after hysteresis), the queue system says so, or the window is closed
    paused: bool = False
    pause_source: str | None = None  # one of PAUSE_SOURCES when paused
    on_schedule: bool = True  # within service hours (regular or extended) for this window
    rostered_staff: str | None = None  # staff id the roster puts at this window now
    motion: float = 0.0  # staff-zone motion score (0..1)
    # Presence fused from the cues (vision.presence): the occupancy probability, its decision, and the cues it had
    # (no "reference": the window has no learned empty-zone picture yet). None / () when no fusion ran.
    occupancy: float | None = None
    occupied: bool = False
    presence_cues: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.wall_time.tzinfo is None:
            raise ValueError("WindowState.wall_time must be timezone-aware (UTC)")
        if self.paused and self.pause_source not in PAUSE_SOURCES:
            raise ValueError(f"WindowState.pause_source must be one of {PAUSE_SOURCES} when paused")
        if self.citizens < 0:
            raise ValueError("WindowState.citizens must be >= 0")
        if self.occupancy is not None and not 0.0 <= self.occupancy <= 1.0:
            raise ValueError(f"WindowState.occupancy must be within 0..1, got {self.occupancy}")
        if self.occupied and self.occupancy is None:
            raise ValueError("WindowState.occupied needs an occupancy")
        unknown = set(self.presence_cues) - set(PRESENCE_CUES)
        if unknown:
            raise ValueError(f"WindowState.presence_cues: unknown {sorted(unknown)}; known {PRESENCE_CUES}")

    @property
    def staff_present(self) -> bool:
        """Someone is at the post: a person detected in the staff zone, or the presence fusion says occupied."""
        return bool(self.staff) or self.occupied

    @property
    def presence_source(self) -> str | None:
        """"detector" (a person box in the staff zone), "fusion" (no box, the other cues say occupied) or None."""
        if self.staff:
            return "detector"
        return "fusion" if self.occupied else None

    @property
    def visitors(self) -> int:
        """People in the staff zone beyond the one on duty."""
        return max(0, len(self.staff) - 1)

    @property
    def main_staff(self) -> StaffPresence | None:
        return self.staff[0] if self.staff else None
