"""The report page and the staff view, over HTTP against the scripted hall (no browser)."""
from __future__ import annotations

from fastapi.testclient import TestClient

from tests.reports.conftest import PASSWORD, ReportWorld


def _visitor(world: ReportWorld, username: str, lang: str = "zh") -> TestClient:
    client = TestClient(world.client.app, follow_redirects=False)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    client.cookies.set("lang", lang)
    return client


def test_report_page_shows_charts_and_downloads(report_world: ReportWorld) -> None:
    with _visitor(report_world, "manager") as client:
        page = client.get("/reports?hall=hall-a&period=2026-11")
        assert page.status_code == 200
        assert "崇义县政务服务中心 2026年11月 窗口行为月报" in page.text and "张伟" in page.text
        assert page.text.count('<svg class="chart"') == 2 and "<script>" not in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        assert 'href="/api/v1/reports?hall=hall-a&amp;period=2026-11&amp;scope=hall&amp;format=pdf"' in page.text
        assert 'href="/reports"' in page.text  # the nav
        english = client.get("/reports?hall=hall-a&period=2026-11&lang=en")
        assert "Conduct reports" in english.text
        assert 'id="report-invalid"' in client.get("/reports?hall=hall-a&period=bad").text
    anonymous = TestClient(report_world.client.app, follow_redirects=False)
    assert anonymous.get("/reports").headers["location"].startswith("/login?next=")


def test_staff_view_lists_own_incidents_with_appeal_links(report_world: ReportWorld) -> None:
    with _visitor(report_world, "staff_s001") as client:
        page = client.get("/me")
        assert page.status_code == 200
        assert 'href="/incidents/n1"' in page.text and 'href="/incidents/n4"' in page.text
        assert "/incidents/n2" not in page.text  # s002's incident
        assert 'id="me-scores"' in page.text and "考核得分" in page.text  # this month's and this year's scores
        incident = client.get("/incidents/n1")
        assert incident.status_code == 200 and "appeal" in incident.text
    with _visitor(report_world, "manager") as client:
        assert 'id="me-no-link"' in client.get("/me").text
