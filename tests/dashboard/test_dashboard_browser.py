"""The supervisors' dashboard in a real headless Chromium against the real API and the real pipeline.

A supervisor logs in through the login form and watches the live wall; the pipeline, run as `counterwatch run`
runs it, sees the staff member at window 1 leave without the pause sign; the incident appears on the open page
without a reload; the supervisor opens it, checks the snapshot and the clip (seekable), confirms it with a reason
code and a note, and sees it confirmed, also after a reload. Then the English switch, and the camera page.
Screenshots go to the test's tmp_path.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from counterwatch.demo_scene import segment
from tests.dashboard.browser import Browser, wait_for
from tests.dashboard.hall import HALL_ID, LiveHall, render_hall_scene, write_hall_config

log = logging.getLogger(__name__)

ONSET_S = 4.0  # staff at w01 leaves here (video seconds, played in real time)
ABSENT_S = 16.0
RETURN_S = 4.0
DWELL_S = 5.0  # the absence rule's dwell: the incident opens ~DWELL_S after the onset
SUPERVISOR = ("wang.supervisor", "correct-horse-battery-9", "王主管")

# The wall's colours (dashboard.css): a present window green, absent (not yet alerted) amber, in alert red.
PRESENT_RGB = "rgb(21, 128, 61)"
ABSENT_RGB = "rgb(180, 83, 9)"
IN_INCIDENT_RGB = "rgb(185, 28, 28)"


@pytest.fixture
def hall(tmp_path: Path):
    script = (segment(ONSET_S, ("w01", "w02")), segment(ABSENT_S, ("w02",)), segment(RETURN_S, ("w01", "w02")))
    video = render_hall_scene(tmp_path, script)
    live = LiveHall(write_hall_config(tmp_path, video, dwell_s=DWELL_S)).start()
    username, password, name = SUPERVISOR
    live.add_user(username, password, "supervisor", name, halls=(HALL_ID,))
    try:
        yield live
    finally:
        live.stop()


def _text(driver, css: str) -> str:
    return driver.find_element("css selector", css).text


def _tile(driver, window_id: str):
    return driver.find_element("css selector", f'#wall [data-window-id="{window_id}"]')


def _background(driver, element) -> str:
    return driver.execute_script("return getComputedStyle(arguments[0]).backgroundColor", element)


def test_supervisor_sees_a_pipeline_incident_live_confirms_it_and_switches_language(hall: LiveHall, browser: Browser,
                                                                                    tmp_path: Path) -> None:
    driver = browser.driver
    username, password, display_name = SUPERVISOR

    # Pages are behind the login: the dashboard sends an anonymous visitor to the (zh-CN) login form.
    driver.get(hall.url + "/dashboard")
    wait_for(lambda: "/login" in driver.current_url, 10, "the redirect to the login page")
    assert driver.find_element("css selector", "html").get_attribute("lang") == "zh-CN"
    assert "登录" in _text(driver, "h1")

    driver.find_element("id", "username").send_keys(username)
    driver.find_element("id", "password").send_keys("wrong password")
    driver.find_element("id", "login-submit").click()
    wait_for(lambda: driver.find_element("id", "login-message").is_displayed(), 10, "the login error")
    assert _text(driver, "#login-message") == "用户名或密码错误。"
    refused = browser.console_errors()  # the browser logs the API's 401 to the failed login; nothing else
    assert len(refused) == 1 and "/api/v1/auth/login" in refused[0] and "401" in refused[0], refused

    driver.find_element("id", "password").send_keys(password)
    driver.find_element("id", "login-submit").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith("/dashboard"), 15, "the dashboard after login")
    wait_for(lambda: driver.find_element("id", "live-status").get_attribute("data-state") == "connected", 15,
             "the live feed (SSE) to connect")
    assert _text(driver, ".topbar__user") == f"当前用户：{display_name}（大厅管理人员）"
    legend = {s: _background(driver, driver.find_element("css selector", f".legend__item.tile--{s}"))
              for s in ("present", "absent", "in_incident")}
    assert legend == {"present": PRESENT_RGB, "absent": ABSENT_RGB, "in_incident": IN_INCIDENT_RGB}, legend
    assert "演示政务服务大厅" in _text(driver, "h1")
    assert [t.find_element("css selector", ".tile__name").text
            for t in driver.find_elements("css selector", "#wall .tile")] == ["1号窗口", "2号窗口"]
    assert _text(driver, "#feed") == "暂无告警。"
    assert driver.execute_script("return sessionStorage.getItem('counterwatch.csrf')"), "CSRF token kept in the tab"

    # From here on the page must update by itself: a reload would drop this marker.
    driver.execute_script("window.__sameDocument = 'yes'")
    hall.start_pipeline()
    started = time.monotonic()

    # The wall follows the pipeline's window statuses: both staff present (green) before the absence.
    wait_for(lambda: _tile(driver, "w02").get_attribute("data-status") == "present", 60,
             "window 2 reported present by the pipeline")
    item = wait_for(lambda: driver.find_element("css selector", "#feed li.alert"), 90,
                    "the pipeline's incident in the alert feed")
    appeared_after = time.monotonic() - started
    assert "离岗未放暂停牌" in item.text and "1号窗口" in item.text, item.text
    assert "工作人员：张伟" in item.text, item.text
    assert "待处理" in item.text
    assert driver.execute_script("return window.__sameDocument") == "yes", "the feed updated without a reload"
    incident_id = item.get_attribute("data-incident-id")
    assert incident_id

    tile = wait_for(lambda: (t := _tile(driver, "w01")).get_attribute("data-status") == "in_incident" and t, 20,
                    "window 1's tile in the incident state")
    assert "离岗未放暂停牌" in tile.text and "告警中" in tile.text
    assert _background(driver, tile) == IN_INCIDENT_RGB
    assert _background(driver, _tile(driver, "w02")) == PRESENT_RGB
    wait_for(lambda: driver.execute_script(
        "const i = document.querySelector('#feed img.alert__thumb'); return i && i.complete && i.naturalWidth > 0"),
        15, "the snapshot thumbnail in the feed")
    driver.save_screenshot(str(tmp_path / "dashboard-zh.png"))

    # The incident's page: masked snapshot, reason, timeline, the review form.
    item.find_element("css selector", "a").click()
    wait_for(lambda: f"/incidents/{incident_id}" in driver.current_url, 10, "the incident page")
    assert _text(driver, "#incident-type") == "离岗未放暂停牌"
    assert _text(driver, "#review-state") == "待处理"
    assert _text(driver, "#incident-reason")
    assert "系统发现：离岗未放暂停牌" in _text(driver, "#timeline")
    wait_for(lambda: driver.execute_script("const i = document.getElementById('snapshot');"
                                           "return i && i.complete && i.naturalWidth > 0"), 15, "the snapshot")
    if driver.find_elements("id", "no-clip"):  # the clip is written after the incident ends
        assert "视频片段将在行为结束后生成" in _text(driver, "#no-clip")

    # The clip is written once the incident has ended and its post-roll recorded: wait for the video to end.
    assert hall.wait_pipeline(120), "the pipeline did not finish the scene"
    assert hall.pump_error is None, hall.pump_error
    driver.refresh()
    _check_clip_seeks(driver)

    # Confirm with a reason code and a note.
    driver.find_element("css selector", '#review-form input[name="decision"][value="confirm"]').click()
    options = [o.get_attribute("value") for o in driver.find_elements("css selector", "#reason-code option")
               if o.is_enabled() and o.get_attribute("value")]
    assert options == ["confirmed_as_detected", "confirmed_other_behaviour"], options
    driver.find_element("css selector", '#reason-code option[value="confirmed_as_detected"]').click()
    driver.find_element("id", "review-note").send_keys("已电话核实：离岗约十五秒，未放暂停牌")
    driver.find_element("id", "submit-review").click()
    wait_for(lambda: driver.find_element("id", "review-state").get_attribute("data-review-state") == "confirmed", 15,
             "the incident shown as confirmed")
    assert _text(driver, "#review-state") == "已确认违规"
    feedback = wait_for(lambda: (s := driver.find_element("id", "action-status")).is_displayed() and s, 10,
                        "the confirmation's feedback after the reload")
    assert feedback.text == "已提交：确认违规" and "message--ok" in feedback.get_attribute("class")
    timeline = _text(driver, "#timeline")
    assert f"{display_name} 确认违规：属实：与系统识别一致" in timeline, timeline
    assert "已电话核实" in timeline
    assert not driver.find_elements("id", "review-form"), "a reviewed incident offers no second review"

    driver.refresh()
    assert _text(driver, "#review-state") == "已确认违规", "still confirmed after a reload"
    assert not driver.find_element("id", "action-status").is_displayed(), "the feedback is shown once"
    driver.execute_script("window.scrollTo(0, 0)")
    driver.save_screenshot(str(tmp_path / "incident-zh.png"))

    # Back on the wall, the feed says so too; then the English switch (remembered in a cookie).
    driver.get(hall.url + "/dashboard")
    feed_item = driver.find_element("css selector", f'#feed li[data-incident-id="{incident_id}"]')
    assert "已确认违规" in feed_item.text
    driver.find_element("id", "lang-switch").click()
    wait_for(lambda: driver.find_element("css selector", "html").get_attribute("lang") == "en", 10, "English")
    assert _text(driver, "h1").startswith("Live wall")
    feed_item = driver.find_element("css selector", f'#feed li[data-incident-id="{incident_id}"]')
    assert "Absent without pause sign" in feed_item.text and "Confirmed" in feed_item.text, feed_item.text
    assert "Log out" in _text(driver, "#logout")
    driver.save_screenshot(str(tmp_path / "dashboard-en.png"))

    driver.find_element("css selector", '.topbar__nav a[href="/cameras"]').click()
    wait_for(lambda: _text(driver, "h1") == "Camera health", 10, "the camera page in English")
    row = driver.find_element("css selector", '#cameras tr[data-camera-id="cam-demo"]')
    assert "w01, w02" in row.text
    driver.save_screenshot(str(tmp_path / "cameras-en.png"))

    driver.find_element("id", "logout").click()
    wait_for(lambda: "/login" in driver.current_url, 10, "the login page after logging out")
    assert driver.execute_script("return sessionStorage.getItem('counterwatch.csrf')") is None
    driver.get(hall.url + "/dashboard")
    wait_for(lambda: "/login?next=" in driver.current_url, 10, "the session to be gone")

    errors = browser.console_errors()
    assert errors == [], errors
    log.info(f"incident appeared on the open dashboard {appeared_after:.1f} s after the pipeline started; "
             f"screenshots in {tmp_path}")


def _check_clip_seeks(driver) -> None:
    """The clip plays in the <video> element and seeks (the API answers Range requests)."""
    wait_for(lambda: driver.execute_script(
        "const v = document.getElementById('clip'); return v.readyState >= 1 && isFinite(v.duration) && "
        "v.duration > 1"), 20, "the clip's metadata")
    duration = driver.execute_script("return document.getElementById('clip').duration")
    target = round(duration / 2, 1)
    driver.execute_script("const v = document.getElementById('clip'); window.__seeked = false;"
                          "v.addEventListener('seeked', () => { window.__seeked = true; }, {once: true});"
                          "v.currentTime = arguments[0];", target)
    wait_for(lambda: driver.execute_script("return window.__seeked"), 15, "the clip to seek")
    position = driver.execute_script("return document.getElementById('clip').currentTime")
    assert abs(position - target) < 1.0, (position, target)
