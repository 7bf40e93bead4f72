"""The admin pages over HTTP, against the real app and database: an admin's login lands on the admin home (not the
wall, whose data an admin may not read), the pages for users, API keys, the audit log and hall settings render
what the API answers, and every other role gets 403 on them."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx

from tests.api.http.world import PASSWORD, World


@contextmanager
def _logged_in(world: World, username: str) -> Iterator[httpx.Client]:
    """A browser-like client: the session cookie of `username`, redirects not followed."""
    with httpx.Client(base_url=world.base_url, timeout=10.0, follow_redirects=False) as client:
        response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client


def test_an_admin_lands_on_the_admin_home_not_an_error_page(sqlite_world: World) -> None:
    with _logged_in(sqlite_world, "admin") as admin:
        assert admin.get("/").headers["location"] == "/admin"
        landing = admin.get("/dashboard")  # where the login page sends everyone who did not ask for a page
        assert landing.status_code == 303 and landing.headers["location"] == "/admin"
        home = admin.get("/admin")
        assert home.status_code == 200, home.text
        assert "出错了" not in home.text and "您无权查看该告警" not in home.text
        assert _nav_links(home.text) == ["/admin", "/admin/users", "/admin/keys", "/admin/audit", "/admin/halls",
                                         "/cameras"]
        assert '<a href="/admin" aria-current="page">系统管理</a>' in home.text
        assert "共 9 个账号" in home.text and "5 个有效密钥" in home.text
        recent = _table(home.text, "recent-audit")
        assert "创建接口密钥" in recent and "系统（test）" in recent
        assert admin.get("/cameras").status_code == 200  # camera health stays open to admins


ADMIN_PAGES = ("/admin", "/admin/users", "/admin/users/1", "/admin/keys", "/admin/audit", "/admin/halls")


def _nav_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="topbar__nav"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(1))


def _table(page: str, table_id: str) -> str:
    found = re.search(rf'<table class="table admin-table" id="{table_id}">(.*?)</table>', page, re.S)
    assert found is not None, table_id
    return found.group(1)


def _rows(table: str, attribute: str) -> dict[str, str]:
    return dict(re.findall(rf'<tr {attribute}="([^"]+)"[^>]*>(.*?)</tr>', table, re.S))


def test_only_admins_may_open_the_admin_pages(sqlite_world: World) -> None:
    with httpx.Client(base_url=sqlite_world.base_url, timeout=10.0, follow_redirects=False) as anonymous:
        for path in ADMIN_PAGES:
            response = anonymous.get(path)
            assert response.status_code == 303, path
            assert response.headers["location"].startswith("/login?next="), path
    for username in ("supervisor_a", "manager", "auditor", "staff_s001"):
        with _logged_in(sqlite_world, username) as client:
            for path in ADMIN_PAGES:
                if username == "auditor" and path == "/admin/audit":
                    continue  # the auditor's own page (below)
                response = client.get(path)
                assert response.status_code == 403, (username, path, response.status_code)
                assert "该页面仅限系统管理员访问。" in response.text and 'id="users"' not in response.text
            if username != "auditor":
                links = _nav_links(client.get("/dashboard" if username != "staff_s001" else "/me").text)
                assert not [link for link in links if link.startswith("/admin")], (username, links)


def test_an_auditor_lands_on_the_audit_log_and_reads_it(sqlite_world: World) -> None:
    with _logged_in(sqlite_world, "auditor") as auditor:
        assert auditor.get("/").headers["location"] == "/admin/audit"
        landing = auditor.get("/dashboard")
        assert landing.status_code == 303 and landing.headers["location"] == "/admin/audit"
        page = auditor.get("/admin/audit")
        assert page.status_code == 200, page.text
        assert "出错了" not in page.text and _nav_links(page.text) == ["/admin/audit"]
        assert "创建接口密钥" in page.text  # the entries the log holds, as the API lets an auditor read them


def test_the_users_pages_show_the_accounts_and_offer_every_change_the_api_supports(sqlite_world: World) -> None:
    world = sqlite_world
    with world.client() as client:
        assert client.patch(f"/api/v1/users/{world.ids['manager2']}", headers=world.headers("admin"),
                            json={"active": False}).status_code == 200
    with _logged_in(world, "admin") as admin:
        page = admin.get("/admin/users").text
        rows = _rows(_table(page, "users"), "data-username")
        assert set(rows) == {"supervisor_a", "supervisor_b", "manager", "manager2", "admin", "auditor", "staff_s001",
                             "staff_s002", "someone"}
        assert "大厅管理人员" in rows["supervisor_a"] and "演示大厅" in rows["supervisor_a"]
        assert "全部大厅" in rows["manager"] and "已停用" in rows["manager2"]
        assert "演示大厅 · s001 张伟" in rows["staff_s001"] and "仅本人记录" in rows["staff_s001"]
        assert f'href="/admin/users/{world.ids["supervisor_a"]}"' in rows["supervisor_a"]
        form = re.search(r'<form class="admin-form form" id="create-user".*?</form>', page, re.S).group(0)
        assert 'data-action="/api/v1/users"' in form and 'data-method="POST"' in form
        for role in ("supervisor", "manager", "staff", "auditor", "admin"):
            assert f'<option value="{role}">' in form, role
        assert 'value="hall-a" data-type="list"' in form and 'value="hall-b" data-type="list"' in form
        assert 'data-hall="hall-a" data-staff="s002"' in form and "乙大厅 · s001" in form
        assert world.token("admin") not in page and "csrf" not in page.lower().replace("x-csrf", "")

        one = admin.get(f"/admin/users/{world.ids['supervisor_a']}").text
        for form_id in ("name-form", "role-form", "staff-form", "password-form", "deactivate-form"):
            assert f'id="{form_id}" data-action="/api/v1/users/{world.ids["supervisor_a"]}" data-method="PATCH"' in one
        assert 'value="hall-a" data-type="list" checked' in one and 'value="hall-b" data-type="list">' in one
        assert '<option value="supervisor" selected>' in one
        inactive = admin.get(f"/admin/users/{world.ids['manager2']}").text
        assert 'id="reactivate-form"' in inactive and 'id="deactivate-form"' not in inactive
        own = admin.get(f"/admin/users/{world.ids['admin']}").text
        assert 'id="deactivate-form"' not in own and "不能更改自己的角色" in own
        linked = admin.get(f"/admin/users/{world.ids['staff_s001']}").text
        assert re.search(r'data-hall="hall-a" data-staff="s001" selected', linked)
        missing = admin.get("/admin/users/999999")
        assert missing.status_code == 404 and "该用户不存在。" in missing.text

        english = admin.get("/admin/users?lang=en").text
        assert '<html lang="en">' in english and "New user" in english and "Hall supervisor" in english


def test_the_keys_page_lists_keys_and_offers_creation_and_revocation(sqlite_world: World) -> None:
    world = sqlite_world
    with world.client() as client:
        assert client.post(f"/api/v1/keys/{world.ids['key_appraisal']}/revoke",
                           headers=world.headers("admin")).status_code == 200
    with _logged_in(world, "admin") as admin:
        page = admin.get("/admin/keys").text
        rows = _rows(_table(page, "keys"), "data-key-id")
        assert set(rows) == {str(world.ids[name]) for name in ("key_queue", "key_appraisal", "key_incidents",
                                                               "key_metrics", "spare_key")}
        queue = rows[str(world.ids["key_queue"])]
        assert "叫号系统：暂停/恢复窗口" in queue and "演示大厅" in queue and "有效" in queue
        assert f'data-action="/api/v1/keys/{world.ids["key_queue"]}/revoke"' in queue
        revoked = rows[str(world.ids["key_appraisal"])]
        assert "已吊销" in revoked and "revoke" not in revoked
        assert "即将到期" in rows[str(world.ids["spare_key"])]
        for key in world.keys.values():  # cwk_<prefix>_<secret>: the prefix tells keys apart, the secret never shows
            prefix, secret = key[:12], key[13:]
            assert f"<code>{prefix}…</code>" in page and secret not in page
        assert 'id="create-key" data-action="/api/v1/keys" data-method="POST" data-reveal="key"' in page


def _seed_audit(world: World, count: int) -> None:
    from monitor_api.storage import Actor, record_audit

    with world.services.database.write() as session:
        for index in range(count):
            record_audit(session, Actor.user(world.ids["manager"]), "export.appraisal", "export", f"seed-{index}",
                         hall_id="hall-a", details={"rows": index})


def test_the_audit_page_filters_by_user_action_and_date_and_pages(sqlite_world: World) -> None:
    world = sqlite_world
    _seed_audit(world, 60)
    with _logged_in(world, "admin") as admin:
        page = admin.get("/admin/audit").text
        rows = _rows(_table(page, "audit"), "data-action")
        assert page.count("<tr data-action=") == 50
        older = re.search(r'href="([^"]+)" id="audit-next"', page).group(1)
        assert "cursor=" in older
        second = admin.get(older.replace("&amp;", "&")).text
        assert 'id="audit-first"' in second and second.count("<tr data-action=") > 10
        assert "export.appraisal" in rows

        mine = admin.get("/admin/audit", params={"actor": f"user:{world.ids['admin']}"}).text
        assert set(re.findall(r'<tr data-action="([^"]+)"', mine)) == {"auth.login"}  # the admin only logged in
        theirs = admin.get("/admin/audit", params={
            "actor": f"user:{world.ids['manager']}", "action": "export.appraisal", "hall": "hall-a"}).text
        assert theirs.count('<tr data-action="export.appraisal"') == 50 and "导出考核数据" in theirs
        assert '<option value="export.appraisal" selected>' in theirs
        assert re.search(r'<td>manager</td><td>导出考核数据</td><td>导出 seed-59</td>\s*<td>演示大厅</td>'
                         r'<td class="admin-details">rows: 59</td>', theirs)
        future = admin.get("/admin/audit", params={"since": "2999-01-01"}).text
        assert 'id="audit-empty"' in future
        today = admin.get("/admin/audit", params={"action": "api_key.create", "until": "2000-01-01"}).text
        assert 'id="audit-empty"' in today
        bad = admin.get("/admin/audit", params={"since": "yesterday"})
        assert bad.status_code == 200 and "日期格式无效" in bad.text
        wrong = admin.get("/admin/audit", params={"actor": "user:" + "9" * 200})
        assert wrong.status_code == 200 and "筛选条件无效" in wrong.text and "Traceback" not in wrong.text


def test_the_halls_page_shows_the_hall_config(sqlite_world: World) -> None:
    with _logged_in(sqlite_world, "admin") as admin:
        page = admin.get("/admin/halls").text
        assert 'id="hall-select"' in page and "演示大厅" in page and "Asia/Shanghai" in page
        windows = _rows(_table(page, "hall-windows"), "data-window-id")
        assert set(windows) == {"w01", "w02"} and "1号窗口" in windows["w01"] and "不动产登记" in windows["w01"]
        cameras = _rows(_table(page, "hall-cameras"), "data-camera-id")
        assert "rtsp://10.0.0.5:554/stream1" in cameras["cam1"] and "1号窗口、2号窗口" in cameras["cam1"]
        staff = _rows(_table(page, "hall-staff"), "data-staff-id")
        assert "张伟" in staff["s001"] and "staff_s001" in staff["s001"]
        assert "secret" not in page
        other = admin.get("/admin/halls", params={"hall": "hall-b"}).text
        assert "乙大厅" in other and "staff_s001" not in _table(other, "hall-staff")
        assert "Hall settings" in admin.get("/admin/halls?lang=en").text
