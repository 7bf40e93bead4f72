"""The validated hall config -> the settings values of the perception stages, built here and nowhere else.

vision/ knows nothing of the config: each stage takes a frozen settings value (CascadeSettings, CueSettings,
PresenceSettings) whose own checks use the same bounds as the config fields that fill it."""
from __future__ import annotations

from counterwatch.config.schema import CuesConfig, HallConfig, PerceptionConfig, PresenceConfig
from vision.cascade import CascadeSettings
from vision.cues import CueSettings
from vision.presence import PresenceSettings


def cascade_settings(config: HallConfig | None) -> CascadeSettings:
    p = config.perception if config is not None else PerceptionConfig()
    return CascadeSettings(person_min_score=p.person_min_score, object_min_score=p.object_min_score,
                           crop_margin=p.crop_margin, crop_min_px=p.crop_min_px, motion_threshold=p.motion_threshold,
                           static_recheck_s=p.static_recheck_s, max_staff_per_window=p.max_staff_per_window,
                           ocr_interval_s=p.static_recheck_s, look_interval_s=p.look_interval_s,
                           idle_look_interval_s=p.idle_look_interval_s, confirm_interval_s=p.confirm_interval_s)


def cue_settings(config: CuesConfig | None = None) -> CueSettings:
    """The behaviour cues' geometry from the `perception.cues` section (its defaults when None)."""
    return CueSettings(**(config or CuesConfig()).model_dump())


def presence_settings(config: PresenceConfig) -> PresenceSettings:
    """The presence fusion's settings from the hall config's `presence:` section."""
    return PresenceSettings(
        reference_learn_s=config.reference_learn_s, reference_update_tau_s=config.reference_update_tau_s,
        reference_max_age_s=config.reference_max_age_s, reference_empty_below=config.reference_empty_below,
        reference_occupied_above=config.reference_occupied_above, reference_support_s=config.reference_support_s,
        motion_above=config.motion_above,
        switch_tau_s=config.switch_tau_s, occupied_above=config.occupied_above, empty_below=config.empty_below)
