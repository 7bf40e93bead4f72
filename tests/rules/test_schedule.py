"""HallCalendar: service periods, opening times and the roster, evaluated in the hall's time zone."""
from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from counterwatch.config import load_config
from counterwatch.rules.schedule import HallCalendar
from tests.rules.helpers import hall_config

REPO = Path(__file__).resolve().parents[2]
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def example() -> HallCalendar:
    return HallCalendar(load_config(REPO / "configs/example-hall.yaml"))


def hhmm(periods) -> list[tuple[str, str]]:
    return [(start.strftime("%H:%M"), end.strftime("%H:%M")) for start, end in periods]


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_regular_day_is_opening_hours_minus_lunch(example) -> None:
    periods = example.service_periods("w01", date(2026, 3, 2))  # Monday
    assert hhmm(periods) == [("08:30", "12:00"), ("14:00", "17:30")]
    assert all(p.tzinfo is not None and p.utcoffset().total_seconds() == 8 * 3600 for pair in periods for p in pair)
    assert example.opening_time("w01", date(2026, 3, 2)) == datetime(2026, 3, 2, 8, 30, tzinfo=SHANGHAI)
    assert example.closing_time("w01", date(2026, 3, 2)) == datetime(2026, 3, 2, 17, 30, tzinfo=SHANGHAI)
    assert example.service_periods("w01", date(2026, 3, 7)) == ()  # Saturday
    assert example.opening_time("w01", date(2026, 3, 7)) is None


def test_extended_lunch_time_service_fills_the_lunch_break(example) -> None:
    assert hhmm(example.service_periods("w04", date(2026, 3, 2))) == [("08:30", "17:30")]
    assert example.is_open("w04", utc(2026, 3, 2, 4, 30))  # 12:30 local
    assert not example.is_open("w01", utc(2026, 3, 2, 4, 30))


def test_weekend_extended_service(example) -> None:
    assert hhmm(example.service_periods("w04", date(2026, 3, 7))) == [("09:00", "12:00")]
    assert example.opening_time("w04", date(2026, 3, 7)) == datetime(2026, 3, 7, 9, 0, tzinfo=SHANGHAI)


def test_holidays_close_every_window_including_extended_service(example) -> None:
    for window in ("w01", "w04", "w05"):
        assert example.service_periods(window, date(2026, 2, 16)) == ()
        assert not example.is_open(window, utc(2026, 2, 16, 2, 0))


def test_a_saturday_worked_as_a_regular_day(example) -> None:
    # 2026-02-14 is a Saturday listed as 春节调休上班 for every window.
    assert hhmm(example.service_periods("w01", date(2026, 2, 14))) == [("08:30", "12:00"), ("14:00", "17:30")]
    # The extended window keeps its weekday lunch-time service on the worked Saturday.
    assert hhmm(example.service_periods("w04", date(2026, 2, 14))) == [("08:30", "17:30")]


def test_half_day_exception(example) -> None:
    assert hhmm(example.service_periods("w01", date(2026, 9, 30))) == [("08:30", "12:00")]
    assert hhmm(example.service_periods("w04", date(2026, 9, 30))) == [("08:30", "12:00")]  # replaces extended too
    assert not example.is_open("w01", utc(2026, 9, 30, 6, 0))  # 14:00 local


def test_exception_for_one_window_only() -> None:
    calendar = hall_config().calendar.model_dump() | {"exceptions": [
        {"date": "2026-03-03", "hours": [{"start": "08:30", "end": "12:00"}], "windows": ["w1"]},
        {"date": "2026-03-03", "closed": True},  # every other window closed that day
        {"date": "2026-03-04", "hours": [{"start": "13:00", "end": "15:00"}, {"start": "09:00", "end": "10:00"}]},
    ]}
    cal = HallCalendar(hall_config(calendar=calendar))
    assert hhmm(cal.service_periods("w1", date(2026, 3, 3))) == [("08:30", "12:00")]
    assert cal.service_periods("w2", date(2026, 3, 3)) == ()
    assert hhmm(cal.service_periods("w2", date(2026, 3, 4))) == [("09:00", "10:00"), ("13:00", "15:00")]
    assert cal.opening_time("w2", date(2026, 3, 4)).hour == 9


def test_an_exception_outranks_a_holiday() -> None:
    calendar = hall_config().calendar.model_dump() | {
        "holidays": ["2026-10-01"],
        "exceptions": [{"date": "2026-10-01", "hours": [{"start": "09:00", "end": "11:00"}], "windows": ["w2"]}]}
    cal = HallCalendar(hall_config(calendar=calendar))
    assert cal.service_periods("w1", date(2026, 10, 1)) == ()
    assert hhmm(cal.service_periods("w2", date(2026, 10, 1))) == [("09:00", "11:00")]


def test_is_open_boundaries_are_half_open(example) -> None:
    assert example.is_open("w01", utc(2026, 3, 2, 0, 30))  # 08:30 local
    assert not example.is_open("w01", utc(2026, 3, 2, 0, 29, 59))
    assert not example.is_open("w01", utc(2026, 3, 2, 9, 30))  # 17:30 local
    assert example.is_open("w01", utc(2026, 3, 2, 9, 29, 59))
    # Evaluated on the local date: 20:00 UTC on Sunday is 04:00 on Monday in Shanghai.
    assert example.local_date(utc(2026, 3, 1, 20, 0)) == date(2026, 3, 2)
    assert example.is_open("w01", datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI))  # any aware datetime works


def test_dst_zone_conversions_are_correct() -> None:
    calendar = {"timezone": "Europe/Berlin",
                "schedules": {"standard": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                           "open": "08:30", "close": "17:30"},
                              "night": {"days": ["sun"], "open": "01:30", "close": "04:00"}}}
    windows = [{"id": "w1", "name": "One", "pause_marker_id": 1},
               {"id": "w2", "name": "Two", "schedule": "night", "pause_marker_id": 2}]
    cal = HallCalendar(hall_config(calendar=calendar, windows=windows))
    # Before (CET, UTC+1), on (switch at 02:00 -> 03:00) and after the spring change.
    assert cal.opening_time("w1", date(2026, 3, 28)).astimezone(UTC) == utc(2026, 3, 28, 7, 30)
    assert cal.opening_time("w1", date(2026, 3, 29)).astimezone(UTC) == utc(2026, 3, 29, 6, 30)
    assert cal.is_open("w1", utc(2026, 3, 29, 6, 45)) and not cal.is_open("w1", utc(2026, 3, 28, 6, 45))
    assert cal.is_open("w1", utc(2026, 3, 29, 15, 29)) and not cal.is_open("w1", utc(2026, 3, 29, 15, 30))
    # 01:30-04:00 local on the change night lasts 1.5 h of real time, not 2.5 h.
    (start, end), = cal.service_periods("w2", date(2026, 3, 29))
    assert start.astimezone(UTC) == utc(2026, 3, 29, 0, 30) and end.astimezone(UTC) == utc(
        2026, 3, 29, 2, 0)
    assert (end.astimezone(UTC) - start.astimezone(UTC)).total_seconds() == 1.5 * 3600
    # Autumn: back to CET on 25 October.
    assert cal.opening_time("w1", date(2026, 10, 26)).astimezone(UTC) == utc(2026, 10, 26, 7, 30)
    assert cal.local_date(utc(2026, 10, 25, 23, 30)) == date(2026, 10, 26)


def test_a_period_starting_in_the_spring_gap_starts_when_the_clocks_resume() -> None:
    calendar = {"timezone": "Europe/Berlin",
                "schedules": {"standard": {"days": ["sun"], "open": "02:30", "close": "05:00"}}}
    cal = HallCalendar(hall_config(calendar=calendar))
    (start, end), = cal.service_periods("w1", date(2026, 3, 29))
    assert start < end
    assert start.astimezone(UTC) == utc(2026, 3, 29, 1, 30)  # 02:30 does not exist: 03:30 CEST
    assert end.astimezone(UTC) == utc(2026, 3, 29, 3, 0)


def test_roster_weekly_and_date_specific_entries(example) -> None:
    monday_10 = datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)
    thursday_10 = datetime(2026, 3, 5, 10, 0, tzinfo=SHANGHAI)
    assert example.rostered_staff("w02", monday_10) == "s102"
    assert example.rostered_staff("w02", thursday_10) == "s103"
    assert example.rostered_staff("w04", datetime(2026, 3, 7, 10, 0, tzinfo=SHANGHAI)) == "s302"  # Saturday
    assert example.rostered_staff("w01", datetime(2026, 3, 7, 10, 0, tzinfo=SHANGHAI)) is None
    # A one-day cover overrides the weekly entry on its date only.
    assert example.rostered_staff("w06", datetime(2026, 11, 27, 10, 0, tzinfo=SHANGHAI)) == "s103"
    assert example.rostered_staff("w06", datetime(2026, 11, 26, 10, 0, tzinfo=SHANGHAI)) == "s501"
    # Before opening the all-day entry still names who is answerable (for a late arrival).
    assert example.rostered_staff("w01", datetime(2026, 3, 2, 8, 20, tzinfo=SHANGHAI)) == "s101"
    # Evaluated in local time: 2026-03-05 01:00 UTC is Thursday 09:00 in Shanghai.
    assert example.rostered_staff("w02", utc(2026, 3, 5, 1, 0)) == "s103"


def test_roster_validity_and_shift_hours() -> None:
    roster = [
        {"window": "w1", "staff": "old", "valid_until": "2026-02-28"},
        {"window": "w1", "staff": "new", "valid_from": "2026-03-01"},
        {"window": "w1", "staff": "lunch", "hours": {"start": "12:00", "end": "14:00"}},
        {"window": "w2", "staff": "weekly"},
        {"window": "w2", "staff": "cover", "date": "2026-03-03", "hours": {"start": "08:00", "end": "12:00"}},
    ]
    cal = HallCalendar(hall_config(roster=roster))
    assert cal.rostered_staff("w1", datetime(2026, 2, 27, 10, 0, tzinfo=SHANGHAI)) == "old"
    assert cal.rostered_staff("w1", datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI)) == "new"
    assert cal.rostered_staff("w1", datetime(2026, 3, 2, 12, 30, tzinfo=SHANGHAI)) == "lunch"
    assert cal.rostered_staff("w1", datetime(2026, 3, 2, 14, 0, tzinfo=SHANGHAI)) == "new"
    # A morning-only cover: the weekly entry is in charge in the afternoon.
    assert cal.rostered_staff("w2", datetime(2026, 3, 3, 9, 0, tzinfo=SHANGHAI)) == "cover"
    assert cal.rostered_staff("w2", datetime(2026, 3, 3, 15, 0, tzinfo=SHANGHAI)) == "weekly"


def test_invalid_arguments_name_the_field(example) -> None:
    with pytest.raises(ValueError, match="at must be a timezone-aware"):
        example.is_open("w01", datetime(2026, 3, 2, 10, 0))
    with pytest.raises(ValueError, match="at must be a timezone-aware"):
        example.rostered_staff("w01", datetime(2026, 3, 2, 10, 0))
    with pytest.raises(ValueError, match="window_id"):
        example.service_periods("nope", date(2026, 3, 2))
    with pytest.raises(ValueError, match="date must be"):
        example.service_periods("w01", datetime(2026, 3, 2, 10, 0, tzinfo=SHANGHAI))
    with pytest.raises(ValueError, match="config"):
        HallCalendar({"hall": "x"})
