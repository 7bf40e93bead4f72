"""Reviewing on the live wall's alert cards, in a real headless Chromium against the real API.

Incidents enter through the PipelineBridge (the path `counterwatch run` takes) while the supervisor's wall is open;
their cards appear live and the supervisor confirms one and dismisses another right on its card, with the incident
page's reason codes. The card shows the new state at once (and after the live re-render), and the API says the
incident was reviewed with that decision and reason. A supervisor who is the incident's own staff member gets no
buttons on that card but a line saying why; a review someone else made first, and one the API refuses (403), are
said on the card in zh-CN.
"""
from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from counterwatch.incidents.events import EventKind, IncidentEvent
from monitor_api.storage.models import UserRow
from tests.dashboard.browser import Browser, wait_for
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config

PASSWORD = "wall-review-password-1"
SUPERVISOR = ("wang.supervisor", "王主管")
SELF = ("zhang.supervisor", "张主管")  # also staff member s001, who works at w01
OTHER = ("li.supervisor", "李主管")
STARTED = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
STAFF_AT = {"w01": "s001", "w02": "s002"}


@pytest.fixture
def hall(tmp_path: Path):
    from monitor_api.accounts import add_user
    from monitor_api.storage import Actor
    from monitor_api.storage.models import Role

    live = LiveHall(write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30)).start()
    for username, name in (SUPERVISOR, OTHER):
        live.add_user(username, PASSWORD, "supervisor", name, halls=(HALL_ID,))
    with live.database.write() as session:
        add_user(session, live.services.passwords, Actor.system("test"), username=SELF[0], password=PASSWORD,
                 role=Role.SUPERVISOR, display_name=SELF[1], halls=(HALL_ID,), staff=(HALL_ID, "s001"))
    try:
        yield live
    finally:
        live.stop()


def _open(hall: LiveHall, incident_id: str, window_id: str, kind: str = "phone_use") -> None:
    hall.bridge.handle(IncidentEvent(
        kind=EventKind.OPENED, incident_id=incident_id, incident_type=kind, hall_id=HALL_ID, window_id=window_id,
        camera_id="cam-demo", staff_id=STAFF_AT[window_id], started_at=STARTED, ended_at=None, start_ts=10.0, ts=40.0,
        confidence=0.8, peak_confidence=0.9, reason="test"))


def _api(hall: LiveHall, username: str) -> tuple[TestClient, dict[str, str]]:
    client = TestClient(hall.app, follow_redirects=False)
    response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return client, {"X-CSRF-Token": response.json()["csrf_token"]}


def _stored(hall: LiveHall, incident_id: str) -> dict:
    client, _ = _api(hall, OTHER[0])
    response = client.get(f"/api/v1/incidents/{incident_id}")
    assert response.status_code == 200, response.text
    return response.json()


def _login(driver, hall: LiveHall, username: str) -> None:
    driver.get(hall.url + "/dashboard")
    wait_for(lambda: "/login" in driver.current_url, 10, "the login page")
    driver.find_element("id", "username").send_keys(username)
    driver.find_element("id", "password").send_keys(PASSWORD)
    driver.find_element("id", "login-submit").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith("/dashboard"), 15, "the dashboard after login")
    wait_for(lambda: driver.find_element("id", "live-status").get_attribute("data-state") == "connected", 15,
             "the live feed (SSE) to connect")
    driver.execute_script("window.__sameDocument = 'yes'")  # a reload would drop this marker


def _card(driver, incident_id: str):
    return driver.find_element("css selector", f'#feed li[data-incident-id="{incident_id}"]')


def _live_card(driver, incident_id: str, what: str):
    return wait_for(lambda: _card(driver, incident_id), 20, what)


def _quiet(driver, seconds: float = 1.5) -> None:
    """Wait until the live feed has not been re-rendered for `seconds` (cards found now stay the page's cards)."""
    def settled() -> bool:
        driver.execute_script("document.querySelector('#feed ol').dataset.quiet = 'yes'")
        time.sleep(seconds)
        return bool(driver.execute_script("const o = document.querySelector('#feed ol'); return o && o.dataset.quiet"))

    wait_for(settled, 30, "the live feed to settle")


def _shown(driver, incident_id: str) -> tuple[str, str, str, bool]:
    """(review state, review badge, message, whether it offers a review) of a card as the page shows it."""
    card = _card(driver, incident_id)
    return (card.get_attribute("data-review-state"),
            card.find_element("css selector", ".alert__badges [class*=badge--review-]").text, _message(card),
            bool(card.find_elements("css selector", "form.alert__review")))


def _enabled_reasons(card) -> list[str]:
    return [o.get_attribute("value") for o in card.find_elements("css selector", "select[name=reason_code] option")
            if o.is_enabled() and o.get_attribute("value")]


def _message(card) -> str:
    line = card.find_element("css selector", ".alert__message")
    return line.text if line.is_displayed() else ""


def _console_errors(browser: Browser) -> list[str]:
    """What went wrong in the page, less the 404s of the snapshots these incidents never had (thumbnails)."""
    return [e for e in browser.console_errors() if not ("/snapshot" in e and "404" in e)]


def _review_on_card(driver, incident_id: str, decision: str, reason: str, note: str = "") -> None:
    card = _card(driver, incident_id)
    card.find_element("css selector", f'.alert__decide[data-decision="{decision}"]').click()
    card.find_element("css selector", f'select[name=reason_code] option[value="{reason}"]').click()
    if note:
        card.find_element("css selector", "input[name=note]").send_keys(note)
    card.find_element("css selector", ".alert__submit").click()


def test_a_supervisor_confirms_and_dismisses_live_alerts_on_their_cards(hall: LiveHall, browser: Browser,
                                                                        tmp_path: Path) -> None:
    driver = browser.driver
    _login(driver, hall, SUPERVISOR[0])
    assert driver.find_element("id", "feed").text == "暂无告警。"

    _open(hall, "inc-phone", "w01")
    _open(hall, "inc-absent", "w02", kind="absent_without_pause")
    _live_card(driver, "inc-phone", "the first alert card, live")
    _live_card(driver, "inc-absent", "the second alert card, live")
    _quiet(driver)
    card = _card(driver, "inc-phone")
    assert "待处理" in card.text
    assert [b.text for b in card.find_elements("css selector", ".alert__decide")] == ["确认", "驳回"]
    assert not card.find_element("css selector", ".alert__panel").is_displayed()

    # Confirm: only the confirmation's reason codes; no reason chosen yet says so in zh-CN and posts nothing.
    card.find_element("css selector", '.alert__decide[data-decision="confirm"]').click()
    assert card.find_element("css selector", ".alert__panel").is_displayed()
    assert _enabled_reasons(card) == ["confirmed_as_detected", "confirmed_other_behaviour"]
    card.find_element("css selector", ".alert__submit").click()
    assert _message(card) == "请先选择理由。"
    assert _stored(hall, "inc-phone")["review_state"] == "pending"
    card.find_element("css selector", 'select[name=reason_code] option[value="confirmed_as_detected"]').click()
    card.find_element("css selector", "input[name=note]").send_keys("现场核实属实")
    card.find_element("css selector", ".alert__submit").click()
    # The card at once: the new state, what was done, no second review (also once the feed is re-rendered).
    wait_for(lambda: _shown(driver, "inc-phone") == ("confirmed", "已确认违规", "已提交：确认违规", False), 15,
             "the card confirmed")
    stored = _stored(hall, "inc-phone")
    assert stored["review_state"] == "confirmed"
    assert (stored["review"]["decision"], stored["review"]["reason_code"]) == ("confirm", "confirmed_as_detected")
    assert stored["review"]["note"] == "现场核实属实" and stored["review"]["reviewer"] == SUPERVISOR[0]

    # Dismiss the other one as a false detection: the dismissal's reason codes only.
    _quiet(driver)
    card = _card(driver, "inc-absent")
    card.find_element("css selector", '.alert__decide[data-decision="dismiss"]').click()
    assert _enabled_reasons(card) == ["dismissed_false_detection", "dismissed_authorised_absence",
                                      "dismissed_pause_not_seen", "dismissed_wrong_person", "dismissed_work_related",
                                      "dismissed_other"]
    _review_on_card(driver, "inc-absent", "dismiss", "dismissed_false_detection")
    wait_for(lambda: _shown(driver, "inc-absent") == ("dismissed", "已排除", "已提交：排除（不认定）", False), 15,
             "the card dismissed")
    stored = _stored(hall, "inc-absent")
    assert stored["review_state"] == "dismissed"
    assert stored["review"]["reason_code"] == "dismissed_false_detection"

    # The next live update re-renders both cards from the server: they keep their new state.
    _open(hall, "inc-next", "w01", kind="eating")
    _live_card(driver, "inc-next", "a third alert card, live")
    _quiet(driver)
    assert _card(driver, "inc-next").find_elements("css selector", "form.alert__review")
    assert _shown(driver, "inc-phone")[::3] == ("confirmed", False)
    assert _shown(driver, "inc-absent")[::3] == ("dismissed", False)
    assert driver.execute_script("return window.__sameDocument") == "yes", "no reload"
    driver.save_screenshot(str(tmp_path / "wall-reviewed-zh.png"))
    errors = _console_errors(browser)
    assert errors == [], errors


def test_cards_a_reviewer_may_not_review_say_why_in_zh_cn(hall: LiveHall, browser: Browser, tmp_path: Path) -> None:
    driver = browser.driver
    _open(hall, "inc-own", "w01")
    _open(hall, "inc-taken", "w02")
    _open(hall, "inc-refused", "w02", kind="absent_without_pause")
    _login(driver, hall, SELF[0])
    _quiet(driver)

    # An incident about oneself: no buttons, a line saying another reviewer decides it.
    own = _card(driver, "inc-own")
    assert not own.find_elements("css selector", ".alert__decide")
    assert own.find_element("css selector", ".alert__hint").text == "该告警涉及您本人，须由其他审核人处理。"

    # A live update while a review is under way keeps the card as it is (the choice made so far stays).
    taken = _card(driver, "inc-taken")
    taken.find_element("css selector", '.alert__decide[data-decision="confirm"]').click()
    taken.find_element("css selector", 'select[name=reason_code] option[value="confirmed_as_detected"]').click()
    _open(hall, "inc-later", "w02", kind="eating")
    _live_card(driver, "inc-later", "a new alert card, live")
    taken = _card(driver, "inc-taken")
    assert taken.find_element("css selector", ".alert__panel").is_displayed()
    assert taken.find_element("css selector", "select[name=reason_code]").get_attribute("value") == \
        "confirmed_as_detected"

    # Someone else reviews it meanwhile: the card shows their decision and says so.
    other, csrf = _api(hall, OTHER[0])
    review = {"decision": "dismiss", "reason_code": "dismissed_work_related", "note": ""}
    assert other.post("/api/v1/incidents/inc-taken/review", json=review, headers=csrf).status_code == 200
    wait_for(lambda: _card(driver, "inc-taken").get_attribute("data-review-state") == "dismissed", 15,
             "the card re-rendered with the other reviewer's decision")
    assert _message(_card(driver, "inc-taken")) == "该告警已由他人处理，卡片已更新为最新状态。"
    assert not _card(driver, "inc-taken").find_elements("css selector", "form.alert__review")
    assert _stored(hall, "inc-taken")["review"]["reason_code"] == "dismissed_work_related"

    # The account becomes the staff member of w02 after the card was drawn: the API refuses (403); the card says so
    # in zh-CN and offers the review no more.
    _quiet(driver)
    card = _card(driver, "inc-refused")
    card.find_element("css selector", '.alert__decide[data-decision="confirm"]').click()
    card.find_element("css selector", 'select[name=reason_code] option[value="confirmed_as_detected"]').click()
    with hall.database.write() as session:
        user = session.scalars(select(UserRow).where(UserRow.username == SELF[0])).one()
        user.staff_hall_id, user.staff_id = HALL_ID, "s002"
    card.find_element("css selector", ".alert__submit").click()
    wait_for(lambda: _message(_card(driver, "inc-refused")) ==
             "您无权审核这条告警（例如告警涉及您本人），请交由其他审核人处理。", 15, "the refusal said on the card")
    assert not _card(driver, "inc-refused").find_elements("css selector", "form.alert__review")
    assert _stored(hall, "inc-refused")["review_state"] == "pending"
    driver.save_screenshot(str(tmp_path / "wall-refused-zh.png"))
    # The browser logs the API's refusal (403); nothing else went wrong.
    errors = _console_errors(browser)
    assert len(errors) == 1 and "/api/v1/incidents/inc-refused/review" in errors[0] and "403" in errors[0], errors


def test_roles_that_may_not_review_get_no_buttons(hall: LiveHall) -> None:
    from monitor_api.accounts import add_user
    from monitor_api.storage import Actor
    from monitor_api.storage.models import Role

    with hall.database.write() as session:
        add_user(session, hall.services.passwords, Actor.system("test"), username="auditor", password=PASSWORD,
                 role=Role.AUDITOR, display_name="审计员")
    _open(hall, "inc-1", "w01")
    auditor, _ = _api(hall, "auditor")
    feed = auditor.get(f"/dashboard/fragments/feed?hall={HALL_ID}").text
    assert 'data-incident-id="inc-1"' in feed and "alert__review" not in feed and "alert__hint" not in feed
    supervisor, _ = _api(hall, SUPERVISOR[0])
    page = supervisor.get(f"/dashboard?hall={HALL_ID}").text
    assert page.count('class="alert__review"') == 1 and "feed_review.js" in page
    assert "/api/v1/incidents/inc-1/review" in page
