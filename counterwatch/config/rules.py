"""Behaviour-rule thresholds. Defaults are the seed table in DESIGN.md; every threshold lives here, not in code."""
from __future__ import annotations

from pydantic import Field, ValidationInfo, field_validator

from counterwatch.config.base import Strict


class CommonRuleSettings(Strict):
    """How every rule treats the frame stream and paces its incident events."""

    max_frame_gap_s: float = Field(default=5.0, gt=0, le=3600, description="A jump in frame time longer than this "
                                   "(or than frame_gap_factor times the usual frame interval, whichever is longer) "
                                   "is an observation gap: time inside it counts neither towards a dwell nor towards "
                                   "clearing an incident.")
    frame_gap_factor: float = Field(default=3.0, ge=1, le=100, description="Gap threshold as a multiple of the "
                                    "median recent frame interval (for cameras analysed at low rates).")
    update_every_s: float = Field(default=60.0, ge=1, le=3600, description="An open incident sends an 'updated' "
                                  "event at least this often (a heartbeat for the live wall).")
    update_peak_step: float = Field(default=0.05, gt=0, le=1, description="An open incident also sends 'updated' "
                                    "when its peak confidence rises by at least this much.")
    track_forget_s: float = Field(default=1.0, ge=0, le=600, description="Per-person rule state (eye baseline, "
                                  "hand movements) is deleted once a track has been missing this long.")


class RuleBase(Strict):
    enabled: bool = Field(default=True, description="Turn the rule on or off for this hall.")
    cooldown_s: float = Field(default=60.0, ge=0, le=3600, description="After an incident closes, the same rule "
                              "on the same window may not open a new one for this long.")


class AbsentWithoutPause(RuleBase):
    """行为规定 3: leaving the post without 暂停办理 set and the sign shown."""

    dwell_s: float = Field(default=120.0, ge=5, le=3600, description="No staff in the zone for this long opens it.")
    return_s: float = Field(default=5.0, ge=0, le=300, description="Staff present this long closes it (hysteresis).")
    min_fraction: float = Field(default=0.7, gt=0, le=1, description="Fraction of analysed frames of the last dwell_s "
                                "without staff (tolerates false detections; a present person whose detection "
                                "drops out now and then stays well below it).")


class PhoneUse(RuleBase):
    """行为规定 5 (1)(3): playing with the phone."""

    dwell_s: float = Field(default=30.0, ge=2, le=3600,
                           description="Sliding window length over which phone cues count.")
    min_fraction: float = Field(default=0.7, gt=0, le=1, description="Fraction of analysed frames in the sliding "
                                "window that must show a phone cue (tolerates missed detections).")
    clear_s: float = Field(default=10.0, ge=0, le=600, description="No cue for this long closes the incident.")
    min_score: float = Field(default=0.3, gt=0, le=1, description="Phone cue score (0..1) from which a frame counts "
                             "as showing a phone; a call posture always counts.")


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


class Smoking(RuleBase):
    """行为规定 5 (1): smoking at the counter. A cigarette is too small for the object detector and no image cue for
    it measured better than chance, so puffs are told by hand-to-mouth geometry and timing alone: movements of a
    puff's length with no food, cup or phone near, repeated over minutes (counterwatch/rules/smoking.py). Coughing
    into a hand looks the same, hence off until a hall has checked it on its own cameras."""

    enabled: bool = Field(default=False, description="Turn the rule on for this hall (off by default: geometry "
                          "only, see README).")
    dwell_s: float = Field(default=120.0, ge=10, le=3600, description="Sliding window length: a smoker takes a puff "
                           "every 20-60 s.")
    min_hand_to_mouth: int = Field(default=3, ge=2, le=100, description="Puff-like movements that must start "
                                   "within the window (one long movement, a chin resting on a hand, is never "
                                   "repetition).")
    clear_s: float = Field(default=90.0, ge=0, le=1800, description="No puff-like frame for this long closes the "
                           "incident (longer than the pause between puffs).")
    min_movement_s: float = Field(default=1.5, ge=0, le=60, description="A movement counts only when the hand "
                                  "stayed at the mouth at least this long (a puff lasts 1.5-3 s; scratching the "
                                  "nose is shorter). A learned smoking head firing on the movement waives it.")
    max_movement_s: float = Field(default=8.0, gt=0, le=600, description="A movement longer than this is resting "
                                  "the head on a hand, not a puff, and never counts.")
    object_memory_s: float = Field(default=10.0, ge=0, le=600, description="Food, a cup or bottle, or a phone near "
                                   "the person from this long before a movement until its end keeps the movement "
                                   "from counting (eating, drinking and calls look the same, and detectors miss "
                                   "objects held at the mouth).")
    phone_max_score: float = Field(default=0.3, gt=0, le=1, description="A phone cue at or above this counts as a "
                                   "phone near the person.")

    @field_validator("max_movement_s")
    @classmethod
    def _longer_than_min(cls, value: float, info: ValidationInfo) -> float:
        shortest = info.data.get("min_movement_s")
        if shortest is not None and value <= shortest:
            raise ValueError(f"max_movement_s ({value}) must exceed min_movement_s ({shortest})")
        return value


class Sleeping(RuleBase):
    """行为规定 5 (2): dozing on the counter (趴台打盹)."""

    dwell_s: float = Field(default=60.0, ge=5, le=3600, description="Head down or eyes closed with little motion "
                           "for this long opens it.")
    min_fraction: float = Field(default=0.8, gt=0, le=1, description="Fraction of frames in the window with the cue.")
    max_motion: float = Field(default=0.02, ge=0, le=1, description="Motion score in the staff zone below which the "
                              "person counts as still.")
    clear_s: float = Field(default=10.0, ge=0, le=600, description="Awake this long closes the incident.")
    eyes_closed_ratio: float = Field(default=0.6, gt=0, lt=1, description="Eyes count as closed when the eye "
                                     "aspect ratio is below this fraction of the person's open-eye baseline.")
    ear_baseline_percentile: float = Field(default=0.9, gt=0, le=1, description="The open-eye baseline is this "
                                           "percentile of the person's recent eye aspect ratios.")
    ear_baseline_min_samples: int = Field(default=20, ge=1, le=10000, description="Eye aspect ratios needed "
                                          "before closed eyes are judged for a person.")
    ear_history_frames: int = Field(default=600, ge=1, le=100000, description="Recent eye aspect ratios kept per "
                                    "person for the baseline (bounds memory).")


class LateArrival(RuleBase):
    """行为规定 2: at the post 5 minutes before opening."""

    arrive_before_open_s: float = Field(default=300.0, ge=0, le=3600, description="Staff must be present this long "
                                        "before opening.")
    grace_s: float = Field(default=0.0, ge=0, le=3600, description="Tolerance after that deadline.")
    presence_s: float = Field(default=5.0, gt=0, le=600, description="Staff seen this long (short dropouts "
                              "tolerated) counts as an arrival; a single false detection is not one.")
    presence_min_fraction: float = Field(default=0.5, gt=0, le=1, description="Fraction of the frames of the last "
                                         "presence_s that must show staff for an arrival.")


class LeftDuringService(RuleBase):
    """行为规定 2: never leave mid-service (a citizen is at the counter)."""

    citizen_present_s: float = Field(default=5.0, ge=0, le=600, description="A citizen must have been at the counter "
                                     "this long before the staff left for the departure to count.")
    dwell_s: float = Field(default=30.0, ge=2, le=3600, description="Staff absent this long while the citizen waits.")
    return_s: float = Field(default=5.0, ge=0, le=300, description="Staff present this long closes it (hysteresis).")
    min_fraction: float = Field(default=0.7, gt=0, le=1, description="Fraction of analysed frames of the last "
                                "dwell_s without staff.")
    citizen_gone_s: float = Field(default=5.0, ge=0, le=300, description="No citizen at the counter for this long "
                                  "ends the wait (short dropouts of the citizen detection are tolerated).")


class RulesConfig(Strict):
    common: CommonRuleSettings = Field(default_factory=CommonRuleSettings)
    absent_without_pause: AbsentWithoutPause = Field(default_factory=AbsentWithoutPause)
    phone_use: PhoneUse = Field(default_factory=PhoneUse)
    eating: Eating = Field(default_factory=Eating)
    drinking: Drinking = Field(default_factory=Drinking)
    smoking: Smoking = Field(default_factory=Smoking)
    sleeping: Sleeping = Field(default_factory=Sleeping)
    late_arrival: LateArrival = Field(default_factory=LateArrival)
    left_during_service: LeftDuringService = Field(default_factory=LeftDuringService)
