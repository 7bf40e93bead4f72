"""eating and drinking: repeated hand-to-mouth movements with food, or with a cup or bottle."""
from __future__ import annotations

from counterwatch.rules.eating import Drinking, Eating
from tests.rules.helpers import STAFF, at, kinds, make, person, run, seg, stream, wall, why, why_closed, without_updates

FOOD = (person(food_near=True),)
BITE = (person(hand_to_mouth=True, food_near=True),)
SIP = (person(hand_to_mouth=True, drink_near=True),)
CHIN = (person(hand_to_mouth=True),)


def eating(**settings):
    return make(Eating, **({"dwell_s": 20.0, "min_hand_to_mouth": 3, "clear_s": 15.0, "cooldown_s": 0.0} | settings))


def drinking(**settings):
    return make(Drinking, **({"dwell_s": 20.0, "min_hand_to_mouth": 2, "clear_s": 15.0, "cooldown_s": 0.0}
                             | settings))


def bites(every_s: float, count: int, staff=BITE, rest=FOOD):
    """`count` one-second hand-to-mouth movements, one every `every_s` seconds."""
    frames = round(every_s * 2)
    return seg(every_s * count, staff=lambda i: staff if i % frames < 2 and i // frames < count else rest)


def test_opens_at_the_frame_the_third_bite_counts_with_the_onset_at_the_first() -> None:
    events = without_updates(run(eating(), stream(seg(5, staff=STAFF), bites(5.0, 4), seg(30, staff=STAFF))))
    # Bites start at 5, 10, 15, 20 (each two frames long). The third counts at 15.0.
    assert kinds(events) == [("opened", 15.0), ("closed", 36.0)]
    assert events[0].start_ts == 5.0 and events[0].started_at == wall(5.0)
    assert events[1].ended_at == wall(21.0)  # the first frame after the last bite
    assert why(events[0]) == ("eating.hand_to_mouth", {"movements": 3, "min_movements": 3, "dwell_s": 20.0,
                                                       "held_s": 10.0})
    assert why_closed(events[1]) == ("closed.no_eating", {"quiet_s": 15.0})
    assert events[0].confidence == 0.75


def test_two_bites_are_not_enough_and_bites_spread_wider_than_the_window_never_add_up() -> None:
    assert run(eating(), stream(bites(5.0, 2), seg(30, staff=FOOD))) == []
    assert run(eating(), stream(bites(11.0, 10))) == []  # at most 2 bites start within any 20 s


def test_a_chin_resting_on_a_hand_is_one_movement_however_long() -> None:
    chin_with_food = (person(hand_to_mouth=True, food_near=True),)
    assert run(eating(), stream(seg(120, staff=chin_with_food))) == []
    # Flickering chin contact without any food is never eating, however often it repeats.
    assert run(eating(), stream(bites(2.0, 30, staff=CHIN, rest=STAFF))) == []


def test_the_object_may_be_seen_on_any_frame_of_the_movement() -> None:
    late_food = seg(30, staff=lambda i: (person(hand_to_mouth=True, food_near=i % 10 == 1),) if i % 10 < 2 else STAFF)
    events = without_updates(run(eating(), stream(late_food)))
    assert kinds(events) == [("opened", 10.5)] and events[0].start_ts == 0.0


def test_drinking_is_its_own_type() -> None:
    script = stream(bites(5.0, 3, staff=SIP, rest=STAFF), seg(20, staff=STAFF))
    assert run(eating(), script) == []
    events = without_updates(run(drinking(), script))
    assert kinds(events) == [("opened", 5.0), ("closed", 26.0)]  # quiet from 11.0, + clear_s
    assert events[1].ended_at == wall(11.0)
    assert events[0].incident_type == "drinking"
    assert why(events[0]) == ("drinking.hand_to_mouth", {"movements": 2, "min_movements": 2, "dwell_s": 20.0,
                                                         "held_s": 5.0})
    assert why_closed(events[1]) == ("closed.no_drinking", {"quiet_s": 15.0})


def test_bites_by_two_people_add_up() -> None:
    # The count is per window, so a tracker that switches ids mid-meal does not lose bites.
    a_bite = (person(1, hand_to_mouth=True, food_near=True), person(2))
    b_bite = (person(1), person(2, hand_to_mouth=True, food_near=True))
    script = stream(seg(1, staff=a_bite), seg(4, staff=(person(1), person(2))), seg(1, staff=b_bite),
                    seg(4, staff=(person(1), person(2))), seg(1, staff=a_bite), seg(20, staff=(person(1), person(2))))
    assert kinds(without_updates(run(eating(), script))) == [("opened", 10.0), ("closed", 26.0)]


def test_clock_gap_restarts_the_count() -> None:
    script = stream(bites(5.0, 2)) + stream(bites(5.0, 1), seg(20, staff=FOOD), start=60.0)
    assert run(eating(), script) == []


def test_time_going_backwards_and_cooldown() -> None:
    r = eating(cooldown_s=60.0)
    assert kinds(without_updates(run(r, stream(bites(5.0, 3))))) == [("opened", 10.0)]
    events = without_updates(run(r, stream(bites(5.0, 3), start=1.0)))
    assert kinds(events) == [("closed", 14.5), ("opened", 11.0)]
    # It closes at 27 (quiet from 12); the cooldown (until 87) outlasts the next meal (bites 36..61.5).
    meal = stream(seg(20, staff=FOOD), bites(5.0, 6), seg(20, staff=FOOD), start=16.0)
    assert kinds(without_updates(run(r, meal))) == [("closed", 27.0)]
    r = eating(cooldown_s=0.0)
    run(r, stream(bites(5.0, 3)) + stream(bites(5.0, 3), start=1.0))
    assert kinds(without_updates(run(r, meal))) == [("closed", 27.0), ("opened", 46.0), ("closed", 77.0)]


def test_per_track_state_is_deleted_when_tracks_end() -> None:
    r = make(Eating, common={"track_forget_s": 0.0})
    for i in range(1000):
        r.update(at(i * 0.5, staff=(person(i // 3, hand_to_mouth=i % 3 == 0, food_near=True),)))
        assert r.tracked_people <= 1
    r.update(at(600.0))
    assert r.tracked_people == 0
