"""phone_use: a sliding window over analysed frames that tolerates missed detections."""
from __future__ import annotations

from itertools import pairwise

from counterwatch.rules.phone import PhoneUse
from tests.rules.helpers import STAFF, kinds, make, person, run, seg, stream, wall, why, why_closed, without_updates

PHONE = (person(phone=0.8),)
WEAK = (person(phone=0.2),)
CALL = (person(call=True),)


def rule(**settings):
    settings = {"dwell_s": 30.0, "min_fraction": 0.7, "clear_s": 10.0, "cooldown_s": 0.0} | settings
    return make(PhoneUse, **settings)


def test_opens_exactly_at_the_dwell_and_closes_after_clear_s() -> None:
    events = run(rule(), stream(seg(5, staff=STAFF), seg(60, staff=PHONE), seg(20, staff=STAFF)))
    events = without_updates(events)
    assert kinds(events) == [("opened", 35.0), ("closed", 75.0)]
    assert events[0].start_ts == 5.0 and events[0].started_at == wall(5.0)
    assert events[0].confidence == 1.0
    assert events[1].ended_at == wall(65.0)  # the first frame without the phone
    # held_s from the first phone frame; the frame counts are of the last dwell_s (30 s at 2 fps: 61 frames).
    assert why(events[0]) == ("phone.cue", {"held_s": 30.0, "dwell_s": 30.0, "frames": 61, "share": 1.0,
                                            "min_share": 0.7, "phone_frames": 61, "call_frames": 0, "head_frames": 0,
                                            "best_score": 0.8})
    assert why_closed(events[1]) == ("closed.no_phone", {"quiet_s": 10.0})


def test_phone_missing_in_a_fifth_of_the_frames_opens_on_time_and_does_not_split() -> None:
    missing = seg(120, staff=lambda i: STAFF if i % 5 == 4 else PHONE)
    events = without_updates(run(rule(), stream(seg(5, staff=STAFF), missing, seg(20, staff=STAFF))))
    assert kinds(events) == [("opened", 35.0), ("closed", 134.5)]
    assert events[0].start_ts == 5.0 and events[1].ended_at == wall(124.5)  # 124.5 is a missed frame
    assert 0.78 <= events[0].confidence <= 0.82


def test_a_phone_in_half_of_the_frames_never_opens() -> None:
    half = seg(300, staff=lambda i: PHONE if i % 2 else STAFF)
    assert run(rule(), stream(half)) == []


def test_a_score_below_min_score_is_no_cue_and_a_call_posture_is_one() -> None:
    assert run(rule(), stream(seg(60, staff=WEAK))) == []
    events = without_updates(run(rule(), stream(seg(60, staff=CALL))))
    assert kinds(events) == [("opened", 30.0)]
    assert why(events[0]) == ("phone.cue", {"held_s": 30.0, "dwell_s": 30.0, "frames": 61, "share": 1.0,
                                            "min_share": 0.7, "phone_frames": 0, "call_frames": 61, "head_frames": 0,
                                            "best_score": 0.0})
    assert kinds(without_updates(run(rule(min_score=0.15), stream(seg(60, staff=WEAK))))) == [("opened", 30.0)]


def test_sporadic_false_cues_before_the_real_use_do_not_drag_its_onset_back() -> None:
    # A false phone cue in every 5th frame for a minute, then a phone in every frame from 60 s.
    noise = seg(60, staff=lambda i: PHONE if i % 5 == 0 else STAFF)
    events = without_updates(run(rule(), stream(noise, seg(60, staff=PHONE))))
    assert [e.kind.value for e in events] == ["opened"]
    # At 78.5 the window [48.5, 78.5] still falls short of 70 %, so the onset moves up to its first cue frame (a
    # noise frame at 50.0, not the first noise frame at 0); the episode then needs its full 30 s from there.
    assert events[0].ts == 80.0 and events[0].start_ts == 50.0


def test_empty_frames_are_frames_without_a_phone() -> None:
    # The person leaves the frame with their phone: the incident closes after clear_s of empty frames.
    events = without_updates(run(rule(), stream(seg(40, staff=PHONE), seg(15))))
    assert kinds(events) == [("opened", 30.0), ("closed", 50.0)]


def test_a_clock_gap_restarts_the_sliding_window() -> None:
    before = stream(seg(20, staff=PHONE))
    after = stream(seg(40, staff=PHONE), start=80.0)
    events = without_updates(run(rule(), before + after))
    assert kinds(events) == [("opened", 110.0)]
    assert events[0].start_ts == 80.0


def test_time_going_backwards_closes_and_starts_afresh() -> None:
    r = rule()
    events = without_updates(run(r, stream(seg(40, staff=PHONE))))
    assert kinds(events) == [("opened", 30.0)]
    events = without_updates(run(r, stream(seg(40, staff=PHONE), start=1.0)))
    assert kinds(events) == [("closed", 39.5), ("opened", 31.0)]


def test_cooldown_after_close() -> None:
    script = stream(seg(40, staff=PHONE), seg(11, staff=STAFF), seg(60, staff=PHONE))
    # Closed at 50 (cue-free from 40). Second episode from 51: reached at 81, cooldown until 50 + 45 = 95.
    events = without_updates(run(rule(cooldown_s=45.0), script))
    assert kinds(events) == [("opened", 30.0), ("closed", 50.0), ("opened", 95.0)]
    assert events[2].start_ts == 51.0
    events = without_updates(run(rule(cooldown_s=0.0), script))
    assert kinds(events) == [("opened", 30.0), ("closed", 50.0), ("opened", 81.0)]


def test_updates_follow_the_rising_peak_then_stay_quiet() -> None:
    # The fraction climbs from 0.7 to 1.0 after opening: updates at each 0.05 step of the peak, then nothing.
    ramp = seg(30, staff=lambda i: PHONE if i % 10 < 7 else STAFF)
    events = run(rule(), stream(ramp, seg(40, staff=PHONE)))
    opened = [e for e in events if e.kind.value == "opened"]
    updates = [e for e in events if e.kind.value == "updated"]
    assert len(opened) == 1 and 3 <= len(updates) <= 7
    peaks = [e.peak_confidence for e in updates]
    assert peaks == sorted(peaks) and peaks[-1] > 0.95
    assert all(b - a >= 0.05 - 1e-9 for a, b in pairwise([opened[0].peak_confidence] + peaks))


def test_a_clear_time_longer_than_the_window_still_closes() -> None:
    # dwell 2 s, clear 10 s: the window empties of cues long before the incident may close.
    events = without_updates(run(rule(dwell_s=2.0, clear_s=10.0), stream(seg(5, staff=PHONE), seg(15, staff=STAFF))))
    assert kinds(events) == [("opened", 2.0), ("closed", 15.0)]
