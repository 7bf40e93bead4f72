"""The dashboard's pages over HTTP, against the real app on a real SQLite database (no browser): login redirects,
escaping, security headers, the language switch, and which review and appeal forms each role is offered.
Incidents enter through the API's PipelineBridge, the path `counterwatch run` delivers them on."""
from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from counterwatch.incidents.events import EventKind, IncidentEvent
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config

PASSWORD = "page-test-password-1"
HOSTILE_NAME = '<script>alert("x")</script>窗口'


@pytest.fixture
def hall(tmp_path: Path):
    config_path = write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30)
    text = config_path.read_text(encoding="utf-8").replace("name: 2号窗口", f"name: '{HOSTILE_NAME}'")
    config_path.write_text(text, encoding="utf-8")
    live = LiveHall(config_path)
    live.add_user("sup", PASSWORD, "supervisor", "值班主管", halls=(HALL_ID,))
    live.add_user("mgr1", PASSWORD, "manager", "管理办一")
    live.add_user("mgr2", PASSWORD, "manager", "管理办二")
    live.add_user("aud", PASSWORD, "auditor", "审计")
    try:
        yield live
    finally:
        live.stop()


def _event(kind: EventKind, incident_id: str, window_id: str = "w01", ts: float = 40.0) -> IncidentEvent:
    started = datetime(2025, 3, 3, 1, 30, tzinfo=UTC)
    return IncidentEvent(kind=kind, incident_id=incident_id, incident_type="phone_use", hall_id=HALL_ID,
                         window_id=window_id, camera_id="cam-demo", staff_id="s001", started_at=started,
                         ended_at=started + timedelta(seconds=45) if kind is EventKind.CLOSED else None,
                         start_ts=10.0, ts=ts, confidence=0.8, peak_confidence=0.9,
                         reason="phone in hand for 30 s", attributes=(("citizens_waiting", 2),))


class Visitor:
    """A TestClient with its own cookies, logged in as `username` (or anonymous)."""

    def __init__(self, app, username: str | None = None) -> None:
        self.client = TestClient(app, follow_redirects=False)
        self.csrf = ""
        if username:
            response = self.client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert response.status_code == 200, response.text
            self.csrf = response.json()["csrf_token"]

    def get(self, path: str):
        return self.client.get(path)

    def post(self, path: str, body: dict):
        return self.client.post(path, json=body, headers={"X-CSRF-Token": self.csrf})


def test_pages_need_a_login_and_the_login_returns_only_to_this_site(hall: LiveHall) -> None:
    anonymous = Visitor(hall.app)
    for path in ("/dashboard", "/cameras", "/incidents/abc", "/dashboard?hall=demo-hall"):
        response = anonymous.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), path
    assert anonymous.get("/").headers["location"] == "/login"
    assert anonymous.get("/dashboard/fragments/wall").status_code == 401
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "/%09/evil.example",
                   "/api/v1/auth/logout"):
        page = anonymous.get("/login?next=" + target).text
        assert 'data-next="/dashboard"' in page, target
    assert 'data-next="/incidents/abc"' in anonymous.get("/login?next=/incidents/abc").text


def test_pages_escape_what_they_show_and_send_security_headers(hall: LiveHall) -> None:
    supervisor = Visitor(hall.app, "sup")
    response = supervisor.get("/dashboard")
    assert response.status_code == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert HOSTILE_NAME not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;窗口" in response.text
    assert "<script>" not in re.sub(r"<script (type=\"application/json\" id=\"cw-messages\"|src=)", "", response.text)
    # No secret in a page: the CSRF token lives in the tab's sessionStorage, never in the HTML.
    assert supervisor.csrf not in response.text
    assert supervisor.get("/dashboard/static/../pages.py").status_code == 404
    script = supervisor.get("/dashboard/static/live.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_the_language_is_zh_cn_until_switched_and_the_switch_is_remembered(hall: LiveHall) -> None:
    supervisor = Visitor(hall.app, "sup")
    assert '<html lang="zh-CN">' in supervisor.get("/dashboard").text
    english = supervisor.get("/dashboard?lang=en")
    assert '<html lang="en">' in english.text and "Live wall" in english.text
    assert english.cookies.get("lang") == "en"
    assert "Camera health" in supervisor.get("/cameras").text
    assert "实时看板" in supervisor.get("/dashboard?lang=zh").text


def test_each_role_is_offered_the_actions_it_may_take(hall: LiveHall) -> None:
    hall.bridge.handle(_event(EventKind.OPENED, "inc-a"))
    hall.bridge.handle(_event(EventKind.CLOSED, "inc-a", ts=55.0))
    supervisor, manager, second_manager, auditor = (Visitor(hall.app, name) for name in ("sup", "mgr1", "mgr2",
                                                                                          "aud"))

    feed = supervisor.get("/dashboard/fragments/feed?hall=demo-hall").text
    assert 'data-incident-id="inc-a"' in feed and "玩手机" in feed and "待处理" in feed

    page = supervisor.get("/incidents/inc-a").text
    assert 'id="acknowledge"' in page and 'id="review-form"' in page and 'id="appeal-form"' not in page
    assert "等候群众人数" in page and "phone in hand for 30 s" in page
    auditor_page = auditor.get("/incidents/inc-a").text
    assert "您的角色只能查看。" in auditor_page and "<form" not in auditor_page
    assert 'id="wall"' not in auditor.get("/dashboard").text  # auditors read incidents, not the live wall

    assert supervisor.post("/api/v1/incidents/inc-a/acknowledge", {}).status_code == 200
    page = supervisor.get("/incidents/inc-a").text
    assert 'id="acknowledge"' not in page and 'id="review-form"' in page and "已知悉" in page
    assert supervisor.post("/api/v1/incidents/inc-a/review", {
        "decision": "confirm", "reason_code": "confirmed_as_detected", "note": "看到了"}).status_code == 200

    page = supervisor.get("/incidents/inc-a").text
    assert "已确认违规" in page and 'id="review-form"' not in page and 'id="appeal-form"' not in page
    assert "值班主管 确认违规：属实：与系统识别一致" in page and "备注：看到了" in page
    page = manager.get("/incidents/inc-a").text
    assert 'id="appeal-form"' in page, "a manager may file an appeal on a confirmed incident"
    response = manager.post("/api/v1/incidents/inc-a/appeals", {"reason": "当时在为群众复印材料"})
    assert response.status_code == 201, response.text

    page = second_manager.get("/incidents/inc-a").text
    assert 'id="decision-form"' in page and "申诉待裁定：当时在为群众复印材料" in page
    assert 'id="appeal-form"' not in page, "one undecided appeal at a time"
    assert 'id="decision-form"' not in supervisor.get("/incidents/inc-a").text
    appeal_id = re.search(r'data-action="/api/v1/appeals/(\d+)/decision"', page).group(1)
    response = second_manager.post(f"/api/v1/appeals/{appeal_id}/decision", {"decision": "upheld", "note": "属实"})
    assert response.status_code == 200, response.text

    page = supervisor.get("/incidents/inc-a").text
    assert "已排除" in page and "支持申诉" in page and 'id="decision-form"' not in page


def test_a_supervisor_sees_only_the_halls_they_watch(hall: LiveHall) -> None:
    from counterwatch.config import load_config
    from monitor_api.storage import sync_hall

    config = load_config(hall.config_path)
    other = config.model_copy(update={"hall": config.hall.model_copy(update={"id": "other-hall", "name": "另一大厅"})})
    with hall.database.write() as session:
        sync_hall(session, other)
    hall.bridge.handle(replace(_event(EventKind.OPENED, "inc-b"), hall_id="other-hall"))
    supervisor = Visitor(hall.app, "sup")
    assert supervisor.get("/incidents/inc-b").status_code == 403
    assert 'data-incident-id="inc-b"' not in supervisor.get("/dashboard?hall=other-hall").text
    manager = Visitor(hall.app, "mgr1")
    assert 'id="hall-select"' in manager.get("/dashboard").text
    assert 'data-incident-id="inc-b"' in manager.get("/dashboard?hall=other-hall").text
