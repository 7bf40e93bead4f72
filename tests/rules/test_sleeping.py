"""sleeping: head down or eyes closed (normalised per person) with little motion."""
from __future__ import annotations

import pytest

from counterwatch.rules.sleeping import EyeBaseline, Sleeping
from tests.rules.helpers import STAFF, at, kinds, make, person, run, seg, stream, wall, why, why_closed, without_updates

HEAD_DOWN = (person(head_down=True),)


def rule(**settings):
    settings = {"dwell_s": 60.0, "min_fraction": 0.8, "max_motion": 0.02, "clear_s": 10.0, "cooldown_s": 0.0,
                "ear_baseline_min_samples": 20} | settings
    return make(Sleeping, **settings)


def eyes(ear: float, track: int = 1):
    return (person(track, eye_aspect_ratio=ear),)


def test_head_down_and_still_opens_exactly_at_the_dwell() -> None:
    events = without_updates(run(rule(), stream(seg(10, staff=STAFF), seg(100, staff=HEAD_DOWN),
                                                seg(15, staff=STAFF))))
    assert kinds(events) == [("opened", 70.0), ("closed", 120.0)]
    assert events[0].start_ts == 10.0 and events[0].started_at == wall(10.0)
    assert events[1].ended_at == wall(110.0)
    assert why(events[0]) == ("sleeping.still", {"held_s": 60.0, "dwell_s": 60.0, "frames": 121, "share": 1.0,
                                                 "min_share": 0.8, "head_down_frames": 121, "eyes_closed_frames": 0,
                                                 "head_frames": 0, "max_motion": 0.02})
    assert why_closed(events[1]) == ("closed.awake", {"quiet_s": 10.0})


def test_head_down_while_moving_is_not_sleeping() -> None:
    assert run(rule(), stream(seg(120, staff=HEAD_DOWN, motion=0.1))) == []
    # Motion just at the limit still counts as still.
    assert kinds(without_updates(run(rule(), stream(seg(61, staff=HEAD_DOWN, motion=0.02))))) == [("opened", 60.0)]


def test_a_cue_missing_in_a_tenth_of_the_frames_does_not_split_it() -> None:
    flicker = seg(200, staff=lambda i: STAFF if i % 10 == 9 else HEAD_DOWN)
    events = without_updates(run(rule(), stream(flicker, seg(20, staff=STAFF))))
    assert kinds(events) == [("opened", 60.0), ("closed", 209.5)]


def test_closed_eyes_are_judged_against_the_persons_own_baseline() -> None:
    # Person A: open-eye EAR 0.30, then 0.12 (< 0.6 x 0.30): asleep.
    events = without_updates(run(rule(), stream(seg(20, staff=eyes(0.30)), seg(70, staff=eyes(0.12)))))
    assert kinds(events) == [("opened", 80.0)]
    assert events[0].start_ts == 20.0
    assert why(events[0])[1]["eyes_closed_frames"] == 121 and why(events[0])[1]["head_down_frames"] == 0
    # Person B has narrow eyes: 0.17 all the time is open for them (a fixed 0.2 threshold would call it closed).
    assert run(rule(), stream(seg(200, staff=eyes(0.17)))) == []


def test_eyes_are_not_judged_before_the_baseline_has_enough_samples() -> None:
    # 5 open samples, then closed eyes: nothing is judged until the 20th sample (ts 9.5); from the 21st the 90th
    # percentile (the open 0.30) is the baseline, so the onset is 10.0, not 2.5.
    events = without_updates(run(rule(), stream(seg(2.5, staff=eyes(0.30)), seg(120, staff=eyes(0.12)))))
    assert kinds(events) == [("opened", 70.0)] and events[0].start_ts == 10.0
    # Someone whose eyes look closed from the start is never judged asleep by the eyes alone.
    assert run(rule(), stream(seg(200, staff=eyes(0.12)))) == []


def test_a_long_doze_does_not_drag_the_baseline_down() -> None:
    r = rule(ear_history_frames=100)
    events = without_updates(run(r, stream(seg(20, staff=eyes(0.30)), seg(600, staff=eyes(0.12)))))
    assert kinds(events) == [("opened", 80.0)]  # still open after 10 minutes of closed eyes


def test_eye_baseline_is_a_high_percentile_and_bounded() -> None:
    baseline = EyeBaseline(ratio=0.6, percentile=0.9, min_samples=10, history=50)
    for i in range(200):
        assert baseline.judge(0.20 + (i % 10) * 0.01) in (None, False)
    assert len(baseline) == 50
    assert baseline.baseline() == pytest.approx(0.28)
    assert baseline.judge(0.15) is True and baseline.judge(0.17) is False
    with pytest.raises(ValueError, match="ratio"):
        EyeBaseline(ratio=1.5, percentile=0.9, min_samples=10, history=50)


def test_per_track_state_is_deleted_when_tracks_end() -> None:
    r = make(Sleeping, common={"track_forget_s": 1.0})
    # 2000 short tracks, one after the other, each with an EAR: memory must not grow with them.
    sizes = []
    for i in range(2000):
        r.update(at(i * 0.5, staff=eyes(0.3, track=i // 4)))
        sizes.append(r.tracked_people)
    assert max(sizes) <= 2
    r.update(at(2000.0))
    r.update(at(2001.5))
    assert r.tracked_people == 0


def test_two_people_one_asleep() -> None:
    awake_and_asleep = (person(1), person(2, head_down=True))
    events = without_updates(run(rule(), stream(seg(70, staff=awake_and_asleep))))
    assert kinds(events) == [("opened", 60.0)]


def test_clock_gap_and_time_going_backwards() -> None:
    r = rule()
    events = without_updates(run(r, stream(seg(40, staff=HEAD_DOWN)) + stream(seg(70, staff=HEAD_DOWN), start=100)))
    assert kinds(events) == [("opened", 160.0)]
    events = without_updates(run(r, stream(seg(5, staff=HEAD_DOWN))))
    assert kinds(events) == [("closed", 169.5)]
