"""Unknown time from the stored record of observed time, through the API (the scripted November of conftest.py, on
SQLite and PostgreSQL): on Thursday 5 November the pipeline bridge records cam1 (which views w01 and w02) observing
08:00-10:00, going offline, and observing again 10:45-18:01; an absence at w01 14:00-14:20 was observed. The report
shows the outage as unknown and the presence rate over observed time only; the days after, when nothing ran, are
unknown too, the days before the record began are not told apart, and a hall with no record keeps
coverage_known false."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from cameras.health import CameraHealth, CameraState
from counterwatch.runtime.messages import CameraStats
from monitor_api.ingest import DatabaseSink, PipelineBridge
from tests.api.storage.helpers import T0, event
from tests.reports.conftest import ReportWorld

URL = "/api/v1/reports"
LOCAL = timezone(timedelta(hours=8))  # Asia/Shanghai
DAY = datetime(2026, 11, 5, tzinfo=LOCAL)  # a Thursday: service 08:30-17:30, nothing else scripted that day
SERVICE = 540.0
OUTAGE = 45.0  # 10:00-10:45
ABSENCE = 20.0  # w01 14:00-14:20


def _at(hours: float) -> datetime:
    return (DAY + timedelta(hours=hours)).astimezone(UTC)


@pytest.fixture(scope="module")
def observed_day(report_world: ReportWorld) -> ReportWorld:
    services = report_world.services
    # Stats every two minutes here (the runner sends them every 2 s): the tolerance is widened to match.
    bridged = replace(services, settings=services.settings.model_copy(update={"window_status_stale_s": 600.0}))
    clock = [0.0]
    bridge = PipelineBridge(bridged, "hall-a", clock=lambda: clock[0])

    def frames(start_h: float, end_h: float) -> None:
        at = _at(start_h)
        while at <= _at(end_h):
            clock[0] = (at - _at(0)).total_seconds()
            bridge.handle(CameraStats("cam1", 240, at))
            at += timedelta(minutes=2)

    def state(value: CameraState, at: datetime, last_frame: datetime | None) -> None:
        clock[0] = (at - _at(0)).total_seconds()
        bridge.handle(CameraHealth("cam1", value, "test", 0, 0, 0, 0, last_frame, None))

    frames(8, 10)
    state(CameraState.OFFLINE, _at(10) + timedelta(seconds=30), _at(10))
    state(CameraState.ONLINE, _at(10.74), None)
    frames(10.75, 18.02)
    bridge.close()
    start = (_at(14) - T0).total_seconds()
    sink = DatabaseSink(services.database, evidence_store=services.evidence)
    for kind, ts in (("opened", start + 30), ("closed", start + ABSENCE * 60)):
        sink.deliver(event(kind, "obs-absence", ts=ts, start_ts=start, incident_type="absent_without_pause",
                           window="w01", staff="s001"))
    return report_world


def _get(world: ReportWorld, hall: str, period: str) -> dict:
    response = world.client.get(URL, params={"hall": hall, "period": period}, headers=world.headers("manager"))
    assert response.status_code == 200, response.text
    return response.json()


def test_outage_is_unknown_and_the_rate_is_over_observed_time(observed_day: ReportWorld) -> None:
    report = _get(observed_day, "hall-a", "2026-11-05")
    assert report["coverage_known"] is True and "上限估计" not in report["presence_note"]
    w01, w02 = report["windows"]
    assert (w01["window_id"], w01["service_minutes"]) == ("w01", SERVICE)
    assert w01["unknown_minutes"] == pytest.approx(OUTAGE, abs=0.1)
    assert w01["absent_minutes"] == pytest.approx(ABSENCE, abs=0.1) and w01["paused_minutes"] == 0.0
    assert w01["present_minutes"] == pytest.approx(SERVICE - OUTAGE - ABSENCE, abs=0.1)
    assert w01["presence_rate"] == pytest.approx((SERVICE - OUTAGE - ABSENCE) / (SERVICE - OUTAGE), abs=1e-4)
    assert w01["unknown_share"] == pytest.approx(OUTAGE / SERVICE, abs=1e-4)
    assert w02["unknown_minutes"] == pytest.approx(OUTAGE, abs=0.1) and w02["presence_rate"] == 1.0  # cam1 too
    assert report["presence_total"]["unknown_minutes"] == pytest.approx(2 * OUTAGE, abs=0.1)


def test_days_nothing_ran_are_unknown_and_days_before_the_record_are_not(observed_day: ReportWorld) -> None:
    calendar: Any = observed_day.services.calendars["hall-a"]
    w01 = _get(observed_day, "hall-a", "2026-11")["windows"][0]
    # After 5 November counterwatch did not run: all of that service time is unknown (the month has closed).
    later = sum((end - start).total_seconds() / 60 for day in range(6, 31)
                for start, end in calendar.service_periods("w01", DAY.date().replace(day=day)))
    assert later > 0 and w01["unknown_minutes"] == pytest.approx(OUTAGE + later, abs=0.2)
    # Before the record began (1-4 November) nothing is unknown: the scripted absence n3 of 3 November still counts.
    before = _get(observed_day, "hall-a", "2026-11-03")["windows"][0]
    assert before["unknown_minutes"] == 0.0 and before["absent_minutes"] > 0


def test_a_hall_without_a_record_keeps_coverage_unknown(observed_day: ReportWorld) -> None:
    report = _get(observed_day, "hall-b", "2026-11-05")
    assert report["coverage_known"] is False and "上限估计" in report["presence_note"]
    assert all(row["unknown_minutes"] == 0.0 for row in report["windows"])


def test_the_monthly_files_count_the_same_unknown_time(observed_day: ReportWorld, tmp_path) -> None:
    from openpyxl import load_workbook

    from monitor_api.reports.monthly import generate_closed_months

    services = observed_day.services
    december = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    written = generate_closed_months(services.database, tmp_path, december, services.calendars)
    xlsx = next(path for path in written if path.name == "hall-a.xlsx")
    expected = _get(observed_day, "hall-a", "2026-11")["windows"][0]["unknown_minutes"]
    cells = [cell for sheet in load_workbook(xlsx).worksheets for row in sheet.iter_rows(values_only=True)
             for cell in row]
    assert expected > OUTAGE and expected in cells
