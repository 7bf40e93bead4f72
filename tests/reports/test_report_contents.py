"""What a manager reads and signs (the scripted November of conftest.py): offline time counted as unknown, the
incident list and the appraisal scores, the same numbers in JSON, page, CSV, XLSX and PDF, and a PDF laid out to be
signed (unbroken names and numbers, no page of empty days, header, page numbers, signature line)."""
from __future__ import annotations

import csv
import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from reportlab.pdfbase.pdfmetrics import stringWidth
from sqlalchemy import select

from monitor_api.live.state import LiveState
from monitor_api.reports import build_report, parse_period
from monitor_api.reports.pdf import _register_font
from monitor_api.reports.pdf_layout import PAD, fit_table
from monitor_api.reports.presence import LiveCoverage, ScriptedCoverage
from monitor_api.storage.models import AuditLogRow
from tests.reports.conftest import HALL_NAME, ReportWorld

URL = "/api/v1/reports"
# Camera offline at w01 (service hours are 08:30-17:30 in Asia/Shanghai, UTC+8):
GAPS = {"w01": [
    (datetime(2026, 11, 2, 1, 0, tzinfo=UTC), datetime(2026, 11, 2, 4, 0, tzinfo=UTC)),  # Mon 09:00-12:00: 180 min,
    # 30 of them inside the 11:00-11:30 pause (paused, not unknown)
    (datetime(2026, 11, 3, 5, 50, tzinfo=UTC), datetime(2026, 11, 3, 6, 30, tzinfo=UTC)),  # Tue 13:50-14:30: 40 min,
    # covering the whole absence incident n3 (14:00): nobody saw it, so it is unknown, not absence
    (datetime(2026, 11, 4, 9, 0, tzinfo=UTC), datetime(2026, 11, 4, 11, 0, tzinfo=UTC)),  # Wed 17:00-19:00: 30 min
    # of service left
]}
UNKNOWN_W01 = 150.0 + 40.0 + 30.0


def _get(world: ReportWorld, user: str, **params: str):
    return world.client.get(URL, params={"hall": "hall-a", "period": "2026-11", **params}, headers=world.headers(user))


@pytest.fixture
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """The report route sees the scripted outages (as it would see the live registry's in `counterwatch run`)."""
    monkeypatch.setattr("monitor_api.routes.reports.report_coverage",
                        lambda services, session, hall, now: ScriptedCoverage(GAPS))


def test_offline_time_is_unknown_not_present(report_world: ReportWorld) -> None:
    calendar = report_world.services.calendars["hall-a"]
    period, now = parse_period("2026-11"), datetime(2026, 12, 5, tzinfo=UTC)
    with report_world.services.database.read() as session:
        blind = build_report(session, "hall-a", period, calendar=calendar, now=now)
        seen = build_report(session, "hall-a", period, calendar=calendar, now=now, coverage=ScriptedCoverage(GAPS))
    before, after = blind.windows[0], seen.windows[0]
    assert after["window_id"] == "w01" and after["service_minutes"] == before["service_minutes"]
    assert before["unknown_minutes"] == 0.0 and before["absent_minutes"] > 0  # n3 counted as absence
    assert after["unknown_minutes"] == pytest.approx(UNKNOWN_W01, abs=0.1)
    assert after["paused_minutes"] == 30.0 and after["absent_minutes"] == 0.0  # the absence was never observed
    assert after["present_minutes"] == pytest.approx(after["service_minutes"] - 30.0 - UNKNOWN_W01, abs=0.2)
    observed = after["service_minutes"] - after["unknown_minutes"]
    assert after["presence_rate"] == pytest.approx(after["present_minutes"] / observed, abs=1e-4)
    assert after["unknown_share"] == pytest.approx(UNKNOWN_W01 / after["service_minutes"], abs=1e-4)
    assert seen.windows[1]["unknown_minutes"] == 0.0  # w02's camera was fine
    assert seen.presence_total["unknown_minutes"] == pytest.approx(UNKNOWN_W01, abs=0.1)
    assert seen.coverage_known and not blind.coverage_known and "上限估计" in blind.presence_note


def test_live_registry_outage_is_unknown() -> None:
    live = LiveState()
    status = type("Status", (), {"window_id": "w01", "camera_id": "cam1", "present": True, "paused": False,
                                 "pause_source": None, "ts": 0.0, "wall_time": datetime.now(UTC)})()
    last = live.update_window("hall-a", status).updated_at
    started, since = last - timedelta(hours=2), last - timedelta(days=1)
    fresh = LiveCoverage(live, "hall-a", 60.0, last + timedelta(seconds=30), started_at=started)
    assert fresh.unobserved("w01", since, last + timedelta(seconds=30)) == []
    now = last + timedelta(minutes=10)  # no status for ten minutes: the camera stopped delivering
    stale = LiveCoverage(live, "hall-a", 60.0, now, started_at=started)
    assert stale.unobserved("w01", since, now) == [(last, now)]
    assert stale.unobserved("w02", since, now) == [(started, now)]  # never reported since the process started


def test_route_uses_the_live_registry_only_where_cameras_run(report_world: ReportWorld) -> None:
    """Without a stored record of observed time (this module's halls have none), the live registry where cameras run
    here; tests/reports/test_observed_time.py covers the stored record."""
    from dataclasses import replace

    from monitor_api.routes.reports import report_coverage

    services, now = report_world.services, datetime.now(UTC)
    running = replace(services, settings=services.settings.model_copy(update={"expect_cameras": True}))
    with services.database.read() as session:
        assert report_coverage(services, session, "hall-a", now) is None  # an API without the pipeline
        assert isinstance(report_coverage(running, session, "hall-a", now), LiveCoverage)
        assert report_coverage(running, session, "hall-x", now) is None


def test_same_unknown_and_rate_in_json_page_csv_xlsx_pdf(report_world: ReportWorld, offline: None) -> None:
    w01 = next(row for row in _get(report_world, "manager").json()["windows"] if row["window_id"] == "w01")
    assert w01["unknown_minutes"] == pytest.approx(UNKNOWN_W01, abs=0.1)
    unknown, rate = f"{w01['unknown_minutes']:.1f}", f"{w01['presence_rate'] * 100:.1f}%"

    rows = list(csv.reader(io.StringIO(_get(report_world, "manager", format="csv").content.decode("utf-8-sig"))))
    headers = rows[rows.index(["# 窗口在岗"]) + 1]
    row = next(r for r in rows if r[:2] == ["w01", "1号窗口"])
    assert row[headers.index("未知/离线(分钟)")] == unknown and row[headers.index("在岗率")] == rate

    sheet = load_workbook(io.BytesIO(_get(report_world, "manager", format="xlsx").content))["窗口在岗"]
    names = [cell.value for cell in sheet[1]]
    cells = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "w01")
    assert cells[names.index("未知/离线(分钟)")].value == pytest.approx(w01["unknown_minutes"])
    assert cells[names.index("在岗率")].value == pytest.approx(w01["presence_rate"])

    reader = PdfReader(io.BytesIO(_get(report_world, "manager", format="pdf").content))
    layout = "\n".join(page.extract_text(extraction_mode="layout") for page in reader.pages)
    line = next(text for text in layout.splitlines() if text.strip().startswith("1号窗口"))
    assert unknown in line and line.rstrip().endswith(rate), line

    from tests.reports.test_report_pages import _visitor

    with _visitor(report_world, "manager") as client:
        page = client.get("/reports?hall=hall-a&period=2026-11").text
    table = page[page.index('id="report-windows"'):]
    row_html = table[table.index("1号窗口"):table.index("</tr>", table.index("1号窗口"))]
    assert f">{unknown}<" in row_html and f">{rate}<" in row_html


def test_incident_list_and_scores_in_the_report(report_world: ReportWorld) -> None:
    document = _get(report_world, "manager").json()
    listed = {row["incident_id"]: row for row in document["incident_list"]}
    assert list(listed) == ["n-edge-in", "n1", "n2", "n3", "n4"]  # the period's incidents, oldest first
    assert listed["n4"]["started_at"] == "2026-11-10 11:00"
    assert (listed["n4"]["window_name"], listed["n4"]["staff_name"], listed["n4"]["type"]) == ("1号窗口", "张伟",
                                                                                                 "sleeping")
    assert listed["n4"]["review_state"] == "confirmed" and listed["n4"]["appeal"] == "pending"
    assert listed["n2"]["review_reason"] == "dismissed_false_detection"
    appraisal = report_world.client.get("/api/v1/appraisal/scores", params={"period": "2026-11", "hall": "hall-a"},
                                        headers=report_world.headers("manager")).json()
    expected = {entry["staff_id"]: entry["score"] for entry in appraisal["halls"][0]["staff"]}
    assert {row["staff_id"]: row["score"] for row in document["scores"]} == expected
    assert document["scores_state"] == "included" and expected["s001"] < expected["s002"]
    with report_world.services.database.read() as session:
        assert any(entry.details.get("via") == "report" for entry in session.scalars(
            select(AuditLogRow).where(AuditLogRow.action == "export.appraisal")))  # reading scores is audited
    supervisor = _get(report_world, "supervisor_a").json()  # /appraisal is for managers only
    assert supervisor["scores_state"] == "not_permitted" and supervisor["scores"] == []
    assert len(supervisor["incident_list"]) == 5
    assert _get(report_world, "manager", period="2026-W45").json()["scores_state"] == "not_monthly"
    staff = _get(report_world, "manager", scope="staff", key="s002").json()
    assert [row["staff_id"] for row in staff["scores"]] == ["s002"]


def test_incidents_and_scores_in_csv_and_xlsx(report_world: ReportWorld) -> None:
    rows = list(csv.reader(io.StringIO(_get(report_world, "manager", format="csv").content.decode("utf-8-sig"))))
    start = rows.index(["# 告警明细"])
    assert rows[start + 1] == ["告警编号", "时间", "窗口", "人员", "告警类型", "时长(分钟)", "处理状态", "处理结果"]
    n4 = next(row for row in rows[start:] if row and row[0] == "n4")
    assert n4[1:5] == ["2026-11-10 11:00", "1号窗口", "张伟", "睡岗"] and n4[6] == "已确认违规"
    assert "申诉待裁定" in n4[7]
    scores = rows.index(["# 考核得分"])
    assert rows[scores + 2][:3] == ["s001", "张伟", "不动产登记"] and rows[scores + 2][5] == "95.0"
    workbook = load_workbook(io.BytesIO(_get(report_world, "manager", format="xlsx").content), read_only=True)
    sheet = list(workbook["告警明细"].iter_rows(values_only=True))
    assert len(sheet) == 6 and ("n1", "2026-11-02 09:30", "1号窗口", "张伟", "玩手机") == sheet[2][:5]
    assert list(workbook["考核得分"].iter_rows(values_only=True))[1][:6] == ("s001", "张伟", "不动产登记", 100, 5, 95)
    supervisor = load_workbook(io.BytesIO(_get(report_world, "supervisor_a", format="xlsx").content), read_only=True)
    assert list(supervisor["考核得分"].iter_rows(values_only=True))[1][0] == "考核得分仅政务服务管理办公室可查看。"


def test_pdf_is_a_report_to_sign(report_world: ReportWorld) -> None:
    document = _get(report_world, "manager").json()
    rate = f"{document['windows'][0]['presence_rate'] * 100:.1f}%"
    reader = PdfReader(io.BytesIO(_get(report_world, "manager", format="pdf").content))
    pages = [page.extract_text() for page in reader.pages]
    assert len(pages) <= 3  # five incidents in November: no page of empty days
    lines = [line.strip() for text in pages for line in text.splitlines()]
    assert "1号窗口" in lines and rate in lines  # each on one line: no wrapped window name or percentage
    for number, text in enumerate(pages, start=1):
        assert f"第 {number} 页 / 共 {len(pages)} 页" in text
        assert HALL_NAME in text and "2026年11月" in text and "生成时间" in text
    text = "\n".join(pages)
    assert text.index("概要") < text.index("窗口在岗") < text.index("告警明细") < text.index("考核得分")
    assert "2026-11-04" not in text and "其余 26 天无告警。" in text  # days without incidents are counted, not listed
    assert "申诉待裁定" in text and "95.0" in text and "通报" in text
    assert "审核人签字" in pages[-1] and "日期" in pages[-1]
    assert "在岗说明" in text and "未知" in text


def test_year_pdf_lists_months_not_days(report_world: ReportWorld) -> None:
    reader = PdfReader(io.BytesIO(_get(report_world, "manager", period="2026", format="pdf").content))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) <= 3 and "每月告警" in text and "其余 10 个月无告警。" in text
    lines = [line.strip() for line in text.splitlines()]
    assert "2026-10" in lines and "2026-11" in lines and "2026-11-02" not in lines  # no list of 365 days


def test_pdf_columns_fit_names_and_numbers() -> None:
    font = _register_font()
    name = "不动产登记综合受理第12号窗口"
    headers = ["窗口", "告警数", "服务时长(分钟)", "在岗(分钟)", "在岗率", "处理结果"]
    rows = [[name, 12, 11340.0, 11308.8, "99.7%", "属实：与系统识别一致；申诉驳回，维持确认；" * 4]]
    table = fit_table(headers, rows, font, 180 * 72 / 25.4, wrap=(5,))
    size = table._cellStyles[1][0].fontsize
    for column, cell in enumerate(rows[0][:5]):
        assert table._colWidths[column] >= stringWidth(str(cell), font, size) + 2 * PAD - 0.01, (column, cell)
    assert table._cellvalues[1][0] == name  # a plain string, never a wrapping paragraph
    assert re.match(r"Paragraph", type(table._cellvalues[1][5]).__name__)
