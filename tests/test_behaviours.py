"""The behaviour table is the one list of behaviours: every other list derives from it and agrees with it."""
from __future__ import annotations

import pytest

from counterwatch.behaviours import (
    ABSENCE_TYPES,
    BEHAVIOURS,
    HEAD_BEHAVIOURS,
    INCIDENT_TYPES,
    LABELLED_BEHAVIOURS,
    Behaviour,
    behaviour,
)
from counterwatch.config.rules import RulesConfig
from counterwatch.rules.base import registered_rules
from counterwatch.rules.engine import RuleEngine  # noqa: F401  (loads the rule modules of the table)
from monitor_api.dashboard.i18n import EN, ZH
from monitor_api.dashboard.labelling_pages import KEYS
from monitor_api.scoring.config import DEFAULT_INCIDENTS
from monitor_api.storage.labelling import LABELS


def test_every_behaviour_has_its_rule_settings_names_and_default_points():
    rules = registered_rules()
    assert set(rules) == set(INCIDENT_TYPES)
    for row in BEHAVIOURS:
        assert rules[row.name].__module__ == row.rule_module
        assert row.name in RulesConfig.model_fields, f"rules.{row.name} has no settings in the config"
        assert ZH[f"incident_type.{row.name}"] == row.zh and EN[f"incident_type.{row.name}"] == row.en
        assert DEFAULT_INCIDENTS[row.name].points == row.deduction


def test_derived_lists_follow_the_table():
    assert INCIDENT_TYPES[0] == "absent_without_pause" and len(INCIDENT_TYPES) == len(BEHAVIOURS)
    assert HEAD_BEHAVIOURS == ("phone_use", "eating", "drinking", "sleeping")
    assert ABSENCE_TYPES == {"absent_without_pause", "left_during_service"}
    assert [label for _, label in KEYS] == [*LABELLED_BEHAVIOURS, "none", "skip"]
    assert set(LABELLED_BEHAVIOURS) <= set(LABELS) and "smoking" in LABELLED_BEHAVIOURS


def test_a_bad_row_is_refused_with_its_name():
    with pytest.raises(ValueError, match="label_key"):
        Behaviour("x", "x", "x", "m", label_key="12")
    with pytest.raises(ValueError, match="ascend"):
        Behaviour("x", "x", "x", "m", deduction_bands=((600, 4), (300, 3)))
    with pytest.raises(ValueError, match="unknown behaviour 'dancing'"):
        behaviour("dancing")
