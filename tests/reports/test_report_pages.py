"""The report page and the staff view, over HTTP against the scripted hall (no browser)."""
from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

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


def _declarations(css: str, class_name: str) -> dict[str, str]:
    """The properties set by the stylesheet's rules whose selector is exactly `.class_name`, later rules winning
    (all single-class selectors: same specificity), with var(--x) resolved from :root."""
    root = dict(re.findall(r"(--[\w-]+):\s*([^;]+);", re.search(r":root\s*{([^}]*)}", css)[1]))
    found: dict[str, str] = {}
    for selectors, body in re.findall(r"([^{}]+){([^}]*)}", css):
        if f".{class_name}" in [part.strip() for part in selectors.split(",")]:
            for prop, value in re.findall(r"([\w-]+)\s*:\s*([^;]+)", body):
                found[prop] = re.sub(r"var\((--[\w-]+)\)", lambda m: root[m[1]].strip(), value.strip())
    return found


def _luminance(colour: str) -> float:
    hex_digits = colour.lstrip("#")
    if len(hex_digits) == 3:
        hex_digits = "".join(digit * 2 for digit in hex_digits)
    channels = [int(hex_digits[i:i + 2], 16) / 255 for i in (0, 2, 4)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(first: str, second: str) -> float:
    high, low = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_download_buttons_are_visible_on_the_card(report_world: ReportWorld) -> None:
    with _visitor(report_world, "manager") as client:
        page = client.get("/reports?hall=hall-a&period=2026-11").text
        css = client.get("/dashboard/static/dashboard.css").text
    card = _declarations(css, "card")["background"]
    links = re.findall(r'<a class="([^"]+)" id="download-(csv|xlsx|pdf)"', page)
    assert sorted(fmt for _, fmt in links) == ["csv", "pdf", "xlsx"]
    for classes, _ in links:
        style: dict[str, str] = {}
        for name in classes.split():
            style.update(_declarations(css, name))
        background = card if style.get("background") in (None, "transparent") else style["background"]
        assert _contrast(style["color"], background) >= 4.5, (classes, style)  # readable label (WCAG AA)
        border = style["border-color"] if "border-color" in style else style["border"].split()[-1]
        assert background != card or _contrast(border, card) >= 3, (classes, style)  # the button's edge shows


def test_report_page_opens_on_the_current_month_of_the_hall(report_world: ReportWorld) -> None:
    with _visitor(report_world, "manager") as client:
        page = client.get("/reports?hall=hall-a")
    assert page.status_code == 200
    month = f"{datetime.now(ZoneInfo('Asia/Shanghai')):%Y-%m}"  # the scripted hall's time zone
    assert f'id="report-period" name="period" value="{month}"' in page.text
    assert f'period={month}&amp;scope=hall&amp;format=csv' in page.text  # the downloads follow the shown month


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


def test_report_page_lists_incidents_scores_and_unknown_time(report_world: ReportWorld) -> None:
    with _visitor(report_world, "manager") as client:
        page = client.get("/reports?hall=hall-a&period=2026-11").text
    incidents = page[page.index('id="report-incidents"'):page.index("</table>", page.index('id="report-incidents"'))]
    assert incidents.count("<tr>") == 6 and "1号窗口" in incidents and "睡岗" in incidents
    assert 'href="/incidents/n4"' in incidents and "申诉待裁定" in incidents
    scores = page[page.index('id="report-scores"'):page.index("</table>", page.index('id="report-scores"'))]
    assert "张伟" in scores and ">95.0<" in scores
    windows = page[page.index('id="report-windows"'):page.index("</table>", page.index('id="report-windows"'))]
    assert "未知/离线(分钟)" in windows and 'id="report-presence-total"' in windows
    with _visitor(report_world, "supervisor_a", "en") as client:
        page = client.get("/reports?hall=hall-a&period=2026-11").text
    assert 'id="report-scores"' not in page and "visible to managers only" in page
    assert "Unknown / offline (min)" in page and "Sleeping at the post" in page
