"""An incident's reason (系统判断依据) in the visitor's language, from the code and numbers the rules sent.

The API gives `reason_detail` ({"code", "params", "notes", "closed"}: counterwatch.incidents.reasons) and `reason`,
the same in plain English. Each code is the sentence "why.<code>" of the catalogues; its parameters are formatted
by the kind CODES gives them (durations in seconds or minutes, shares as percentages, local times as they are).
An incident stored with text only, or a code or parameter this version does not know, shows the stored text.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from counterwatch.incidents.reasons import CODES
from monitor_api.dashboard.i18n import CATALOGUES, Translator


class _Unknown(Exception):
    """The structured reason is not one this version can render."""


def reason_text(document: Mapping[str, Any], tr: Translator) -> str:
    """The reason of an incident document (as the API gives it) in tr's language."""
    stored = document.get("reason")
    fallback = "" if stored is None else str(stored)
    detail = document.get("reason_detail")
    if not isinstance(detail, Mapping):
        return fallback
    try:
        clauses = [_clause(detail, tr)] + [_clause(note, tr) for note in detail.get("notes") or ()]
        text = tr.t("why.join").join(clauses)
        closed = detail.get("closed")
        return text if not closed else tr.t("why.closed", reason=text, closing=_clause(closed, tr))
    except (_Unknown, KeyError, TypeError, ValueError):
        return fallback


def _clause(clause: Any, tr: Translator) -> str:
    if not isinstance(clause, Mapping):
        raise _Unknown(clause)
    code = clause.get("code")
    spec = CODES.get(code) if isinstance(code, str) else None
    key = f"why.{code}"
    if spec is None or key not in CATALOGUES[tr.lang]:
        raise _Unknown(code)
    params = clause.get("params") or {}
    fields = {name: _value(kind, params[name], tr) for name, kind in spec.params}
    return tr.t(key, **fields)


def _value(kind: str, value: Any, tr: Translator) -> str:
    if kind == "seconds":
        return duration(float(value), tr)
    if kind == "share":
        return f"{float(value) * 100:.0f}%"
    if kind == "count":
        return str(int(value))
    if kind == "number":
        return f"{round(float(value), 2):g}"
    if kind == "pause_source":
        return tr.label("pause_source", str(value))
    if kind == "sign":
        return _known(f"why.sign.{value}", tr)
    if kind == "cues":
        if isinstance(value, str):
            raise _Unknown(value)
        return tr.t("why.list_sep").join(_known(f"why.cue.{cue}", tr) for cue in value)
    return str(value)  # clock: a local time of day, HH:MM:SS


def _known(key: str, tr: Translator) -> str:
    if key not in CATALOGUES[tr.lang]:
        raise _Unknown(key)
    return tr.t(key)


def duration(seconds: float, tr: Translator) -> str:
    """A duration as a reason reads it: '1.5 秒' for a short configured one, '45 秒', '2 分钟', '2 分 30 秒'."""
    if seconds < 0:
        raise ValueError(f"a duration is >= 0, got {seconds}")
    if seconds < 10 and not float(seconds).is_integer():
        return tr.t("duration.seconds", s=f"{seconds:g}")
    total = int(seconds + 0.5)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return tr.t("duration.hours", h=hours, m=minutes)
    if minutes and not secs:
        return tr.t("why.minutes", m=minutes)
    if minutes:
        return tr.t("duration.minutes", m=minutes, s=secs)
    return tr.t("duration.seconds", s=secs)
