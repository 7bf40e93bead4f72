"""Behaviour-rule thresholds. Defaults are the seed table in DESIGN.md; every threshold lives here, not in code."""
from __future__ import annotations

from pydantic import Field

from counterwatch.config.base import Strict


class RuleBase(Strict):
    enabled: bool = Field(default=True, description="Turn the rule on or off for this hall.")
    cooldown_s: float = Field(default=60.0, ge=0, le=3600, description="After an incident closes, the same rule "
                              "on the same window may not open a new one for this long.")


class AbsentWithoutPause(RuleBase):
    """行为规定 3: leaving the post without 暂停办理 set and the sign shown."""

    dwell_s: float = Field(default=120.0, ge=5, le=3600, description="No staff in the zone for this long opens it.")
    return_s: float = Field(default=5.0, ge=0, le=300, description="Staff present this long closes it (hysteresis).")


class PhoneUse(RuleBase):
    """行为规定 5 (1)(3): playing with the phone."""

    dwell_s: float = Field(default=30.0, ge=2, le=3600, description="Sliding window length over which phone cues count.")
    min_fraction: float = Field(default=0.7, gt=0, le=1, description="Fraction of analysed frames in the sliding "
                                "window that must show a phone cue (tolerates missed detections).")
    clear_s: float = Field(default=10.0, ge=0, le=600, description="No cue for this long closes the incident.")


class Eating(RuleBase):
    """行为规定 5 (1): eating at the counter."""

    dwell_s: float = Field(default=20.0, ge=2, le=3600, description="Sliding window length.")
    min_hand_to_mouth: int = Field(default=3, ge=1, le=100, description="Hand-to-mouth movements within the window.")
    clear_s: float = Field(default=15.0, ge=0, le=600, description="No cue for this long closes the incident.")


class Drinking(RuleBase):
    """Drinking is its own type so that a hall can allow water (set enabled: false)."""

    dwell_s: float = Field(default=20.0, ge=2, le=3600, description="Sliding window length.")
    min_hand_to_mouth: int = Field(default=2, ge=1, le=100, description="Hand-to-mouth movements with a cup or bottle.")
    clear_s: float = Field(default=15.0, ge=0, le=600, description="No cue for this long closes the incident.")


class Sleeping(RuleBase):
    """行为规定 5 (2): dozing on the counter (趴台打盹)."""

    dwell_s: float = Field(default=60.0, ge=5, le=3600, description="Head down or eyes closed with little motion "
                           "for this long opens it.")
    min_fraction: float = Field(default=0.8, gt=0, le=1, description="Fraction of frames in the window with the cue.")
    max_motion: float = Field(default=0.02, ge=0, le=1, description="Motion score in the staff zone below which the "
                              "person counts as still.")
    clear_s: float = Field(default=10.0, ge=0, le=600, description="Awake this long closes the incident.")


class LateArrival(RuleBase):
    """行为规定 2: at the post 5 minutes before opening."""

    arrive_before_open_s: float = Field(default=300.0, ge=0, le=3600, description="Staff must be present this long "
                                        "before opening.")
    grace_s: float = Field(default=0.0, ge=0, le=3600, description="Tolerance after that deadline.")


class LeftDuringService(RuleBase):
    """行为规定 2: never leave mid-service (a citizen is at the counter)."""

    citizen_present_s: float = Field(default=5.0, ge=0, le=600, description="A citizen must have been at the counter "
                                     "this long before the staff left for the departure to count.")
    dwell_s: float = Field(default=30.0, ge=2, le=3600, description="Staff absent this long while the citizen waits.")


class RulesConfig(Strict):
    absent_without_pause: AbsentWithoutPause = Field(default_factory=AbsentWithoutPause)
    phone_use: PhoneUse = Field(default_factory=PhoneUse)
    eating: Eating = Field(default_factory=Eating)
    drinking: Drinking = Field(default_factory=Drinking)
    sleeping: Sleeping = Field(default_factory=Sleeping)
    late_arrival: LateArrival = Field(default_factory=LateArrival)
    left_during_service: LeftDuringService = Field(default_factory=LeftDuringService)
