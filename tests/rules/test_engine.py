"""RuleEngine and the shared machinery: registry, validation, stream clock, incident lifecycle, config fields."""
from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from counterwatch.config import load_config
from counterwatch.config.rules import AbsentWithoutPause as AbsentSettings, PhoneUse as PhoneSettings, RulesConfig
from counterwatch.incidents.events import INCIDENT_TYPES, EventKind
from counterwatch.incidents.reasons import Reason
from counterwatch.rules.absent import AbsentWithoutPause
from counterwatch.rules.attendance import LateArrival
from counterwatch.rules.base import RuleScope, registered_rules, rule_class
from counterwatch.rules.engine import RuleEngine
from counterwatch.rules.lifecycle import IncidentLifecycle
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.timing import FrameRef, Step, StreamClock
from tests.rules.helpers import (
    ORIGIN,
    STAFF,
    at,
    hall_config,
    kinds,
    make,
    person,
    run,
    seg,
    stream,
    wall,
    without_updates,
)

REPO = Path(__file__).resolve().parents[2]
FAST = {"absent_without_pause": {"dwell_s": 10, "return_s": 2, "cooldown_s": 0}}


def engine(rules=None, **overrides) -> RuleEngine:
    config = hall_config(rules=rules if rules is not None else FAST, **overrides)
    return RuleEngine(config, HallCalendar(config))


def test_every_incident_type_has_a_registered_rule() -> None:
    RuleEngine(hall_config())  # imports the rule modules
    assert set(registered_rules()) == set(INCIDENT_TYPES)
    assert rule_class("phone_use").name == "phone_use"
    with pytest.raises(ValueError, match="no rule registered"):
        rule_class("grooming")


def test_one_instance_of_every_enabled_rule_per_window() -> None:
    e = engine({"drinking": {"enabled": False}, "late_arrival": {"enabled": False}})
    assert e.enabled == ("absent_without_pause", "phone_use", "eating", "sleeping", "left_during_service")
    assert [r.name for r in e.rules_of("w1")] == list(e.enabled)
    assert e.rules_of("w1")[0] is not e.rules_of("w2")[0]
    shipped = RuleEngine(load_config(REPO / "configs/example-hall.yaml"))
    assert "drinking" not in shipped.enabled and len(shipped.rules_of("w06")) == 6


def test_events_carry_hall_window_camera_and_the_rostered_staff_at_the_onset() -> None:
    e = engine()
    w1 = stream(seg(1, staff=STAFF), seg(4), seg(10, rostered="s7"), window="w1", camera="cam1")
    w2 = stream(seg(15, staff=STAFF), window="w2", camera="cam1", rostered="s2")
    events = [ev for s1, s2 in zip(w1, w2, strict=True) for ev in e.update(s1) + e.update(s2)]
    assert kinds(events) == [("opened", 11.0)]
    opened = events[0]
    assert (opened.hall_id, opened.window_id, opened.camera_id, opened.staff_id) == ("h1", "w1", "cam1", "s1")
    assert e.open_incidents() == (("w1", "absent_without_pause"),)


def test_disabled_rules_raise_nothing() -> None:
    drink = (person(hand_to_mouth=True, drink_near=True),)
    script = stream(seg(10, staff=lambda i: drink if i % 4 < 2 else STAFF))
    assert [e.incident_type for e in without_updates(run(engine(), script))] == ["drinking"]
    assert run(engine({"drinking": {"enabled": False}}), script) == []
    assert run(engine(FAST | {"absent_without_pause": {"enabled": False}}), stream(seg(60))) == []


def test_close_all_closes_open_incidents_at_the_given_time() -> None:
    e = engine()
    run(e, stream(seg(1, staff=STAFF), seg(15)))
    events = e.close_all(16.0, wall(16.0))
    assert [(ev.kind, ev.window_id, ev.ended_at) for ev in events] == [(EventKind.CLOSED, "w1", wall(16.0))]
    assert e.open_incidents() == () and e.close_all(17.0, wall(17.0)) == ()


def test_the_engine_is_deterministic() -> None:
    script = stream(seg(1, staff=STAFF), seg(30), seg(40, staff=(person(phone=0.9),)), seg(5, staff=STAFF))
    first, second = run(engine(), script), run(engine(), script)
    assert first == second
    assert [(ev.incident_type, ev.kind.value, ev.ts) for ev in first] == [
        ("absent_without_pause", "opened", 11.0), ("absent_without_pause", "closed", 33.0),
        ("phone_use", "opened", 61.0)]


def test_unknown_windows_and_bad_arguments_are_value_errors() -> None:
    e = engine()
    with pytest.raises(ValueError, match="window_id: unknown window 'w9'"):
        e.update(at(0.0, window="w9"))
    with pytest.raises(ValueError, match="config must be a HallConfig"):
        RuleEngine({"hall": {}})
    with pytest.raises(ValueError, match="calendar must be a HallCalendar"):
        RuleEngine(hall_config(), calendar="Asia/Shanghai")
    rule = make(AbsentWithoutPause)
    with pytest.raises(ValueError, match="state of window 'w2'"):
        rule.update(at(0.0, window="w2"))
    with pytest.raises(ValueError, match="settings must be AbsentWithoutPause"):
        AbsentWithoutPause(RuleScope("h1", "w1"), PhoneSettings())
    with pytest.raises(ValueError, match="calendar is required"):
        make(LateArrival)
    with pytest.raises(ValueError, match="RuleScope.window_id"):
        RuleScope("h1", "")


def test_stream_clock_classifies_timestamps() -> None:
    clock = StreamClock(max_gap_s=5.0, gap_factor=3.0)
    assert [clock.step(ts) for ts in (0.0, 0.5, 0.5, 1.0, 5.9, 6.4, 3.0)] == [
        Step.FIRST, Step.NEXT, Step.DUPLICATE, Step.NEXT, Step.NEXT, Step.NEXT, Step.BACKWARDS]
    # After the jump back the history starts again: 0.5 s frames, then 6 s missing (> max(5, 3 x 0.5)) is a gap.
    assert [clock.step(ts) for ts in (3.5, 4.0, 10.0)] == [Step.NEXT, Step.NEXT, Step.GAP]

    # A camera analysed every 10 s: after a few frames its cadence is normal, not a gap each time.
    slow = StreamClock(max_gap_s=5.0, gap_factor=3.0)
    steps = [slow.step(10.0 * i) for i in range(6)]
    assert steps[0] is Step.FIRST and steps[1] is Step.GAP and steps[-1] is Step.NEXT
    with pytest.raises(ValueError, match="max_gap_s"):
        StreamClock(max_gap_s=0, gap_factor=3.0)


def test_incident_ids_are_stable_and_updates_sparse() -> None:
    def lifecycle():
        return IncidentLifecycle("phone_use", "h1", "w1", cooldown_s=10.0, update_every_s=60.0,
                                 update_peak_step=0.1)

    onset = FrameRef(5.0, wall(5.0), 10, "cam1", "s1")
    r = Reason.of("eating.hand_to_mouth", movements=3, min_movements=3, dwell_s=20.0, held_s=1.0)
    a, b = lifecycle(), lifecycle()
    first, again = a.open(onset, onset, 0.5, r), b.open(onset, onset, 0.5, r)
    assert first.incident_id == again.incident_id
    other = lifecycle().open(FrameRef(6.0, wall(6.0), 12, "cam1", "s1"), onset, 0.5, r)
    assert other.incident_id != first.incident_id
    now = FrameRef(7.0, wall(7.0), 14, "cam1", "s1")
    assert a.update(now, 0.55, r) is None  # +0.05 < step
    assert a.update(now, 0.61, r).peak_confidence == 0.61
    assert a.update(now, 0.2, r) is None  # a lower value never lowers the peak
    closed = a.close(8.0, wall(8.0), Reason.of("closed.monitoring_stopped"))
    assert closed.peak_confidence == 0.61 and closed.confidence == 0.2 and closed.ended_at == wall(8.0)
    assert closed.reason_detail == r.closed_by(Reason.of("closed.monitoring_stopped"))
    assert closed.reason == r.english() + "; closed: monitoring stopped"
    assert a.in_cooldown(17.9) and not a.in_cooldown(18.0)
    with pytest.raises(RuntimeError):
        a.close(9.0, wall(9.0), Reason.of("closed.monitoring_stopped"))


def test_added_config_fields_have_defaults_and_bounds() -> None:
    rules = RulesConfig()
    assert rules.common.max_frame_gap_s == 5.0 and rules.phone_use.min_score == 0.3
    assert rules.sleeping.eyes_closed_ratio == 0.6 and rules.absent_without_pause.min_fraction == 0.7
    assert rules.late_arrival.presence_s == 5.0 and rules.left_during_service.return_s == 5.0
    for bad in ({"sleeping": {"eyes_closed_ratio": 1.2}}, {"common": {"max_frame_gap_s": 0}},
                {"phone_use": {"min_score": 0}}, {"common": {"unknown": 1}}):
        with pytest.raises(ValidationError):
            RulesConfig.model_validate(bad)
    assert AbsentSettings().dwell_s == 120.0  # the seed table default is untouched


def test_rules_never_read_the_wall_clock() -> None:
    # wall_time is only carried: the same ts with a wall clock a year later gives the same timing.
    far = ORIGIN.replace(year=2027)
    a = run(make(AbsentWithoutPause, dwell_s=10.0), stream(seg(1, staff=STAFF), seg(15)))
    b = run(make(AbsentWithoutPause, dwell_s=10.0), stream(seg(1, staff=STAFF), seg(15), origin=far))
    assert kinds(a) == kinds(b) == [("opened", 11.0)]
