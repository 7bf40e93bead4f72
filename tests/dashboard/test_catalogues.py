"""The dashboard's message catalogues: complete in both languages, and naming every code the API can send."""
from __future__ import annotations

import re

from monitor_api.dashboard.i18n import CATALOGUES, EN, REASON_CODES, SCRIPT_KEYS, ZH, translator
from monitor_api.dashboard.present import WINDOW_STATUSES
from monitor_api.dashboard.rendering import STATIC_DIR, TEMPLATES_DIR


def test_both_catalogues_have_the_same_keys_and_no_empty_string() -> None:
    assert set(ZH) == set(EN), {"only zh": set(ZH) - set(EN), "only en": set(EN) - set(ZH)}
    for lang, catalogue in CATALOGUES.items():
        assert all(text.strip() for text in catalogue.values()), lang


def test_the_same_placeholders_in_both_languages() -> None:
    fields = re.compile(r"\{(\w+)\}")
    for key in ZH:
        assert set(fields.findall(ZH[key])) == set(fields.findall(EN[key])), key


def test_every_key_a_template_or_script_uses_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES_DIR.glob("*.html"):
        used |= set(re.findall(r"tr\.t\('([\w.]+)'", template.read_text(encoding="utf-8")))
    for script in STATIC_DIR.glob("*.js"):
        used |= set(re.findall(r"cw\.t\('([\w.]+)'", script.read_text(encoding="utf-8")))
    assert used, "no message keys found: the pattern is out of date"
    assert used - set(ZH) == set()
    scripted = {key for script in STATIC_DIR.glob("*.js")
                for key in re.findall(r"cw\.t\('([\w.]+)'", script.read_text(encoding="utf-8"))}
    assert scripted <= set(SCRIPT_KEYS), "a script uses a message the page does not hand to it"


def test_codes_the_api_sends_are_translated() -> None:
    from counterwatch.incidents.events import INCIDENT_TYPES
    from monitor_api.schemas.incidents import ReasonCode
    from monitor_api.storage.models import IncidentState, ReviewState, Role

    assert {code for codes in REASON_CODES.values() for code in codes} == {code.value for code in ReasonCode}
    for lang in CATALOGUES:
        tr = translator(lang)
        names = [tr.label("incident_type", kind) for kind in INCIDENT_TYPES]
        assert len(set(names)) == len(INCIDENT_TYPES), names  # no type falls back to "other behaviour"
        for group, values in (("incident_state", IncidentState), ("review_state", ReviewState), ("role", Role)):
            for value in values:
                assert f"{group}.{value.value}" in CATALOGUES[lang], (lang, group, value)
        for status in WINDOW_STATUSES:
            assert f"status.{status}" in CATALOGUES[lang]
        for decision, codes in REASON_CODES.items():
            for code in codes:
                assert f"reason.{decision}.{code}" in CATALOGUES[lang]


def test_zh_cn_is_the_default_and_english_is_chosen_by_name() -> None:
    assert translator(None).t("incident_type.absent_without_pause") == "离岗未放暂停牌"
    assert translator("zh-CN").t("incident_type.sleeping") == "睡岗"
    assert translator("en-US").t("incident_type.phone_use") == "Phone use"
    assert translator("fr").lang == "zh"
