"""The admin pages in a real headless Chromium against the real API and database: an admin logs in and lands on
the admin home (not an error page), creates a user (after a refused duplicate, explained in Chinese), creates an API
key (after a refusal for want of a permission; then shown once, and it is the key the database holds), revokes it,
and finds all three in the audit log page."""
from __future__ import annotations

from pathlib import Path

import pytest
from selenium.webdriver.support.ui import Select
from sqlalchemy import select

from monitor_api.auth.keys import hash_api_key
from monitor_api.storage.models import ApiKeyRow, AuditLogRow, UserHallScopeRow, UserRow
from tests.dashboard.browser import Browser, wait_for
from tests.dashboard.hall import HALL_ID, LiveHall, write_hall_config

ADMIN = ("it.admin", "correct-horse-battery-9", "信息科小周")


@pytest.fixture
def hall(tmp_path: Path):
    live = LiveHall(write_hall_config(tmp_path, tmp_path / "never-played.mp4", dwell_s=30)).start()
    username, password, name = ADMIN
    live.add_user(username, password, "admin", name)
    try:
        yield live
    finally:
        live.stop()


def _status(driver, form_id: str) -> str:
    return driver.find_element("css selector", f"#{form_id} [data-status]").text


def _flash(driver) -> str:
    return driver.find_element("id", "action-status").text


def _row(driver, table_id: str, attribute: str, value: str):
    found = driver.find_elements("css selector", f'#{table_id} tr[{attribute}="{value}"]')
    return found[0] if found else None


def test_an_admin_manages_users_and_keys_and_reads_the_audit_log(hall: LiveHall, browser: Browser,
                                                                  tmp_path: Path) -> None:
    username, password, _ = ADMIN
    driver = browser.driver

    driver.get(hall.url + "/")
    wait_for(lambda: "/login" in driver.current_url, 10, "the redirect to the login page")
    driver.find_element("id", "username").send_keys(username)
    driver.find_element("id", "password").send_keys(password)
    driver.find_element("id", "login-submit").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith("/admin"), 15, "the admin home after login")
    assert driver.find_element("tag name", "h1").text == "系统管理"
    assert "出错了" not in driver.page_source and "您无权查看该告警" not in driver.page_source
    assert driver.find_element("css selector", '.topbar__nav a[aria-current="page"]').text == "系统管理"
    driver.save_screenshot(str(tmp_path / "admin-home-zh.png"))

    # Users: a duplicate username is refused in words, then a supervisor of the demo hall is created.
    driver.find_element("link text", "用户").click()
    wait_for(lambda: driver.current_url.endswith("/admin/users"), 10, "the users page")
    halls_box = driver.find_element("css selector", '#create-user fieldset[data-for-roles]')
    assert not halls_box.is_displayed()  # halls only for a hall supervisor
    driver.find_element("id", "create-username").send_keys(username)
    driver.find_element("id", "create-display-name").send_keys("王主管")
    driver.find_element("css selector", '#create-user [data-generate="create-password"]').click()
    generated = driver.find_element("id", "create-password").get_attribute("value")
    assert len(generated) == 16 and driver.find_element("id", "create-password").get_attribute("type") == "text"
    Select(driver.find_element("id", "create-role")).select_by_value("supervisor")
    assert halls_box.is_displayed()
    driver.find_element("css selector", f'#create-user input[name="halls"][value="{HALL_ID}"]').click()
    driver.find_element("id", "create-user-submit").click()
    wait_for(lambda: _status(driver, "create-user") == "该用户名已被使用，请换一个。", 10, "the duplicate's message")
    name_field = driver.find_element("id", "create-username")
    name_field.clear()
    name_field.send_keys("wang.supervisor")
    driver.find_element("id", "create-user-submit").click()
    wait_for(lambda: _row(driver, "users", "data-username", "wang.supervisor"), 10, "the new user's row")
    assert _flash(driver) == "用户已创建。"
    row = _row(driver, "users", "data-username", "wang.supervisor")
    assert "王主管" in row.text and "大厅管理人员" in row.text and "演示政务服务大厅" in row.text
    with hall.database.read() as session:
        created = session.scalar(select(UserRow).where(UserRow.username == "wang.supervisor"))
        assert created is not None and created.role.value == "supervisor" and created.display_name == "王主管"
        assert hall.services.passwords.verify(created.password_hash, generated)
        assert list(session.scalars(select(UserHallScopeRow.hall_id).where(
            UserHallScopeRow.user_id == created.id))) == [HALL_ID]

    # API keys: created and shown once, then revoked.
    driver.find_element("link text", "接口密钥").click()
    wait_for(lambda: driver.current_url.endswith("/admin/keys"), 10, "the keys page")
    driver.find_element("id", "key-name").send_keys("叫号系统")
    driver.find_element("id", "create-key-submit").click()  # no permission chosen: the API's 422, in words
    wait_for(lambda: _status(driver, "create-key") == "请至少选择一项权限。", 10, "the missing scope's message")
    driver.find_element("css selector", '#create-key input[name="scopes"][value="queue:pause"]').click()
    Select(driver.find_element("id", "key-hall")).select_by_value(HALL_ID)
    driver.find_element("id", "create-key-submit").click()
    wait_for(lambda: driver.find_element("id", "key-secret").is_displayed(), 10, "the new key")
    secret = driver.find_element("id", "key-secret-value").get_attribute("value")
    assert secret.startswith("cwk_")
    with hall.database.read() as session:
        key = session.scalar(select(ApiKeyRow).where(ApiKeyRow.name == "叫号系统"))
        assert key is not None and key.key_hash == hash_api_key(secret) and key.hall_id == HALL_ID
        assert key.scopes == ["queue:pause"] and key.revoked_at is None
    driver.save_screenshot(str(tmp_path / "admin-key-once-zh.png"))
    driver.find_element("id", "key-secret-done").click()
    wait_for(lambda: _row(driver, "keys", "data-key-name", "叫号系统"), 10, "the new key's row")
    assert secret not in driver.page_source
    row = _row(driver, "keys", "data-key-name", "叫号系统")
    assert row.get_attribute("data-state") == "active" and "叫号系统：暂停/恢复窗口" in row.text
    row.find_element("css selector", "button").click()
    alert = wait_for(lambda: driver.switch_to.alert, 5, "the revoke confirmation")
    assert "叫号系统" in alert.text
    alert.accept()
    wait_for(lambda: _row(driver, "keys", "data-key-name", "叫号系统").get_attribute("data-state") == "revoked", 10,
             "the revoked key")
    assert _flash(driver) == "密钥已吊销。"
    with hall.database.read() as session:
        assert session.get(ApiKeyRow, key.id).revoked_at is not None

    # The audit log shows all three, by this admin; the action filter narrows it.
    driver.find_element("link text", "审计日志").click()
    wait_for(lambda: driver.current_url.endswith("/admin/audit"), 10, "the audit page")
    rows = driver.find_elements("css selector", "#audit tbody tr")
    shown = [(r.get_attribute("data-action"), r.text) for r in rows]
    for action, label, subject in (("user.create", "创建用户", "用户 王主管（wang.supervisor）"),
                                   ("api_key.create", "创建接口密钥", "接口密钥 叫号系统"),
                                   ("api_key.revoke", "吊销接口密钥", "接口密钥 叫号系统")):
        matching = [text for kind, text in shown if kind == action and subject in text]
        assert len(matching) == 1, (action, shown)
        assert label in matching[0] and "信息科小周（it.admin）" in matching[0]
    Select(driver.find_element("id", "filter-action")).select_by_value("api_key.revoke")
    driver.find_element("id", "audit-filter-submit").click()
    wait_for(lambda: "action=api_key.revoke" in driver.current_url, 10, "the filtered audit page")
    assert [r.get_attribute("data-action") for r in driver.find_elements("css selector", "#audit tbody tr")] == [
        "api_key.revoke"]
    driver.save_screenshot(str(tmp_path / "admin-audit-zh.png"))
    with hall.database.read() as session:
        admin_id = session.scalar(select(UserRow.id).where(UserRow.username == username))
        actors = {(entry.action, entry.object_id): entry.actor_id for entry in session.scalars(
            select(AuditLogRow).where(AuditLogRow.actor_type == "user"))}
    assert actors == {("auth.login", str(admin_id)): str(admin_id), ("user.create", str(created.id)): str(admin_id),
                      ("api_key.create", str(key.id)): str(admin_id), ("api_key.revoke", str(key.id)): str(admin_id)}
    # The refused duplicate user and key without a scope are the failed requests (Chromium logs every 4xx answer).
    errors = [error for error in browser.console_errors()
              if not ("/api/v1/users" in error and "409" in error or "/api/v1/keys" in error and "422" in error)]
    assert errors == [], errors
