"""Reports on the scripted November (tests/reports/conftest.py): numbers, CSV, XLSX, PDF, access and audit, and the
monthly generation with a fake clock."""
from __future__ import annotations

import csv
import io
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from monitor_api.reports import build_report, parse_period
from monitor_api.reports.monthly import generate_closed_months
from monitor_api.storage.models import AuditLogRow
from tests.reports.conftest import HALL_NAME, ReportWorld

URL = "/api/v1/reports"


def _get(world: ReportWorld, user: str, **params: str):
    return world.client.get(URL, params={"hall": "hall-a", "period": "2026-11", **params}, headers=world.headers(user))


def test_periods_are_local_days_weeks_months_years() -> None:
    assert parse_period("2026-W45").first.isoformat() == "2026-11-02"
    assert parse_period("2026-11").end.isoformat() == "2026-12-01"
    assert parse_period("2026-12-31").end.isoformat() == "2027-01-01"
    assert parse_period("2026").end.isoformat() == "2027-01-01"
    for bad in ("2026-13", "2026-W60", "26-11", "2026-11-31"):
        with pytest.raises(ValueError):
            parse_period(bad)
    start, end = parse_period("2026-11").utc_bounds("Asia/Shanghai")
    assert start == datetime(2026, 10, 31, 16, tzinfo=UTC) and end == datetime(2026, 11, 30, 16,
                                                                                      tzinfo=UTC)


def test_month_report_numbers(report_world: ReportWorld) -> None:
    document = _get(report_world, "manager").json()
    assert document["title"] == f"{HALL_NAME} 2026年11月 窗口行为月报"
    assert document["incidents"] == 5  # Oct 31 23:30 local is out, Nov 1 00:30 local is in
    by_type = {row["type"]: row for row in document["by_type"]}
    assert by_type["phone_use"] | {} == {"type": "phone_use", "pending": 1, "acknowledged": 0, "confirmed": 1,
                                         "dismissed": 1, "total": 3}
    assert by_type["sleeping"]["confirmed"] == 1 and by_type["absent_without_pause"]["pending"] == 1
    trend = {row["date"]: row["count"] for row in document["trend"]}
    assert len(trend) == 30 and trend["2026-11-01"] == 1 and trend["2026-11-02"] == 2 and sum(trend.values()) == 5
    heat = document["heatmap"]
    assert heat[0][9] == 1 and heat[0][10] == 1 and heat[1][14] == 1 and heat[1][11] == 1 and heat[6][0] == 1
    people = {row["name"]: row for row in document["people"]}
    assert people["张伟"]["confirmed"] == 2 and people["张伟"]["total"] == 3 and people["李娜"]["dismissed"] == 1
    w01 = next(row for row in document["windows"] if row["window_id"] == "w01")
    assert w01["paused_minutes"] == 30.0 and 0 < w01["absent_minutes"] < 5
    assert w01["present_minutes"] == pytest.approx(w01["service_minutes"] - 30.0 - w01["absent_minutes"], abs=0.2)
    assert document["pauses"] == [{"source": "sign", "count": 1, "minutes": 30.0}]
    assert document["pending_reviews"] == 2
    assert [row["incident_id"] for row in document["pending_appeals"]] == ["n4"]


def test_scopes_narrow_the_record(report_world: ReportWorld) -> None:
    staff = _get(report_world, "manager", scope="staff", key="s001").json()
    assert staff["incidents"] == 3 and staff["subject"] == "张伟" and "张伟" in staff["title"]
    window = _get(report_world, "manager", scope="window", key="w02").json()
    assert window["incidents"] == 2 and [w["window_id"] for w in window["windows"]] == ["w02"]
    department = _get(report_world, "manager", scope="department", key="社保医保").json()
    assert department["incidents"] == 2
    day = _get(report_world, "manager", period="2026-11-02").json()
    assert day["incidents"] == 2 and day["title"].endswith("窗口行为日报")
    week = _get(report_world, "manager", period="2026-W45").json()
    assert week["incidents"] == 3  # Nov 2-8
    assert _get(report_world, "manager", scope="staff", key="nobody").status_code == 404
    assert _get(report_world, "manager", period="2026-99").status_code == 422


def test_csv_rows(report_world: ReportWorld) -> None:
    response = _get(report_world, "manager", format="csv")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    start = rows.index(["# 人员"])
    assert rows[start + 1][:3] == ["工号", "姓名", "科室"]
    assert rows[start + 2] == ["s001", "张伟", "不动产登记", "1", "0", "2", "0", "3"]
    assert ["玩手机", "1", "0", "1", "1", "3"] in rows


def test_xlsx_sheets_and_rows(report_world: ReportWorld) -> None:
    response = _get(report_world, "supervisor_a", format="xlsx")
    assert response.status_code == 200
    workbook = load_workbook(io.BytesIO(response.content), read_only=True)
    assert workbook.sheetnames == ["概要", "告警类型", "每日趋势", "时段分布", "人员", "窗口在岗", "暂停使用",
                                   "待处理申诉", "告警明细", "考核得分"]
    people = list(workbook["人员"].iter_rows(values_only=True))
    assert people[0][:2] == ("工号", "姓名")
    assert people[1:] == [("s001", "张伟", "不动产登记", 1, 0, 2, 0, 3), ("s002", "李娜", "社保医保", 1, 0, 0, 1, 2)]
    assert len(list(workbook["每日趋势"].iter_rows(values_only=True))) == 31
    summary = dict(workbook["概要"].iter_rows(values_only=True))
    assert summary["标题"] == f"{HALL_NAME} 2026年11月 窗口行为月报"


def test_xlsx_presence_rate_is_a_percent_number(report_world: ReportWorld) -> None:
    response = _get(report_world, "manager", format="xlsx")
    sheet = load_workbook(io.BytesIO(response.content))["窗口在岗"]
    column = [cell.value for cell in sheet[1]].index("在岗率") + 1
    document = _get(report_world, "manager").json()
    rates = {row["window_id"]: row["presence_rate"] for row in document["windows"]}
    for row in range(2, sheet.max_row + 1):
        cell = sheet.cell(row, column)
        assert cell.data_type == "n" and "%" in cell.number_format, (cell.value, cell.number_format)
        assert cell.value == pytest.approx(rates[sheet.cell(row, 1).value])


def test_pdf_renders_with_chinese_text(report_world: ReportWorld, tmp_path: Path) -> None:
    response = _get(report_world, "manager", format="pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(response.content))
    text = "".join(page.extract_text() for page in reader.pages)
    assert "张伟" in text and "崇义县政务服务中心" in text and "窗口行为月报" in text
    (tmp_path / "r.pdf").write_bytes(response.content)
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(tmp_path / "r.pdf"), str(tmp_path / "page")], check=True,
                   timeout=60)
    pages = sorted(tmp_path.glob("page*.png"))
    assert len(pages) == len(reader.pages) >= 2
    from PIL import Image

    with Image.open(pages[0]) as image:
        low, high = image.convert("L").getextrema()
    assert low < 128 < high  # ink on paper, not a blank page


def test_access_and_audit(report_world: ReportWorld) -> None:
    assert _get(report_world, "supervisor_b").status_code == 403
    assert _get(report_world, "supervisor_b", format="pdf").status_code == 403
    assert _get(report_world, "staff_s001").status_code == 403
    assert report_world.client.get(URL, params={"hall": "hall-a", "period": "2026-11"}).status_code == 401
    assert _get(report_world, "supervisor_a", format="csv", scope="staff", key="s002").status_code == 200
    with report_world.services.database.read() as session:
        entries = session.scalars(select(AuditLogRow).where(AuditLogRow.action == "export.report")).all()
        assert any(entry.actor_id == str(report_world.ids["supervisor_a"]) and entry.details["format"] == "csv"
                   and entry.details["key"] == "s002" and entry.hall_id == "hall-a" for entry in entries)
    _get(report_world, "manager")  # a JSON view is not an export
    with report_world.services.database.read() as session:
        assert len(session.scalars(select(AuditLogRow).where(AuditLogRow.action == "export.report")).all()) == \
            len(entries)


def test_monthly_generation_writes_once(report_world: ReportWorld, tmp_path: Path) -> None:
    services = report_world.services
    # Nov 30 23:00 in Shanghai: November has not closed yet; October's files are due.
    written = generate_closed_months(services.database, tmp_path, datetime(2026, 11, 30, 15, tzinfo=UTC),
                                     services.calendars)  # type: ignore[arg-type]
    assert sorted(p.relative_to(tmp_path).as_posix() for p in written) == [
        "reports/2026-10/hall-a.pdf", "reports/2026-10/hall-a.xlsx", "reports/2026-10/hall-b.pdf",
        "reports/2026-10/hall-b.xlsx"]
    # 00:30 on Dec 1 in Shanghai (still Nov 30 in UTC): November is closed.
    clock = datetime(2026, 11, 30, 16, 30, tzinfo=UTC)
    written = generate_closed_months(services.database, tmp_path, clock, services.calendars)  # type: ignore[arg-type]
    assert {p.name for p in written} == {"hall-a.pdf", "hall-a.xlsx", "hall-b.pdf", "hall-b.xlsx"}
    workbook = load_workbook(tmp_path / "reports/2026-11/hall-a.xlsx", read_only=True)
    assert dict(workbook["概要"].iter_rows(values_only=True))["告警总数"] == 5
    assert list(workbook["考核得分"].iter_rows(values_only=True))[1][:2] == ("s001", "张伟")  # month's scores
    before = (tmp_path / "reports/2026-11/hall-a.pdf").stat().st_mtime_ns
    assert generate_closed_months(services.database, tmp_path, clock, services.calendars) == []  # type: ignore[arg-type]
    assert (tmp_path / "reports/2026-11/hall-a.pdf").stat().st_mtime_ns == before
    assert not list(tmp_path.rglob("*.part"))


def test_build_report_without_calendar_leaves_presence_out(report_world: ReportWorld) -> None:
    with report_world.services.database.read() as session:
        report = build_report(session, "hall-a", parse_period("2026-11"))
    assert report.incidents == 5 and "presence_rate" not in report.windows[0]


def test_presence_counts_only_elapsed_service_time(report_world: ReportWorld) -> None:
    calendar = report_world.services.calendars["hall-a"]
    period = parse_period("2026-11")
    mid_month = datetime(2026, 11, 14, 16, tzinfo=UTC)  # Nov 15 00:00 in the hall (Asia/Shanghai)
    with report_world.services.database.read() as session:
        partial = build_report(session, "hall-a", period, calendar=calendar, now=mid_month)
        closed = build_report(session, "hall-a", period, calendar=calendar,
                              now=datetime(2026, 12, 5, tzinfo=UTC))
    for partial_row, closed_row in zip(partial.windows, closed.windows, strict=True):
        elapsed = sum((end - start).total_seconds() / 60 for day in period.days() if day.day < 15
                      for start, end in calendar.service_periods(partial_row["window_id"], day))
        assert 0 < partial_row["service_minutes"] == pytest.approx(elapsed, abs=0.1)
        assert partial_row["service_minutes"] < closed_row["service_minutes"]  # the rest of November is ahead
        assert partial_row["present_minutes"] == pytest.approx(
            elapsed - partial_row["paused_minutes"] - partial_row["absent_minutes"], abs=0.2)
