"""The dashboard's languages: zh-CN first, English second. Every visible string comes from the catalogues
(catalogue_zh.py, catalogue_en.py).

Keys are dotted names; `Translator.t` formats `{name}` fields. A key missing from a catalogue falls back to zh-CN,
then to the key itself, so a page never fails over a string (tests check both catalogues have the same keys).
"""
from __future__ import annotations

from dataclasses import dataclass

from monitor_api.dashboard.catalogue_admin_en import ADMIN_EN
from monitor_api.dashboard.catalogue_admin_zh import ADMIN_ZH
from monitor_api.dashboard.catalogue_en import EN as _EN
from monitor_api.dashboard.catalogue_zh import ZH as _ZH

# The admin pages' messages live in their own modules (catalogue_admin_*.py); a key is defined in one place.
ZH: dict[str, str] = {**_ZH, **ADMIN_ZH}
EN: dict[str, str] = {**_EN, **ADMIN_EN}

DEFAULT_LANG = "zh"
LANG_COOKIE = "lang"

CATALOGUES: dict[str, dict[str, str]] = {"zh": ZH, "en": EN}
HTML_LANG = {"zh": "zh-CN", "en": "en"}

# Review reason codes offered per decision. The API stores the code; the catalogues name it.
# They mirror monitor_api.schemas.incidents.ReasonCode (the API refuses any other); a test checks the two agree.
REASON_CODES: dict[str, tuple[str, ...]] = {
    "confirm": ("confirmed_as_detected", "confirmed_other_behaviour"),
    "dismiss": ("dismissed_false_detection", "dismissed_authorised_absence", "dismissed_pause_not_seen",
                "dismissed_wrong_person", "dismissed_work_related", "dismissed_other"),
}

# Strings the browser scripts need (login errors, live-feed status, action results).
SCRIPT_KEYS = ("login.working", "login.failed", "login.locked", "login.error", "live.connected", "live.connecting",
               "live.disconnected", "action.working", "action.done", "action.failed", "action.session_expired",
               "action.forbidden", "action.conflict", "action.done.acknowledged", "action.done.confirm",
               "action.done.dismiss", "action.done.appeal", "action.done.upheld", "action.done.rejected",
               "feed.review.forbidden", "feed.review.offline", "feed.review.choose_reason", "feed.review.conflict",
               "review_state.confirmed", "review_state.dismissed")


def normalise_lang(value: str | None) -> str | None:
    """'en', 'en-US', 'zh-CN', 'zh' -> a catalogue name; anything else -> None."""
    if not value:
        return None
    base = value.strip().lower().replace("_", "-").split("-")[0]
    return base if base in CATALOGUES else None


@dataclass(frozen=True)
class Translator:
    lang: str

    @property
    def html_lang(self) -> str:
        return HTML_LANG[self.lang]

    def t(self, key: str, **fields: object) -> str:
        text = CATALOGUES[self.lang].get(key) or ZH.get(key) or key
        return text.format(**fields) if fields else text

    def label(self, group: str, value: str | None) -> str:
        """The name of an enum value ('status', 'present'); unknown values fall back to the group's 'unknown'."""
        key = f"{group}.{value}"
        if key in ZH:
            return self.t(key)
        return self.t(f"{group}.unknown") if f"{group}.unknown" in ZH else str(value or "")

    def attribute(self, name: str) -> str:
        """An incident attribute's name; one the catalogues do not know is shown as the rules named it."""
        key = f"attribute.{name}"
        return self.t(key) if key in ZH else name

    def reason(self, decision: str | None, code: str | None) -> str:
        key = f"reason.{decision}.{code}"
        if key in ZH:
            return self.t(key)
        for other in REASON_CODES:
            if f"reason.{other}.{code}" in ZH:
                return self.t(f"reason.{other}.{code}")
        return self.t("reason.unknown", code=code or "")

    def script_messages(self) -> dict[str, str]:
        return {key: CATALOGUES[self.lang].get(key) or ZH[key] for key in SCRIPT_KEYS}


def translator(lang: str | None) -> Translator:
    return Translator(normalise_lang(lang) or DEFAULT_LANG)
