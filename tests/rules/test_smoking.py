"""smoking: repeated puff-like hand-to-mouth movements with no food, cup or phone near."""
from __future__ import annotations

import pytest
from pydantic import ValidationError

from counterwatch.config.rules import RulesConfig
from counterwatch.rules.engine import RuleEngine
from counterwatch.rules.smoking import Smoking
from tests.rules.helpers import (
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
    why,
    why_closed,
    without_updates,
)

PUFF = (person(hand_to_mouth=True),)
BITE = (person(hand_to_mouth=True, food_near=True),)
SIP = (person(hand_to_mouth=True, drink_near=True),)
CALL = (person(hand_to_mouth=True, phone=0.8),)
FOOD = (person(food_near=True),)
HEAD = (("smoking", 0.9, 0.5),)  # a learned smoking head above its threshold


def smoking(**settings):
    return make(Smoking, **({"enabled": True, "cooldown_s": 0.0} | settings))


def puffs(every_s: float, count: int, hold_s: float = 2.0, staff=PUFF, rest=STAFF):
    """`count` movements of `hold_s` seconds at the mouth, one starting every `every_s` seconds (2 fps)."""
    frames, held = round(every_s * 2), round(hold_s * 2)
    return seg(every_s * count, staff=lambda i: staff if i % frames < held and i // frames < count else rest)


def test_opens_when_the_third_puff_ends_with_the_onset_at_the_first_and_closes_after_clear_s() -> None:
    events = without_updates(run(smoking(), stream(seg(5, staff=STAFF), puffs(30.0, 4), seg(120, staff=STAFF))))
    # Puffs start at 5, 35, 65, 95 and last 2 s; the third is judged at 67.0, when the hand leaves the mouth.
    assert kinds(events) == [("opened", 67.0), ("closed", 187.0)]  # quiet from 97.0, + clear_s 90
    opened, closed = events
    assert opened.incident_type == "smoking" and opened.start_ts == 5.0 and opened.started_at == wall(5.0)
    assert opened.confidence == 0.6  # 3 / (3 + 2)
    assert why(opened) == ("smoking.puffs", {"puffs": 3, "min_puffs": 3, "dwell_s": 120.0, "min_movement_s": 1.5,
                                             "max_movement_s": 8.0, "held_s": 62.0})
    assert closed.ended_at == wall(97.0) and why_closed(closed) == ("closed.no_puffs", {"quiet_s": 90.0})


def test_the_updates_follow_the_count() -> None:
    events = run(smoking(), stream(puffs(20.0, 4)))
    updated = [e for e in events if e.kind.value == "updated"]
    assert kinds(updated) == [("updated", 62.0)]  # the fourth puff: confidence 0.6 -> 4 / (4 + 2)
    assert updated[0].confidence == pytest.approx(4 / 6) and why(updated[0])[1]["puffs"] == 4


def test_two_puffs_are_not_enough_and_puffs_spread_wider_than_the_window_never_add_up() -> None:
    assert run(smoking(), stream(puffs(30.0, 2), seg(120, staff=STAFF))) == []
    assert run(smoking(), stream(puffs(61.0, 8))) == []  # at most 2 puffs start within any 120 s


def test_a_chin_resting_on_a_hand_never_counts() -> None:
    assert run(smoking(), stream(seg(600, staff=PUFF))) == []
    # Resting for 20 s, looking up for 2 s, resting again: long movements, repeated, are still not puffs.
    assert run(smoking(), stream(puffs(22.0, 20, hold_s=20.0))) == []


def test_a_chin_rest_after_the_puffs_does_not_keep_the_incident_open() -> None:
    events = without_updates(run(smoking(), stream(puffs(30.0, 3), seg(200, staff=PUFF))))
    # The rest starts at 90; past max_movement_s (8 s) it is no puff: quiet from 98.5, closed 90 s later.
    assert kinds(events) == [("opened", 62.0), ("closed", 188.5)] and events[1].ended_at == wall(98.5)


def test_quick_touches_do_not_count_but_a_learned_head_waives_the_minimum_duration() -> None:
    assert run(smoking(), stream(puffs(10.0, 12, hold_s=0.5))) == []  # scratching the nose
    headed = (person(hand_to_mouth=True, head=HEAD),)
    events = without_updates(run(smoking(), stream(puffs(10.0, 3, hold_s=0.5, staff=headed))))
    assert kinds(events) == [("opened", 20.5)]


def test_eating_drinking_and_calls_are_not_smoking() -> None:
    for staff in (BITE, SIP, CALL):
        assert run(smoking(), stream(puffs(20.0, 10, staff=staff))) == [], staff


def test_food_seen_shortly_before_the_movement_keeps_it_from_counting() -> None:
    # Food near for 1 s, then 6 s without it (the detector misses it in the hand), then the hand at the mouth.
    bite_missed = seg(30, staff=lambda i: FOOD if i < 2 else PUFF if 14 <= i < 18 else STAFF)
    assert run(smoking(), stream(bite_missed, bite_missed, bite_missed, bite_missed)) == []
    # The same with the food 15 s before: past object_memory_s, the movements count.
    long_before = seg(30, staff=lambda i: FOOD if i < 2 else PUFF if 34 <= i < 38 else STAFF)
    assert kinds(without_updates(run(smoking(), stream(seg(30, staff=STAFF), *[long_before] * 3)))) == [
        ("opened", 109.0)]


def test_an_object_on_any_frame_of_the_movement_spoils_it() -> None:
    late_cup = seg(30, staff=lambda i: (person(hand_to_mouth=True, drink_near=i == 2),) if i < 4 else STAFF)
    assert run(smoking(), stream(late_cup, late_cup, late_cup, late_cup)) == []


def test_cooldown_and_time_going_backwards() -> None:
    r = smoking(cooldown_s=300.0)
    first = stream(puffs(30.0, 3), seg(100, staff=STAFF))
    assert kinds(without_updates(run(r, first))) == [("opened", 62.0), ("closed", 152.0)]
    # The next cigarette starts at 190: its third puff at 252 falls in the cooldown (until 452), the one after at 372.
    again = stream(puffs(60.0, 5), start=190.0)
    assert kinds(without_updates(run(r, again))) == []
    later = stream(puffs(30.0, 3), start=460.0)
    assert kinds(without_updates(run(r, later))) == [("opened", 522.0)]
    restarted = without_updates(run(r, stream(puffs(30.0, 3), start=0.0)))
    assert kinds(restarted) == [("closed", 549.5), ("opened", 62.0)]  # the last frame before the jump


def test_an_observation_gap_restarts_the_count_and_a_movement_across_it_is_not_timed() -> None:
    script = stream(puffs(30.0, 2)) + stream(puffs(30.0, 1), seg(100, staff=STAFF), start=100.0)
    assert run(smoking(), script) == []
    # The hand at the mouth before a 5.5 s gap and 0.5 s after it: what happened in the gap is unknown.
    across = stream(seg(1, staff=PUFF)) + stream(seg(0.5, staff=PUFF), seg(20, staff=STAFF), start=6.0)
    one_more = stream(puffs(30.0, 1), seg(30, staff=STAFF), start=26.5)
    assert run(smoking(min_hand_to_mouth=2), across + one_more) == []
    seen_throughout = stream(seg(6.5, staff=PUFF), seg(20, staff=STAFF))
    assert kinds(without_updates(run(smoking(min_hand_to_mouth=2), seen_throughout + one_more))) == [
        ("opened", 28.5)]


def test_puffs_by_two_tracks_add_up_and_track_state_is_deleted() -> None:
    a, b = (person(1, hand_to_mouth=True), person(2)), (person(1), person(2, hand_to_mouth=True))
    both = (person(1), person(2))
    script = stream(seg(2, staff=a), seg(28, staff=both), seg(2, staff=b), seg(28, staff=both), seg(2, staff=a),
                    seg(10, staff=both))
    assert kinds(without_updates(run(smoking(), script))) == [("opened", 62.0)]
    r = make(Smoking, common={"track_forget_s": 0.0})
    for i in range(1000):
        r.update(at(i * 0.5, staff=(person(i // 5, hand_to_mouth=i % 5 < 3),)))
        assert r.tracked_people <= 1
    r.update(at(600.0))
    assert r.tracked_people == 0


def test_settings_defaults_bounds_and_the_engine() -> None:
    defaults = RulesConfig().smoking
    assert (defaults.enabled, defaults.dwell_s, defaults.min_hand_to_mouth, defaults.clear_s) == (
        False, 120.0, 3, 90.0)
    with pytest.raises(ValidationError, match="smoking.max_movement_s"):
        RulesConfig.model_validate({"smoking": {"min_movement_s": 5, "max_movement_s": 3}})
    with pytest.raises(ValidationError, match="smoking.min_hand_to_mouth"):
        RulesConfig.model_validate({"smoking": {"min_hand_to_mouth": 1}})
    assert "smoking" not in RuleEngine(hall_config()).enabled
    engine = RuleEngine(hall_config(rules={"smoking": {"enabled": True, "cooldown_s": 0}}))
    assert "smoking" in engine.enabled
    events = without_updates(run(engine, stream(puffs(30.0, 3))))
    assert [(e.incident_type, e.kind.value) for e in events] == [("smoking", "opened")]
