"""The perception settings come from the hall config in one place, with one set of bounds."""
from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from counterwatch.config.runtime_settings import cascade_settings, cue_settings
from counterwatch.config.schema import CuesConfig, PerceptionConfig
from vision.cascade import CASCADE_LIMITS, CascadeSettings
from vision.cues import CueSettings


@pytest.mark.parametrize("name", sorted(CASCADE_LIMITS))
def test_config_and_cascade_share_the_bounds(name):
    low, high = CASCADE_LIMITS[name]
    config_fields = PerceptionConfig.model_fields
    for value in (low, high):
        CascadeSettings(**{name: value})
        if name in config_fields:
            PerceptionConfig(**{name: value})
    step = 1 if isinstance(low, int) and isinstance(high, int) else 1e-6
    for value in (low - step, high + step):
        with pytest.raises(ValueError, match=name):
            CascadeSettings(**{name: value})
        if name in config_fields:
            with pytest.raises(ValidationError, match=name):
                PerceptionConfig(**{name: value})


def test_every_cue_threshold_is_configurable_with_the_same_defaults():
    config_names = set(CuesConfig.model_fields)
    settings_names = {f.name for f in dataclasses.fields(CueSettings)}
    assert config_names == settings_names
    assert cue_settings() == CueSettings()


def test_configured_cues_reach_the_settings_and_bad_ones_name_the_field():
    assert cue_settings(CuesConfig(mouth_distance=0.9, phone_reach=2.0)).mouth_distance == 0.9
    with pytest.raises(ValidationError, match="phone_reach"):
        CuesConfig(phone_in_hand=1.0, phone_reach=0.8)
    with pytest.raises(ValidationError, match="keypoint_min_score"):
        CuesConfig(keypoint_min_score=1.5)


def test_cascade_settings_follow_the_perception_section(demo_config):
    changed = demo_config.model_copy(update={"perception": PerceptionConfig(crop_min_px=64, max_staff_per_window=3)})
    settings = cascade_settings(changed)
    assert (settings.crop_min_px, settings.max_staff_per_window) == (64, 3)
    assert cascade_settings(None) == CascadeSettings()
