"""Structured incident reasons: declared codes only, their JSON and stored forms, and the English for logs."""
from __future__ import annotations

import json

import pytest

from counterwatch.incidents.reasons import CODES, KINDS, ROLES, Reason, decode_stored, encode_stored

ABSENT = dict(absent_s=61.04, dwell_s=30.0, share=1.0, min_share=0.7, sign="not_seen", citizens_waiting=2)


def test_a_reason_takes_only_a_declared_code_and_exactly_its_parameters() -> None:
    with pytest.raises(ValueError, match="unknown reason code"):
        Reason.of("absent.nobody", **ABSENT)
    with pytest.raises(ValueError, match="takes the parameters"):
        Reason.of("absent.no_staff", **{k: v for k, v in ABSENT.items() if k != "share"})
    with pytest.raises(ValueError, match="within 0..1"):
        Reason.of("absent.no_staff", **(ABSENT | {"share": 1.5}))
    with pytest.raises(ValueError, match="one of"):
        Reason.of("absent.no_staff", **(ABSENT | {"sign": "maybe"}))
    with pytest.raises(ValueError, match="whole number"):
        Reason.of("absent.no_staff", **(ABSENT | {"citizens_waiting": 1.5}))
    with pytest.raises(ValueError, match="HH:MM:SS"):
        Reason.of("closed.arrived", arrived_at="8:40", late_s=900)
    with pytest.raises(ValueError, match="not a closing clause"):
        Reason.of("absent.no_staff", **ABSENT).closed_by(Reason.of("presence.fusion", occupancy=0.1, cues=()))
    assert {spec.role for spec in CODES.values()} == set(ROLES)
    assert {kind for spec in CODES.values() for _, kind in spec.params} == set(KINDS)


def test_measured_numbers_are_rounded_as_they_are_read() -> None:
    reason = Reason.of("absent.no_staff", **ABSENT)
    assert reason.param_dict() == {"absent_s": 61.0, "dwell_s": 30.0, "share": 1.0, "min_share": 0.7,
                                   "sign": "not_seen", "citizens_waiting": 2}


def test_json_form_round_trips_with_notes_and_closing() -> None:
    reason = (Reason.of("absent.no_staff", Reason.of("presence.fusion", occupancy=0.12, cues=("detector", "pose")),
                        **ABSENT)
              .closed_by(Reason.of("closed.pause_started", source="queue")))
    document = json.loads(json.dumps(reason.to_dict()))
    assert document == {"code": "absent.no_staff", "params": {"absent_s": 61.0, "dwell_s": 30.0, "share": 1.0,
                                                              "min_share": 0.7, "sign": "not_seen",
                                                              "citizens_waiting": 2},
                        "notes": [{"code": "presence.fusion", "params": {"occupancy": 0.12,
                                                                         "cues": ["detector", "pose"]}}],
                        "closed": {"code": "closed.pause_started", "params": {"source": "queue"}}}
    assert Reason.from_dict(document) == reason


def test_english_says_which_duration_is_which() -> None:
    reason = Reason.of("absent.no_staff", **ABSENT).closed_by(Reason.of("closed.staff_back", back_s=5.0))
    assert reason.english() == (
        "nobody at the post for 61 s (an alert after 30 s); no staff in 100% of the frames of the last 30 s (needs "
        "70%); pause sign not seen; queue not paused; within service hours; 2 citizen(s) waiting; closed: staff "
        "back for 5 s")
    assert Reason.of("smoking.puffs", puffs=3, min_puffs=3, dwell_s=120.0, min_movement_s=1.5, max_movement_s=8.0,
                     held_s=62.0).english().startswith("3 puff-like hand-to-mouth movements (1.5 s to 8 s each")


def test_stored_form_keeps_the_text_and_old_text_reads_as_it_is() -> None:
    reason = Reason.of("closed.monitoring_stopped")
    with pytest.raises(ValueError):  # a clause is not a reason of its own: no closing on a closing
        reason.closed_by(reason)
    main = Reason.of("phone.cue", held_s=30.0, dwell_s=30.0, frames=61, share=1.0, min_share=0.7, phone_frames=61,
                     call_frames=0, head_frames=0, best_score=0.8)
    stored = encode_stored(main.english(), main)
    text, detail = decode_stored(stored)
    assert text == main.english() and Reason.from_dict(detail) == main
    assert decode_stored("phone in hand for 30 s") == ("phone in hand for 30 s", None)
    assert decode_stored('{"not": "a reason"}') == ('{"not": "a reason"}', None)
    assert decode_stored("{broken") == ("{broken", None)
    assert encode_stored("plain text", None) == "plain text"


def test_events_carry_the_reason_through_incidents_jsonl() -> None:
    from dataclasses import replace

    from counterwatch.incidents.events import EventKind
    from counterwatch.incidents.sink import event_from_dict, event_to_dict
    from tests.incidents.conftest import make_event

    reason = Reason.of("absent.no_staff", **ABSENT)
    event = replace(make_event(EventKind.OPENED, 10.0), reason=reason.english(), reason_detail=reason)
    data = json.loads(json.dumps(event_to_dict(event)))
    assert data["reason"] == reason.english() and data["reason_detail"]["code"] == "absent.no_staff"
    assert event_from_dict(data) == event
    older = {key: value for key, value in data.items() if key != "reason_detail"}  # a line written before codes
    assert event_from_dict(older).reason_detail is None and event_from_dict(older).reason == reason.english()


def test_the_rules_emit_only_declared_codes_and_every_declared_code_is_emitted() -> None:
    """Read from the rules' source, so a code on a branch no scripted stream reaches is checked too."""
    import re
    from pathlib import Path

    import counterwatch.rules

    source = "\n".join(path.read_text(encoding="utf-8")
                       for path in Path(counterwatch.rules.__file__).parent.glob("*.py"))
    emitted = set(re.findall(r'Reason\.of\(\s*"([\w.]+)"', source))
    emitted |= set(re.findall(r'^\s+(?:reason_code|closed_code) = "([\w.]+)"', source, re.M))
    assert emitted == set(CODES)
