"""National holidays and make-up working days (调休): the shipped 2026 calendar closes the Spring Festival and National
Day weeks and opens the worked weekend days; `counterwatch calendar update` writes files that halls load."""
from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.config import ConfigError, load_config
from counterwatch.config.checks import check_national_years
from counterwatch.rules.schedule import HallCalendar

REPO = Path(__file__).resolve().parents[2]
SHIPPED_2026 = REPO / "configs/calendars/cn-2026.yaml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
REGULAR_DAY = [("08:30", "12:00"), ("14:00", "17:30")]


def hhmm(periods) -> list[tuple[str, str]]:
    return [(start.strftime("%H:%M"), end.strftime("%H:%M")) for start, end in periods]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=n) for n in range((last - first).days + 1)]


@pytest.fixture(scope="module")
def example() -> HallCalendar:
    return HallCalendar(load_config(REPO / "configs/example-hall.yaml"))


def _hall(tmp_path: Path, calendar: str) -> Path:
    """A one-window hall (weekday schedule with lunch) whose `calendar:` section is `calendar` (indented YAML)."""
    path = tmp_path / "hall.yaml"
    path.write_text(f"""\
version: 1
hall: {{id: h1, name: Hall}}
windows:
  - {{id: w1, name: One, pause_marker_id: 1}}
cameras:
  - id: c1
    source: rtsp://127.0.0.1:8554/x
    views:
      - window: w1
        staff_zone: [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]]
        citizen_side: [[0.0, 0.7], [0.6, 0.7], [0.6, 1.0], [0.0, 1.0]]
        pause_sign_region: [[0.3, 0.4], [0.5, 0.4], [0.5, 0.6], [0.3, 0.6]]
calendar:
  timezone: Asia/Shanghai
  schedules:
    standard: {{open: "08:30", close: "17:30", lunch: {{start: "12:00", end: "14:00"}}}}
{calendar}""", encoding="utf-8")
    return path


def test_the_2026_spring_festival_and_national_day_weeks_are_not_service_days(example) -> None:
    spring_festival = _days(dt.date(2026, 2, 15), dt.date(2026, 2, 23))  # 春节: 15 to 23 February, 9 days
    national_day = _days(dt.date(2026, 10, 1), dt.date(2026, 10, 7))  # 国庆节: 1 to 7 October
    for day in spring_festival + national_day:
        for window in ("w01", "w04", "w05"):  # w04 and w05 also serve on weekends (延时服务)
            assert example.service_periods(window, day) == (), (window, day)
    # 10:00 on Monday 5 October and on Monday 23 February: nobody is expected at the window.
    assert not example.is_open("w01", dt.datetime(2026, 10, 5, 10, 0, tzinfo=SHANGHAI))
    assert not example.is_open("w01", dt.datetime(2026, 2, 23, 10, 0, tzinfo=SHANGHAI))
    assert example.is_open("w01", dt.datetime(2026, 2, 24, 10, 0, tzinfo=SHANGHAI))  # back to work


def test_the_2026_make_up_working_days_are_regular_working_days(example) -> None:
    for day in (dt.date(2026, 1, 4), dt.date(2026, 2, 14), dt.date(2026, 2, 28), dt.date(2026, 5, 9),
                dt.date(2026, 9, 20), dt.date(2026, 10, 10)):
        assert day.weekday() >= 5  # each a Saturday or Sunday
        assert hhmm(example.service_periods("w01", day)) == REGULAR_DAY, day
    assert example.is_open("w01", dt.datetime(2026, 2, 28, 10, 0, tzinfo=SHANGHAI))
    assert example.service_periods("w01", dt.date(2026, 3, 7)) == ()  # an ordinary Saturday stays closed


def test_the_shipped_file_is_what_the_update_command_writes(tmp_path: Path) -> None:
    out = tmp_path / "cn-2026.yaml"
    result = CliRunner().invoke(main, ["calendar", "update", "--year", "2026", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "CN 2026: 33 holidays, 6 make-up working days (chinesecalendar" in result.output
    assert out.read_text(encoding="utf-8") == SHIPPED_2026.read_text(encoding="utf-8")
    calendar = HallCalendar(load_config(_hall(tmp_path, f"  national: [{out}]\n")))
    assert calendar.service_periods("w1", dt.date(2026, 2, 17)) == ()
    assert hhmm(calendar.service_periods("w1", dt.date(2026, 2, 14))) == REGULAR_DAY


def test_a_csv_typed_from_a_notice_becomes_a_calendar_that_a_folder_entry_picks_up(tmp_path: Path) -> None:
    folder = tmp_path / "calendars"
    folder.mkdir()
    (folder / "cn-2026.yaml").write_text(SHIPPED_2026.read_text(encoding="utf-8"), encoding="utf-8")
    notice = tmp_path / "notice.csv"
    # Test data for a far year (no real notice): a Monday-to-Wednesday holiday and a Sunday worked for it.
    notice.write_text("date,kind,name\n2099-04-06,holiday,清明\n2099-04-07,holiday,清明\n2099-04-08,holiday,清明\n"
                      "2099-04-12,workday,清明\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["calendar", "update", "--year", "2099", "--from", str(notice),
                                       "--source", "test notice", "--out", str(folder / "cn-2099.yaml")])
    assert result.exit_code == 0, result.output
    assert "CN 2099: 3 holidays, 1 make-up working days (test notice)" in result.output
    calendar = HallCalendar(load_config(_hall(tmp_path, "  national: [calendars]\n")))
    assert calendar.service_periods("w1", dt.date(2099, 4, 6)) == ()
    assert hhmm(calendar.service_periods("w1", dt.date(2099, 4, 12))) == REGULAR_DAY
    assert calendar.service_periods("w1", dt.date(2026, 10, 7)) == ()  # the other file in the folder


def test_update_refuses_a_year_the_package_lacks_and_a_bad_csv_row(tmp_path: Path) -> None:
    missing = CliRunner().invoke(main, ["calendar", "update", "--year", "2200", "--out", str(tmp_path / "x.yaml")])
    assert missing.exit_code == 2
    assert "has no dates for 2200" in missing.output and "--from FILE.csv" in missing.output
    assert not (tmp_path / "x.yaml").exists()
    bad = tmp_path / "bad.csv"
    bad.write_text("date,kind,name\n2099-04-06,holiday,清明\n2099-04-12,off,清明\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["calendar", "update", "--year", "2099", "--from", str(bad),
                                       "--out", str(tmp_path / "y.yaml")])
    assert result.exit_code == 2 and f"{bad}:3: kind must be holiday or workday, got 'off'" in result.output
    wrong_year = tmp_path / "wrong.csv"
    wrong_year.write_text("date,kind,name\n2098-04-06,holiday,清明\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["calendar", "update", "--year", "2099", "--from", str(wrong_year),
                                       "--out", str(tmp_path / "z.yaml")])
    assert result.exit_code == 2 and "2098-04-06 is not in 2099" in result.output


def test_a_missing_or_duplicated_national_calendar_fails_the_config_at_its_line(tmp_path: Path) -> None:
    path = _hall(tmp_path, "  national: [calendars/cn-2026.yaml]\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    (issue,) = caught.value.issues
    line = path.read_text(encoding="utf-8").splitlines().index("  national: [calendars/cn-2026.yaml]") + 1
    assert issue.path == "calendar.national[0]" and "file not found" in issue.message and issue.line == line
    copy = tmp_path / "copy.yaml"
    copy.write_text(SHIPPED_2026.read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(_hall(tmp_path, f"  national: [{SHIPPED_2026}, copy.yaml]\n"))
    assert "2026 is already given by" in caught.value.issues[0].message


def test_the_hall_own_days_outrank_the_national_ones(tmp_path: Path) -> None:
    calendar = HallCalendar(load_config(_hall(tmp_path, f"""\
  national: [{SHIPPED_2026}]
  holidays: [2026-02-28]                     # a make-up Saturday the hall still closes
  exceptions:
    - {{date: 2026-10-05, hours: [{{start: "09:00", end: "11:00"}}]}}   # open on a national holiday
""")))
    assert calendar.service_periods("w1", dt.date(2026, 2, 28)) == ()
    assert hhmm(calendar.service_periods("w1", dt.date(2026, 10, 5))) == [("09:00", "11:00")]
    assert hhmm(calendar.service_periods("w1", dt.date(2026, 2, 14))) == REGULAR_DAY


def test_a_year_without_national_data_is_warned_about(tmp_path: Path, caplog) -> None:
    config = load_config(_hall(tmp_path, f"  national: [{SHIPPED_2026}]\n"))
    assert check_national_years(config, dt.date(2026, 6, 1)) == []
    (autumn,) = check_national_years(config, dt.date(2026, 11, 15))  # next year's notice is due
    assert autumn.level == "warning" and autumn.path == "calendar.national"
    assert "no national holiday calendar for 2027" in autumn.message
    assert "counterwatch calendar update --year 2027" in autumn.message
    (late,) = check_national_years(config, dt.date(2027, 3, 1))
    assert "for 2027" in late.message
    calendar = HallCalendar(config)
    with caplog.at_level(logging.WARNING, logger="counterwatch.rules.schedule"):
        assert hhmm(calendar.service_periods("w1", dt.date(2027, 3, 1))) == REGULAR_DAY  # the weekly pattern
        calendar.service_periods("w1", dt.date(2027, 3, 2))
    assert [r.getMessage().count("no national holiday calendar for 2027") for r in caplog.records] == [1]
