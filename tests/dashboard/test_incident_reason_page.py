"""The incident page (also where appeals are filed) shows 系统判断依据 in the visitor's language, over HTTP against
the real app and SQLite: events made by the real absence rule from scripted window states are delivered through the
PipelineBridge (the path `counterwatch run` takes), stored, read back through the API and rendered by the server."""
from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from counterwatch.config.rules import AbsentWithoutPause as AbsentSettings, CommonRuleSettings
from counterwatch.incidents.events import EventKind, IncidentEvent
from counterwatch.rules.absent import AbsentWithoutPause
from counterwatch.rules.base import RuleScope
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config
from tests.rules.helpers import STAFF, run, seg, stream

PASSWORD = "reason-page-password-1"
# 10:00 in Shanghai on a Monday: within the demo hall's service hours.
ORIGIN = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
def hall(tmp_path: Path):
    live = LiveHall(write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30))
    live.add_user("sup", PASSWORD, "supervisor", "值班主管", halls=(HALL_ID,))
    try:
        yield live
    finally:
        live.stop()


def _client(hall: LiveHall) -> TestClient:
    client = TestClient(hall.app, follow_redirects=False)
    response = client.post("/api/v1/auth/login", json={"username": "sup", "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client


def _absence_events() -> list[IncidentEvent]:
    """w01's staff leaves for 65 s without the sign (the demo's dwell is 30 s) and comes back."""
    rule = AbsentWithoutPause(RuleScope(HALL_ID, "w01"), AbsentSettings(dwell_s=30.0, return_s=5.0, cooldown_s=0.0),
                              CommonRuleSettings(update_every_s=30.0))
    states = stream(seg(5, staff=STAFF), seg(65, sign_visible=False), seg(10, staff=STAFF), window="w01",
                    camera="cam-demo", rostered="s001", origin=ORIGIN)
    events = run(rule, states)
    assert [e.kind for e in events] == [EventKind.OPENED, EventKind.UPDATED, EventKind.CLOSED]
    return events


def _reason_on(page: str) -> str:
    start = page.index('id="incident-reason">') + len('id="incident-reason">')
    return html.unescape(page[start:page.index("</p>", start)])


def test_the_incident_page_shows_the_reason_in_zh_cn_and_in_english(hall: LiveHall) -> None:
    events = _absence_events()
    for event in events:
        hall.bridge.handle(event)
    client = _client(hall)
    incident_id = events[0].incident_id

    document = client.get(f"/api/v1/incidents/{incident_id}").json()
    assert document["reason"] == events[-1].reason  # the English for API clients, with the closing
    assert document["reason_detail"]["code"] == "absent.no_staff"
    # As of the last frame without staff (69.5 s; the first was 5.0 s); the share is of the last 30 s only.
    assert document["reason_detail"]["params"]["absent_s"] == 64.5
    assert document["reason_detail"]["closed"] == {"code": "closed.staff_back", "params": {"back_s": 5.0}}

    zh = _reason_on(client.get(f"/incidents/{incident_id}").text)
    assert zh == ("工位无人已持续 1 分 5 秒（规定：无人达到 30 秒即告警）；"
                  "最近 30 秒内 100% 的画面未见工作人员（需达到 "
                  "70%）；未看到暂停牌；叫号系统未暂停，处于服务时段；等候群众 0 人。结束原因：工作人员已回到岗位"
                  "（连续 5 秒）")
    en = _reason_on(client.get(f"/incidents/{incident_id}?lang=en").text)
    assert en.startswith("Nobody at the post for 1 min 5 s (the rule alerts after 30 s); no staff in 100% of the "
                         "frames of the last 30 s")
    assert en.endswith("Closed: staff back at the post for 5 s")


def test_an_incident_stored_with_text_only_shows_that_text(hall: LiveHall) -> None:
    started = ORIGIN + timedelta(minutes=5)
    hall.bridge.handle(IncidentEvent(
        kind=EventKind.OPENED, incident_id="inc-old", incident_type="phone_use", hall_id=HALL_ID, window_id="w02",
        camera_id="cam-demo", staff_id="s002", started_at=started, ended_at=None, start_ts=10.0, ts=40.0,
        confidence=0.8, peak_confidence=0.9, reason="phone in hand for 30 s (90% of frames)"))
    client = _client(hall)
    assert client.get("/api/v1/incidents/inc-old").json()["reason_detail"] is None
    assert _reason_on(client.get("/incidents/inc-old").text) == "phone in hand for 30 s (90% of frames)"
