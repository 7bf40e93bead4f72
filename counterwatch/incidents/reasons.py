"""Why an incident was raised, as data: a code and its numbers, not a sentence.

A `Reason` is the main clause a rule emits (e.g. "absent.no_staff" with how long nobody has been at the post), any
notes (e.g. what the presence fusion said) and, once the incident has closed, the clause saying why it closed.
Every code is declared in CODES with its parameters and their kinds; a Reason with an undeclared code or other
parameters is refused, so the catalogues of the dashboard can be checked against CODES.

Kinds of parameters, and what their numbers mean:
- seconds: a duration in seconds (a measured one rounded to 0.1 s, or a configured one as set);
- share: a fraction 0..1 of analysed frames (shown as a percentage);
- count: a whole number of frames, movements or people;
- clock: a local time of day in the hall's zone, "HH:MM:SS" (the rule knows the hall's calendar);
- number: a score without a unit;
- pause_source, sign: a word from a fixed list; cues: a list of presence cues.

`english` renders a Reason as one line of plain English, for logs, incidents.jsonl and API clients; the dashboard
renders the same data in zh-CN or English through its catalogues. `to_dict` / `from_dict` are the JSON form:
{"code": ..., "params": {...}, "notes": [{"code": ..., "params": {...}}], "closed": {...} or null}.
"""
from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

ParamValue = int | float | str | tuple[str, ...]

PAUSE_SOURCES = ("sign", "queue", "schedule")  # counterwatch.rules.state.PAUSE_SOURCES
SIGN_STATES = ("not_seen", "not_checked")
PRESENCE_CUES = ("detector", "pose", "motion", "reference")  # counterwatch.rules.state.PRESENCE_CUES
KINDS = ("seconds", "share", "count", "clock", "number", "pause_source", "sign", "cues")
ROLES = ("main", "note", "closed")


@dataclass(frozen=True)
class CodeSpec:
    role: str  # main: what the rule saw; note: a detail added to it; closed: why the incident ended
    params: tuple[tuple[str, str], ...]  # (name, kind) in display order
    english: str  # str.format template over the params, each already formatted


def _spec(role: str, english: str, **params: str) -> CodeSpec:
    return CodeSpec(role, tuple(params.items()), english)


_S, _SHARE, _N, _CLOCK = "seconds", "share", "count", "clock"

CODES: dict[str, CodeSpec] = {
    "absent.no_staff": _spec(
        "main", "nobody at the post for {absent_s} (an alert after {dwell_s}); no staff in {share} of the frames of "
        "the last {dwell_s} (needs {min_share}); {sign}; queue not paused; within service hours; "
        "{citizens_waiting} citizen(s) waiting",
        absent_s=_S, dwell_s=_S, share=_SHARE, min_share=_SHARE, sign="sign", citizens_waiting=_N),
    "phone.cue": _spec(
        "main", "phone cue for {held_s} (an alert after {dwell_s}): {share} of the {frames} frames of the last "
        "{dwell_s} (needs {min_share}); phone seen in {phone_frames}, call posture in {call_frames}, learned head "
        "in {head_frames}; best phone score {best_score}",
        held_s=_S, dwell_s=_S, frames=_N, share=_SHARE, min_share=_SHARE, phone_frames=_N, call_frames=_N,
        head_frames=_N, best_score="number"),
    "eating.hand_to_mouth": _spec(
        "main", "{movements} hand-to-mouth movements with food near in the last {dwell_s} (an alert at "
        "{min_movements}), for {held_s} since the first",
        movements=_N, min_movements=_N, dwell_s=_S, held_s=_S),
    "drinking.hand_to_mouth": _spec(
        "main", "{movements} hand-to-mouth movements with a cup or bottle near in the last {dwell_s} (an alert at "
        "{min_movements}), for {held_s} since the first",
        movements=_N, min_movements=_N, dwell_s=_S, held_s=_S),
    "sleeping.still": _spec(
        "main", "asleep-looking for {held_s} (an alert after {dwell_s}): {share} of the {frames} frames of the last "
        "{dwell_s} (needs {min_share}); head down in {head_down_frames}, eyes closed in {eyes_closed_frames}, "
        "learned head in {head_frames}, with motion <= {max_motion}",
        held_s=_S, dwell_s=_S, frames=_N, share=_SHARE, min_share=_SHARE, head_down_frames=_N,
        eyes_closed_frames=_N, head_frames=_N, max_motion="number"),
    "smoking.puffs": _spec(
        "main", "{puffs} puff-like hand-to-mouth movements ({min_movement_s} to {max_movement_s} each, no food, cup "
        "or phone near) in the last {dwell_s} (an alert at {min_puffs}), for {held_s} since the first; "
        "hand-to-mouth geometry only",
        puffs=_N, min_puffs=_N, dwell_s=_S, min_movement_s=_S, max_movement_s=_S, held_s=_S),
    "late.not_at_post": _spec(
        "main", "staff not at the post at the deadline {deadline_at} (opening {opening_at}, due {before_open_s} "
        "before, grace {grace_s}); checked at {seen_at}",
        deadline_at=_CLOCK, opening_at=_CLOCK, before_open_s=_S, grace_s=_S, seen_at=_CLOCK),
    "left.during_service": _spec(
        "main", "staff left at {left_at} while a citizen had been at the counter for {served_s}; away {away_s} (an "
        "alert after {dwell_s}) with {citizens_waiting} citizen(s) waiting; no pause set",
        left_at=_CLOCK, served_s=_S, away_s=_S, dwell_s=_S, citizens_waiting=_N),
    "presence.fusion": _spec("note", "occupancy {occupancy} from {cues}", occupancy=_SHARE, cues="cues"),
    "closed.pause_started": _spec("closed", "pause started ({source})", source="pause_source"),
    "closed.off_schedule": _spec("closed", "window went off schedule"),
    "closed.staff_back": _spec("closed", "staff back for {back_s}", back_s=_S),
    "closed.citizen_gone": _spec("closed", "no citizen at the counter for {gone_s}", gone_s=_S),
    "closed.no_phone": _spec("closed", "no phone cue for {quiet_s}", quiet_s=_S),
    "closed.no_eating": _spec("closed", "no hand-to-mouth with food for {quiet_s}", quiet_s=_S),
    "closed.no_drinking": _spec("closed", "no hand-to-mouth with a cup or bottle for {quiet_s}", quiet_s=_S),
    "closed.awake": _spec("closed", "awake or moving for {quiet_s}", quiet_s=_S),
    "closed.no_puffs": _spec("closed", "no puff-like movement for {quiet_s}", quiet_s=_S),
    "closed.arrived": _spec("closed", "arrived at {arrived_at}, {late_s} after the deadline", arrived_at=_CLOCK,
                            late_s=_S),
    "closed.nobody_arrived": _spec("closed", "nobody arrived before closing ({closing_at})", closing_at=_CLOCK),
    "closed.stream_restarted": _spec("closed", "stream time went back from {from_ts} to {to_ts} (stream restarted)",
                                     from_ts="number", to_ts="number"),
    "closed.monitoring_stopped": _spec("closed", "monitoring stopped"),
}

_ENGLISH_VALUES = {"sign.not_seen": "pause sign not seen", "sign.not_checked": "pause sign not checked"}
_CHOICES = {"pause_source": PAUSE_SOURCES, "sign": SIGN_STATES}


def _check_value(code: str, name: str, kind: str, value: Any) -> ParamValue:
    """The value in its stored form (numbers rounded as their kind reads), or ValueError."""
    where = f"reason {code!r} parameter {name!r}"
    if kind in ("seconds", "share", "number"):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ValueError(f"{where} must be a finite number, got {value!r}")
        if kind == "share" and not 0.0 <= value <= 1.0:
            raise ValueError(f"{where} must be within 0..1, got {value!r}")
        return round(float(value), 1 if kind == "seconds" else 3)
    if kind == "count":
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{where} must be a whole number >= 0, got {value!r}")
        return value
    if kind == "cues":
        if isinstance(value, str) or not all(item in PRESENCE_CUES for item in value):
            raise ValueError(f"{where} must be a list of {PRESENCE_CUES}, got {value!r}")
        return tuple(value)
    if not isinstance(value, str):
        raise ValueError(f"{where} must be a string, got {value!r}")
    if kind in _CHOICES and value not in _CHOICES[kind]:
        raise ValueError(f"{where} must be one of {_CHOICES[kind]}, got {value!r}")
    if kind == "clock" and (len(value) != 8 or value[2] != ":" or value[5] != ":"):
        raise ValueError(f"{where} must be a local time HH:MM:SS, got {value!r}")
    return value


@dataclass(frozen=True)
class Reason:
    code: str
    params: tuple[tuple[str, ParamValue], ...] = ()
    notes: tuple[Reason, ...] = ()
    closed: Reason | None = None

    def __post_init__(self) -> None:
        spec = CODES.get(self.code)
        if spec is None:
            raise ValueError(f"unknown reason code {self.code!r}; known: {sorted(CODES)}")
        given = dict(self.params)
        expected = dict(spec.params)
        if len(given) != len(self.params) or set(given) != set(expected):
            raise ValueError(f"reason {self.code!r} takes the parameters {sorted(expected)}, got {sorted(given)}")
        checked = tuple((name, _check_value(self.code, name, kind, given[name])) for name, kind in spec.params)
        object.__setattr__(self, "params", checked)
        if spec.role != "main" and (self.notes or self.closed is not None):
            raise ValueError(f"reason {self.code!r} is a {spec.role} clause: it has no notes or closing")
        for note in self.notes:
            if CODES[note.code].role != "note":
                raise ValueError(f"{note.code!r} is not a note")
        if self.closed is not None and CODES[self.closed.code].role != "closed":
            raise ValueError(f"{self.closed.code!r} is not a closing clause")

    @classmethod
    def of(cls, code: str, *notes: Reason, **params: ParamValue) -> Reason:
        return cls(code, tuple(params.items()), tuple(notes))

    @property
    def role(self) -> str:
        return CODES[self.code].role

    def param(self, name: str) -> ParamValue:
        return dict(self.params)[name]

    def param_dict(self) -> dict[str, ParamValue]:
        return dict(self.params)

    def closed_by(self, closing: Reason) -> Reason:
        """This reason with the clause saying why the incident closed (replacing an earlier one)."""
        return Reason(self.code, self.params, self.notes, closing)

    def english(self) -> str:
        text = "; ".join(_clause_english(clause) for clause in (self, *self.notes))
        return text if self.closed is None else f"{text}; closed: {_clause_english(self.closed)}"

    def to_dict(self) -> dict[str, Any]:
        document: dict[str, Any] = {"code": self.code, "params": {name: list(value) if isinstance(value, tuple)
                                                                 else value for name, value in self.params}}
        if self.role == "main":
            document["notes"] = [note.to_dict() for note in self.notes]
            document["closed"] = None if self.closed is None else self.closed.to_dict()
        return document

    @classmethod
    def from_dict(cls, document: Mapping[str, Any]) -> Reason:
        """The Reason `to_dict` made; ValueError when it is not one (an unknown code, other parameters)."""
        if not isinstance(document, Mapping) or not isinstance(document.get("code"), str):
            raise ValueError(f"a reason must be an object with a code, got {document!r}")
        params = document.get("params") or {}
        if not isinstance(params, Mapping):
            raise ValueError(f"reason parameters must be an object, got {params!r}")
        closed = document.get("closed")
        return cls(document["code"],
                   tuple((str(name), tuple(value) if isinstance(value, list) else value)
                         for name, value in params.items()),
                   tuple(cls.from_dict(note) for note in document.get("notes") or ()),
                   None if closed is None else cls.from_dict(closed))


def _english_value(kind: str, value: ParamValue) -> str:
    if kind == "seconds":  # _check_value: seconds are numbers, cues a tuple of names
        seconds = cast(float, value)
        return f"{int(seconds + 0.5)} s" if float(seconds).is_integer() or seconds >= 10 else f"{seconds:g} s"
    if kind == "share":
        return f"{value:.0%}"
    if kind == "number":
        return f"{value:g}"
    if kind == "cues":
        return ", ".join(cast("tuple[str, ...]", value))
    if kind == "sign":
        return _ENGLISH_VALUES[f"sign.{value}"]
    return str(value)


def _clause_english(clause: Reason) -> str:
    spec = CODES[clause.code]
    kinds = dict(spec.params)
    return spec.english.format(**{name: _english_value(kinds[name], value) for name, value in clause.params})


# ---- stored form ----------------------------------------------------------------------------------------------------
# Storage keeps one text column for the reason: a structured reason is stored as its JSON form with its English
# rendering under "text"; a reason that was only ever text (older incidents, events from other producers) stays as
# that text.

def encode_stored(text: str, reason: Reason | None) -> str:
    if reason is None:
        return text
    return json.dumps({**reason.to_dict(), "text": text}, ensure_ascii=False, separators=(",", ":"))


def decode_stored(value: str | None) -> tuple[str, dict[str, Any] | None]:
    """(the English text, the structured reason's JSON form or None) of a stored reason."""
    value = value or ""
    if not value.startswith("{"):
        return value, None
    try:
        document = json.loads(value)
    except ValueError:
        return value, None
    if not isinstance(document, dict) or not isinstance(document.get("code"), str) or "text" not in document:
        return value, None
    text = document.pop("text")
    return str(text), document
