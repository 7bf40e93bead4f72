"""The live wall's server-rendered parts over HTTP, against the real app on a real SQLite database (no browser):
alert cards name the staff member and the window, the timeline names people by display name, the top bar names the
signed-in person and role once. Incidents enter through the PipelineBridge, the path `counterwatch run` takes."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from counterwatch.incidents.events import EventKind, IncidentEvent
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config

PASSWORD = "live-wall-password-1"
STARTED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def hall(tmp_path: Path):
    live = LiveHall(write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30))
    live.add_user("sup", PASSWORD, "supervisor", "值班主管", halls=(HALL_ID,))
    live.add_user("plain", PASSWORD, "supervisor", "", halls=(HALL_ID,))
    live.add_user("hallrole", PASSWORD, "supervisor", "大厅管理人员", halls=(HALL_ID,))
    try:
        yield live
    finally:
        live.stop()


def _login(hall: LiveHall, username: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(hall.app, follow_redirects=False)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, {"X-CSRF-Token": response.json()["csrf_token"]}


def _open(hall: LiveHall, incident_id: str, window_id: str = "w01", staff_id: str = "s001") -> None:
    hall.bridge.handle(IncidentEvent(
        kind=EventKind.OPENED, incident_id=incident_id, incident_type="phone_use", hall_id=HALL_ID,
        window_id=window_id, camera_id="cam-demo", staff_id=staff_id, started_at=STARTED, ended_at=None,
        start_ts=10.0, ts=40.0, confidence=0.8, peak_confidence=0.9, reason="phone in hand for 30 s"))


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", fragment))


def _topbar(page: str) -> str:
    return _text(re.search(r'<span class="topbar__user">(.*?)</span>', page, re.S).group(1)).strip()


def test_alert_cards_name_the_staff_member_and_the_window(hall: LiveHall) -> None:
    _open(hall, "inc-w01")
    client, _ = _login(hall, "sup")
    listed = client.get("/api/v1/incidents", params={"hall": HALL_ID}).json()["items"]
    assert [(i["window_name"], i["staff_name"]) for i in listed] == [("1号窗口", "张伟")]

    feed = client.get(f"/dashboard/fragments/feed?hall={HALL_ID}").text
    card = _text(re.search(r'<li class="alert[^"]*" data-incident-id="inc-w01".*?</li>', feed, re.S).group(0))
    assert "工作人员：张伟" in card, card
    assert "1号窗口" in card and "w01" not in card, card
    assert "phone in hand for 30 s" in card  # the reason, shortened on screen by the style sheet
    english = client.get(f"/dashboard/fragments/feed?hall={HALL_ID}&lang=en").text
    assert "Staff: 张伟" in _text(english)


def test_the_timeline_names_people_by_display_name_or_else_login_name(hall: LiveHall) -> None:
    _open(hall, "inc-a")
    _open(hall, "inc-b", window_id="w02", staff_id="s002")
    sup, sup_csrf = _login(hall, "sup")
    plain, plain_csrf = _login(hall, "plain")
    assert sup.post("/api/v1/incidents/inc-a/acknowledge", headers=sup_csrf).status_code == 200
    review = {"decision": "confirm", "reason_code": "confirmed_as_detected", "note": ""}
    assert sup.post("/api/v1/incidents/inc-a/review", json=review, headers=sup_csrf).status_code == 200
    dismissal = {"decision": "dismiss", "reason_code": "dismissed_false_detection", "note": ""}
    assert plain.post("/api/v1/incidents/inc-b/review", json=dismissal, headers=plain_csrf).status_code == 200

    detail = sup.get("/api/v1/incidents/inc-a").json()
    assert detail["review"]["reviewer"] == "sup" and detail["review"]["reviewer_name"] == "值班主管"
    assert detail["acknowledged_by_name"] == "值班主管"

    timeline = _text(re.search(r'<ol class="timeline".*?</ol>', sup.get("/incidents/inc-a").text, re.S).group(0))
    assert "值班主管 已知悉" in timeline and "值班主管 确认违规" in timeline, timeline
    assert "sup " not in timeline, timeline
    timeline = _text(re.search(r'<ol class="timeline".*?</ol>', sup.get("/incidents/inc-b").text, re.S).group(0))
    assert "plain 排除" in timeline, timeline  # no display name: the login name


def test_the_top_bar_names_the_person_and_the_role_once(hall: LiveHall) -> None:
    named, _ = _login(hall, "sup")
    assert _topbar(named.get("/dashboard").text) == "当前用户：值班主管（大厅管理人员）"
    same_as_role, _ = _login(hall, "hallrole")
    assert _topbar(same_as_role.get("/dashboard").text) == "当前用户：大厅管理人员"
    english = _topbar(same_as_role.get("/dashboard?lang=en").text)
    assert english.startswith("Signed in as 大厅管理人员 (") and english.count("大厅管理人员") == 1, english
