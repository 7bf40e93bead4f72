"""late_arrival and left_during_service, with the hall calendar (Asia/Shanghai, and a DST zone)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from counterwatch.rules.attendance import LateArrival, LeftDuringService
from counterwatch.rules.schedule import HallCalendar
from tests.rules.helpers import (
    STAFF,
    hall_config,
    kinds,
    make,
    run,
    seg,
    stream,
    wall,
    why,
    why_closed,
    without_updates,
)

# Monday 2 March 2026 08:00 in Asia/Shanghai (UTC+8); the window opens 08:30, so the deadline is 08:25 = ts 1500.
MONDAY_8 = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
DEADLINE_TS = 25 * 60.0


def late(config=None, **settings):
    config = config or hall_config()
    settings = {"arrive_before_open_s": 300.0, "grace_s": 0.0, "presence_s": 5.0} | settings
    common = settings.pop("common", None)
    return make(LateArrival, calendar=HallCalendar(config), common=common, **settings)


def minutes(value: float) -> float:
    return value * 60.0


def test_staff_at_the_post_before_the_deadline_is_on_time() -> None:
    script = stream(seg(minutes(20)), seg(minutes(25), staff=STAFF), origin=MONDAY_8, fps=1)
    assert run(late(), script) == []


def test_late_arrival_opens_at_the_deadline_and_closes_at_the_arrival() -> None:
    script = stream(seg(minutes(40)), seg(minutes(5), staff=STAFF), origin=MONDAY_8, fps=1)
    events = without_updates(run(late(), script))
    assert kinds(events) == [("opened", DEADLINE_TS), ("closed", minutes(40) + 5)]
    opened, closed = events
    assert opened.start_ts == DEADLINE_TS and opened.started_at == wall(DEADLINE_TS, MONDAY_8)
    assert opened.staff_id == "s1" and opened.incident_type == "late_arrival"
    assert closed.ended_at == wall(minutes(40), MONDAY_8)
    assert closed.attribute("late_by_s") == 900 and closed.attribute("arrived") == 1
    assert why(opened) == ("late.not_at_post", {"deadline_at": "08:25:00", "opening_at": "08:30:00",
                                                "before_open_s": 300.0, "grace_s": 0.0, "seen_at": "08:25:00"})
    assert why_closed(closed) == ("closed.arrived", {"arrived_at": "08:40:00", "late_s": 900.0})


def test_grace_moves_the_deadline() -> None:
    script = stream(seg(minutes(27)), seg(minutes(5), staff=STAFF), origin=MONDAY_8, fps=1)
    assert kinds(without_updates(run(late(), script))) == [("opened", DEADLINE_TS), ("closed", minutes(27) + 5)]
    assert run(late(grace_s=180.0), script) == []


def test_a_stream_that_starts_after_the_deadline_cannot_judge() -> None:
    script = stream(seg(minutes(30)), seg(minutes(5), staff=STAFF), start=minutes(27), origin=MONDAY_8, fps=1)
    assert run(late(), script) == []


def test_a_holiday_or_a_closed_exception_has_no_deadline() -> None:
    script = stream(seg(minutes(40)), seg(minutes(5), staff=STAFF), origin=MONDAY_8, fps=1)
    calendar = hall_config().calendar.model_dump()
    assert run(late(hall_config(calendar=calendar | {"holidays": ["2026-03-02"]})), script) == []
    closed = calendar | {"exceptions": [{"date": "2026-03-02", "closed": True, "windows": ["w1"]}]}
    assert run(late(hall_config(calendar=closed)), script) == []
    # The same exception for the other window leaves w1 judged.
    other = calendar | {"exceptions": [{"date": "2026-03-02", "closed": True, "windows": ["w2"]}]}
    assert len(without_updates(run(late(hall_config(calendar=other)), script))) == 2


def test_arriving_just_before_the_deadline_is_on_time_though_confirmed_after_it() -> None:
    script = stream(seg(DEADLINE_TS - 2), seg(minutes(5), staff=STAFF), origin=MONDAY_8, fps=2)
    assert run(late(), script) == []


def test_a_false_detection_at_the_deadline_does_not_count_as_arrival() -> None:
    script = stream(seg(DEADLINE_TS - 1), seg(2, staff=STAFF), seg(minutes(10)), origin=MONDAY_8, fps=2)
    events = without_updates(run(late(), script))
    # Seen at 1499.0-1500.5 only; the presence ends 5 s after the last sighting (at 1506.0) and the incident
    # opens then, with its onset at the deadline frame.
    assert kinds(events) == [("opened", 1506.0)]
    assert events[0].start_ts == DEADLINE_TS


def test_nobody_arrives_closes_at_closing_time() -> None:
    script = stream(seg(minutes(10 * 60)), origin=MONDAY_8, fps=0.1)
    events = without_updates(run(late(common={"max_frame_gap_s": 60.0}), script))
    closing_ts = minutes(9.5 * 60)  # 17:30
    assert kinds(events) == [("opened", DEADLINE_TS), ("closed", closing_ts)]
    assert events[1].attribute("arrived") == 0 and events[1].attribute("late_by_s") == closing_ts - DEADLINE_TS
    assert why_closed(events[1]) == ("closed.nobody_arrived", {"closing_at": "17:30:00"})


def test_a_gap_across_the_deadline_cannot_judge() -> None:
    script = (stream(seg(minutes(20)), origin=MONDAY_8, fps=1)
              + stream(seg(minutes(20)), start=minutes(26), origin=MONDAY_8, fps=1))
    assert run(late(), script) == []


def test_one_incident_per_window_per_day_even_across_a_stream_restart() -> None:
    r = late()
    day1 = stream(seg(minutes(40)), seg(minutes(5), staff=STAFF), seg(minutes(5)), origin=MONDAY_8, fps=1)
    assert [e.kind.value for e in without_updates(run(r, day1))] == ["opened", "closed"]
    # The stream restarts (ts back to 0) at 08:50 and the staff is absent again: no second late arrival.
    restart = stream(seg(minutes(10)), origin=MONDAY_8 + timedelta(minutes=50), fps=1)
    assert run(r, restart) == []
    # The next day is judged again (the stream kept running overnight: sampled every 10 s here).
    overnight = stream(seg(minutes(23 * 60 + 30)), start=minutes(10), origin=MONDAY_8 + timedelta(minutes=50),
                       fps=0.1)
    events = without_updates(run(r, overnight))
    assert [e.kind.value for e in events] == ["opened"]
    assert events[0].started_at == datetime(2026, 3, 3, 0, 25, tzinfo=UTC)


def test_deadline_in_a_zone_with_daylight_saving_time() -> None:
    calendar = {"timezone": "Europe/Berlin",
                "schedules": {"standard": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                           "open": "08:30", "close": "17:30"}}}
    config = hall_config(calendar=calendar)
    # Sunday 29 March 2026: clocks went from 02:00 CET to 03:00 CEST; 08:00 local is 06:00 UTC.
    origin = datetime(2026, 3, 29, 6, 0, tzinfo=UTC)
    script = stream(seg(minutes(40)), seg(minutes(5), staff=STAFF), origin=origin, fps=1)
    events = without_updates(run(late(config), script))
    assert kinds(events) == [("opened", DEADLINE_TS), ("closed", minutes(40) + 5)]
    assert events[0].started_at == datetime(2026, 3, 29, 6, 25, tzinfo=UTC)
    # The Friday before, still CET: 08:25 local is 07:25 UTC.
    friday = datetime(2026, 3, 27, 7, 0, tzinfo=UTC)
    events = without_updates(run(late(config), stream(seg(minutes(40)), origin=friday, fps=1)))
    assert events[0].started_at == datetime(2026, 3, 27, 7, 25, tzinfo=UTC)


# left_during_service ------------------------------------------------------------------------------------------


def left(**settings):
    settings = {"citizen_present_s": 5.0, "dwell_s": 30.0, "return_s": 5.0, "citizen_gone_s": 5.0,
                "cooldown_s": 0.0} | settings
    return make(LeftDuringService, calendar=HallCalendar(hall_config()), **settings)


def test_leaving_a_waiting_citizen_opens_after_the_dwell_with_the_onset_at_the_departure() -> None:
    script = stream(seg(20, staff=STAFF, citizens=1), seg(40, citizens=2), seg(10, staff=STAFF, citizens=1))
    events = without_updates(run(left(), script))
    assert kinds(events) == [("opened", 50.0), ("closed", 65.0)]
    opened, closed = events
    assert opened.start_ts == 20.0 and opened.started_at == wall(20.0)
    assert opened.attribute("citizen_at_counter_s") == 20.0 and closed.attribute("citizens_waiting") == 2
    assert closed.ended_at == wall(60.0)
    assert why(opened) == ("left.during_service", {"left_at": "09:00:20", "served_s": 20.0, "away_s": 30.0,
                                                   "dwell_s": 30.0, "citizens_waiting": 2})
    assert why_closed(closed) == ("closed.staff_back", {"back_s": 5.0})


def test_a_citizen_who_just_arrived_or_no_citizen_at_all_does_not_count() -> None:
    just_arrived = stream(seg(18, staff=STAFF), seg(2, staff=STAFF, citizens=1), seg(60, citizens=1))
    assert run(left(), just_arrived) == []
    nobody = stream(seg(20, staff=STAFF), seg(60))
    assert run(left(), nobody) == []


def test_the_citizen_leaving_closes_it_and_a_citizen_leaving_before_the_dwell_prevents_it() -> None:
    script = stream(seg(20, staff=STAFF, citizens=1), seg(40, citizens=1), seg(30))
    events = without_updates(run(left(), script))
    assert kinds(events) == [("opened", 50.0), ("closed", 65.0)]
    assert events[1].ended_at == wall(60.0) and why_closed(events[1]) == ("closed.citizen_gone", {"gone_s": 5.0})
    early = stream(seg(20, staff=STAFF, citizens=1), seg(20, citizens=1), seg(60))
    assert run(left(), early) == []


def test_a_pause_by_sign_or_queue_excuses_it_but_closing_time_does_not() -> None:
    before = stream(seg(20, staff=STAFF, citizens=1), seg(10, citizens=1), seg(50, citizens=1, paused="sign"))
    assert run(left(), before) == []
    mid = stream(seg(20, staff=STAFF, citizens=1), seg(35, citizens=1), seg(10, citizens=1, paused="queue"))
    events = run(left(), mid)
    assert kinds(events) == [("opened", 50.0), ("closed", 55.0)]
    assert why_closed(events[1]) == ("closed.pause_started", {"source": "queue"})
    closing = stream(seg(20, staff=STAFF, citizens=1), seg(40, citizens=1, paused="schedule", on_schedule=False))
    assert kinds(without_updates(run(left(), closing))) == [("opened", 50.0)]


def test_staff_detection_dropping_out_next_to_a_citizen_is_not_leaving() -> None:
    flicker = seg(300, staff=lambda i: () if i % 6 in (0, 1) else STAFF, citizens=1)
    assert run(left(), stream(flicker)) == []
