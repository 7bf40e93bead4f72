"""absent_without_pause with scripted window states and a fake clock."""
from __future__ import annotations

from counterwatch.rules.absent import AbsentWithoutPause
from tests.rules.helpers import (
    CLOSED,
    OPENED,
    STAFF,
    UPDATED,
    at,
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


def rule(**settings):
    settings = {"dwell_s": 10.0, "return_s": 2.0, "cooldown_s": 0.0} | settings
    return make(AbsentWithoutPause, **settings)


def test_opens_exactly_at_the_dwell_with_the_onset_at_the_first_empty_frame() -> None:
    events = run(rule(), stream(seg(5, staff=STAFF), seg(20), seg(5, staff=STAFF)))
    assert kinds(events) == [("opened", 15.0), ("closed", 27.0)]
    opened, closed = events
    assert opened.start_ts == 5.0 and opened.started_at == wall(5.0)
    assert opened.incident_type == "absent_without_pause" and opened.window_id == "w1" and opened.hall_id == "h1"
    assert opened.camera_id == "cam1" and opened.staff_id == "s1"
    assert closed.ended_at == wall(25.0)  # the first frame the staff was back
    assert closed.incident_id == opened.incident_id and closed.start_ts == 5.0


def test_one_frame_short_of_the_dwell_does_not_open() -> None:
    events = run(rule(), stream(seg(5, staff=STAFF), seg(9.5), seg(10, staff=STAFF)))
    assert events == []


def test_presence_flicker_neither_opens_nor_splits() -> None:
    # Present with the detection dropping out for 1-2 frames every 3 s: never an absence, even though no presence
    # stretch between dropouts lasts return_s (5 s by default).
    flicker = seg(120, staff=lambda i: () if i % 6 in (0, 1) else STAFF)
    assert run(rule(return_s=5.0), stream(flicker)) == []
    # Absent with a false detection of the empty chair for one frame every 3 s: one incident, not several.
    ghosts = seg(40, staff=lambda i: STAFF if i % 6 == 0 else ())
    events = run(rule(), stream(seg(2, staff=STAFF), ghosts, seg(5, staff=STAFF)))
    assert kinds(events) == [("opened", 12.5), ("closed", 44.0)]
    assert events[0].start_ts == 2.5  # the frame at 2.0 is a ghost, 2.5 the first empty one
    assert events[1].ended_at == wall(42.0)


def test_a_pause_mid_absence_closes_the_incident_at_once() -> None:
    events = run(rule(), stream(seg(2, staff=STAFF), seg(15), seg(10, paused="sign", sign_visible=True),
                                seg(5, staff=STAFF)))
    assert kinds(events) == [("opened", 12.0), ("closed", 17.0)]
    assert events[1].ended_at == wall(17.0)
    assert why(events[1])[0] == "absent.no_staff"  # the closing is added to the absence it ends
    assert why_closed(events[1]) == ("closed.pause_started", {"source": "sign"})
    assert events[1].reason.endswith("; closed: pause started (sign)")


def test_an_absence_paused_before_the_dwell_never_opens_and_the_dwell_restarts_after_the_pause() -> None:
    events = run(rule(), stream(seg(2, staff=STAFF), seg(8), seg(30, paused="queue"), seg(9.5), seg(5, staff=STAFF)))
    assert events == []
    events = run(rule(), stream(seg(2, staff=STAFF), seg(8), seg(30, paused="queue"), seg(12), seg(5, staff=STAFF)))
    assert [k for k, _ in kinds(events)] == ["opened", "closed"]
    assert events[0].start_ts == 40.0 and events[0].ts == 50.0  # the dwell counts from the first unpaused frame


def test_off_schedule_is_not_an_absence() -> None:
    assert run(rule(), stream(seg(60, on_schedule=False))) == []


def test_staff_return_closes_after_return_s_and_a_shorter_return_does_not() -> None:
    # Back for 1.5 s (< return_s 2) then gone again: still the same incident.
    events = run(rule(), stream(seg(1, staff=STAFF), seg(20), seg(1.5, staff=STAFF), seg(10), seg(3, staff=STAFF)))
    assert kinds(events) == [("opened", 11.0), ("closed", 34.5)]
    assert events[1].ended_at == wall(32.5)
    assert why_closed(events[1]) == ("closed.staff_back", {"back_s": 2.0})


def test_a_visitor_in_the_staff_zone_is_not_an_absence() -> None:
    both = (person(1), person(2))
    visitor_only = (person(2),)
    assert run(rule(), stream(seg(5, staff=both), seg(60, staff=visitor_only))) == []


def test_empty_frames_count_as_absence_and_citizens_waiting_is_the_maximum_seen() -> None:
    citizens = seg(20, citizens=lambda i: [0, 2, 1, 3, 1][i % 5])
    events = run(rule(), stream(seg(1, staff=STAFF), citizens, seg(3, staff=STAFF)))
    assert [k for k, _ in kinds(events)] == ["opened", "closed"]
    assert events[0].attribute("citizens_waiting") == 3 and events[1].attribute("citizens_waiting") == 3
    # absent_s counts from the first empty frame (1.0); share is of the frames of the last dwell_s.
    assert why(events[0]) == ("absent.no_staff", {"absent_s": 10.0, "dwell_s": 10.0, "share": 1.0, "min_share": 0.7,
                                                  "sign": "not_checked", "citizens_waiting": 3})
    assert events[0].reason_detail.notes == () and events[0].reason_detail.closed is None
    assert events[0].reason.startswith("nobody at the post for 10 s (an alert after 10 s); no staff in 100% of the "
                                       "frames of the last 10 s (needs 70%); pause sign not checked")


def test_a_clock_gap_does_not_count_as_dwell() -> None:
    r = rule()
    before = stream(seg(1, staff=STAFF), seg(5))  # absent from 1.0 to 5.5
    after = stream(seg(30), start=65.0)  # frames resume 60 s later, still absent
    events = run(r, before + after)
    assert kinds(events) == [("opened", 75.0)]
    assert events[0].start_ts == 65.0  # the dwell restarted after the gap


def test_a_clock_gap_with_an_open_incident_keeps_it_open_and_the_return_is_judged_after_the_gap() -> None:
    r = rule()
    events = run(r, stream(seg(1, staff=STAFF), seg(15)))
    assert kinds(events) == [("opened", 11.0)]
    # 1 s of presence before the gap and 1 s after: neither alone is return_s, and the gap does not join them.
    events = run(r, stream(seg(1, staff=STAFF), start=16.0) + stream(seg(1, staff=STAFF), seg(5), start=100.0))
    assert without_updates(events) == []
    events = run(r, stream(seg(3, staff=STAFF), start=106.0))
    assert kinds(events) == [("closed", 108.0)]


def test_time_going_backwards_closes_at_the_last_frame_and_starts_afresh() -> None:
    r = rule()
    events = run(r, stream(seg(1, staff=STAFF), seg(15)))
    assert kinds(events) == [("opened", 11.0)]
    restarted = stream(seg(20), start=0.0)  # the stream restarted: ts begins again at 0
    events = run(r, restarted)
    assert kinds(events) == [("closed", 15.5), ("opened", 10.0)]
    assert events[0].ended_at == wall(15.5)
    assert why_closed(events[0]) == ("closed.stream_restarted", {"from_ts": 15.5, "to_ts": 0.0})
    assert events[1].start_ts == 0.0 and events[1].incident_id != events[0].incident_id


def test_a_duplicate_timestamp_is_ignored() -> None:
    r = rule()
    r = rule(return_s=0.0)  # a processed duplicate with staff would end the absence at once
    assert r.update(at(0.0, staff=STAFF)) == ()
    assert r.update(at(1.0)) == ()
    assert r.update(at(1.0, staff=STAFF)) == ()
    assert kinds(run(r, stream(seg(20), start=1.5))) == [("opened", 11.0)]


def test_cooldown_delays_the_next_incident_and_keeps_its_onset() -> None:
    script = stream(seg(1, staff=STAFF), seg(12), seg(3, staff=STAFF), seg(40))
    events = run(rule(cooldown_s=30.0), script)
    # First: absent 1..13, closed at 15 (back at 13 + return 2). Second absence from 16: dwell reached at 26,
    # but the cooldown runs until 45.
    assert kinds(events) == [("opened", 11.0), ("closed", 15.0), ("opened", 45.0)]
    assert events[2].start_ts == 16.0
    assert kinds(run(rule(cooldown_s=0.0), script)) == [("opened", 11.0), ("closed", 15.0), ("opened", 26.0)]


def test_updates_are_sparse_heartbeats() -> None:
    r = make(AbsentWithoutPause, dwell_s=10.0, return_s=2.0, common={"update_every_s": 60.0})
    events = run(r, stream(seg(1, staff=STAFF), seg(200), seg(3, staff=STAFF)))
    assert kinds(events) == [("opened", 11.0), ("updated", 71.0), ("updated", 131.0), ("updated", 191.0),
                             ("closed", 203.0)]
    assert len({e.incident_id for e in events}) == 1
    assert all(e.kind is not UPDATED or e.confidence == 1.0 for e in events)
    # A long absence outlasts the window its share is measured over: the reason names both durations.
    assert why(events[2]) == ("absent.no_staff", {"absent_s": 130.0, "dwell_s": 10.0, "share": 1.0, "min_share": 0.7,
                                                  "sign": "not_checked", "citizens_waiting": 0})


def test_close_at_shutdown() -> None:
    r = rule()
    run(r, stream(seg(1, staff=STAFF), seg(15)))
    events = r.close(16.0, wall(16.0))
    assert [e.kind for e in events] == [CLOSED] and events[0].ended_at == wall(16.0)
    assert why_closed(events[0]) == ("closed.monitoring_stopped", {})
    assert r.close(17.0, wall(17.0)) == ()


def test_staff_id_is_the_rostered_staff_at_the_onset() -> None:
    script = stream(seg(1, staff=STAFF, rostered="s1"), seg(5, rostered="s1"), seg(10, rostered="s9"))
    events = without_updates(run(rule(), script))
    assert [e.kind for e in events] == [OPENED] and events[0].staff_id == "s1"


def test_the_fused_presence_counts_as_someone_at_the_post() -> None:
    """No person box, but presence fusion says occupied (e.g. the zone differs from its empty picture)."""
    from dataclasses import replace

    def fused(occupied: bool):
        return lambda state: replace(state, occupancy=0.9 if occupied else 0.1, occupied=occupied,
                                     presence_cues=("detector", "motion", "reference"))

    held = [fused(True)(s) for s in stream(seg(60))]
    assert all(s.staff_present and s.presence_source == "fusion" for s in held)
    assert run(rule(), held) == []
    empty = [fused(False)(s) for s in stream(seg(20))]
    events = run(rule(), empty)
    assert kinds(events) == [("opened", 10.0)]
    assert [(n.code, n.param_dict()) for n in events[0].reason_detail.notes] == [
        ("presence.fusion", {"occupancy": 0.1, "cues": ("detector", "motion", "reference")})]
    assert "occupancy 10% from detector, motion, reference" in events[0].reason
