"""Logins, sessions, CSRF, rate limits, lockout, bearer tokens and API keys (scope, hall, expiry, revocation)."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from monitor_api.storage.models import ApiKeyRow, UserRow
from monitor_api.storage.types import utcnow
from tests.api.http.world import PASSWORD, World, build_world


@pytest.fixture
def strict_world(sqlite_database_url: str, tmp_path: Path) -> Iterator[World]:
    built = build_world(sqlite_database_url, tmp_path / "data", login_ip_limit=8, login_user_limit=5,
                        lockout_failures=3, lockout_minutes=10)
    yield built
    built.stop()


def test_cookie_session_needs_the_csrf_token_on_unsafe_requests(sqlite_world: World) -> None:
    with sqlite_world.client() as client:
        login = client.post("/api/v1/auth/login", json={"username": "supervisor_a", "password": PASSWORD})
        assert login.status_code == 200, login.text
        cookie = login.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        csrf = login.json()["csrf_token"]
        assert login.json()["user"]["halls"] == ["hall-a"]
        me = client.get("/api/v1/auth/me")
        assert me.status_code == 200 and me.json()["csrf_token"] == csrf  # a reloaded page can recover it
        assert client.post("/api/v1/incidents/inc-a1/acknowledge").status_code == 403
        assert client.post("/api/v1/incidents/inc-a1/acknowledge",
                           headers={"X-CSRF-Token": csrf[:-2] + "xx"}).status_code == 403
        assert client.post("/api/v1/incidents/inc-a1/acknowledge", headers={"X-CSRF-Token": csrf}).status_code == 200
        session_cookie = client.cookies["cw_session"]
        assert client.post("/api/v1/auth/logout").status_code == 403  # logout is unsafe too
        assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        client.cookies.set("cw_session", session_cookie)  # a stolen copy of the cookie is dead as well
        assert client.get("/api/v1/auth/me").status_code == 401


def test_bearer_tokens_need_no_csrf_and_die_on_logout_and_password_change(sqlite_world: World) -> None:
    with sqlite_world.client() as client:
        token = sqlite_world.token("supervisor_a", fresh=True)
        bearer = {"Authorization": f"Bearer {token}"}
        assert client.post("/api/v1/incidents/inc-a1/acknowledge", headers=bearer).status_code == 200
        assert client.get("/api/v1/auth/me", headers=bearer).json()["csrf_token"] is None
        assert client.post("/api/v1/auth/logout", headers=bearer).status_code == 204
        assert client.get("/api/v1/auth/me", headers=bearer).status_code == 401
        tampered = {"Authorization": f"Bearer {sqlite_world.token('supervisor_a', fresh=True)[:-3]}abc"}
        assert client.get("/api/v1/auth/me", headers=tampered).status_code == 401

        token = sqlite_world.token("auditor", fresh=True)
        admin = sqlite_world.headers("admin")
        changed = client.patch(f"/api/v1/users/{sqlite_world.ids['auditor']}", headers=admin,
                               json={"password": "another long password"})
        assert changed.status_code == 200, changed.text
        assert client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
        manager2 = sqlite_world.headers("manager2")
        deactivated = client.patch(f"/api/v1/users/{sqlite_world.ids['manager2']}", headers=admin,
                                   json={"active": False})
        assert deactivated.status_code == 200
        assert client.get("/api/v1/auth/me", headers=manager2).status_code == 401


def test_login_errors_are_generic_and_rate_limited_per_username(strict_world: World) -> None:
    with strict_world.client() as client:
        unknown = client.post("/api/v1/auth/login", json={"username": "nobody", "password": "x" * 12})
        wrong = client.post("/api/v1/auth/login", json={"username": "supervisor_a", "password": "x" * 12})
        assert unknown.status_code == wrong.status_code == 401
        assert unknown.json()["detail"] == wrong.json()["detail"] == "invalid username or password"
        for _ in range(5):
            assert client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD}
                               ).status_code == 200
        limited = client.post("/api/v1/auth/login", json={"username": "manager", "password": PASSWORD})
        assert limited.status_code == 429
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["content-type"].startswith("application/problem+json")


def test_login_rate_limited_per_client_ip(strict_world: World) -> None:
    with strict_world.client() as client:
        statuses = [client.post("/api/v1/auth/token", json={"username": f"user{i}", "password": "x" * 12}).status_code
                    for i in range(9)]
    assert statuses[:8] == [401] * 8 and statuses[8] == 429


def test_lockout_after_repeated_failures_until_an_admin_unlocks(strict_world: World) -> None:
    admin = strict_world.headers("admin")  # a token taken before the failures
    with strict_world.client() as client:
        for _ in range(3):
            assert client.post("/api/v1/auth/login", json={"username": "auditor", "password": "wrong password"}
                               ).status_code == 401
        locked = client.post("/api/v1/auth/login", json={"username": "auditor", "password": PASSWORD})
        assert locked.status_code == 401 and locked.json()["detail"] == "invalid username or password"
        with strict_world.services.database.read() as session:
            user = session.get(UserRow, strict_world.ids["auditor"])
            assert user is not None and user.locked_until is not None and user.locked_until > utcnow()
        audit = client.get("/api/v1/audit", headers=admin, params={"action": "user.locked"}).json()["items"]
        assert [entry["object_id"] for entry in audit] == [str(strict_world.ids["auditor"])]
        assert client.patch(f"/api/v1/users/{strict_world.ids['auditor']}", headers=admin,
                            json={"unlock": True}).status_code == 200
        assert client.post("/api/v1/auth/login", json={"username": "auditor", "password": PASSWORD}
                           ).status_code == 200


def test_api_keys_are_scoped_hall_bound_expiring_and_revocable(sqlite_world: World) -> None:
    world = sqlite_world
    with world.client() as client:
        incidents_key = world.keys["key_incidents"]
        assert client.get("/api/v1/incidents/inc-a1", headers={"X-API-Key": incidents_key}).status_code == 200
        as_bearer = {"Authorization": f"Bearer {incidents_key}"}
        assert client.get("/api/v1/incidents/inc-a1", headers=as_bearer).status_code == 200
        assert client.get("/api/v1/incidents/inc-b1", headers=as_bearer).status_code == 403  # hall A key
        assert client.get("/api/v1/incidents/inc-a1/snapshot", headers=as_bearer).status_code == 403  # no evidence
        assert client.post("/api/v1/windows/w01/pause", headers=as_bearer).status_code == 403  # wrong scope
        assert client.get("/api/v1/incidents", headers={"X-API-Key": incidents_key + "x"}).status_code == 401

        created = client.post("/api/v1/keys", headers=world.headers("admin"),
                              json={"name": "appraisal system", "scopes": ["appraisal:read"], "expires_days": 1})
        assert created.status_code == 201
        key, key_id = created.json()["key"], created.json()["id"]
        assert key.startswith("cwk_") and created.json()["prefix"] == key[:12]
        with world.services.database.read() as session:
            row = session.get(ApiKeyRow, key_id)
            assert row is not None and key not in row.key_hash  # stored as a hash only
        listed = client.get("/api/v1/keys", headers=world.headers("admin")).json()
        assert all("key" not in entry for entry in listed)
        summary = {"since": "2026-01-01T00:00:00Z", "until": "2026-06-01T00:00:00Z"}
        got = client.get("/api/v1/appraisal/summary", headers={"X-API-Key": key}, params=summary)
        assert got.status_code == 200 and got.json()["staff"][0]["confirmed"] == 1
        assert client.post(f"/api/v1/keys/{key_id}/revoke", headers=world.headers("admin")).status_code == 200
        assert client.get("/api/v1/appraisal/summary", headers={"X-API-Key": key}, params=summary).status_code == 401

        with world.services.database.write() as session:
            row = session.get(ApiKeyRow, world.ids["key_incidents"])
            assert row is not None
            row.expires_at = utcnow() - timedelta(seconds=1)
        assert client.get("/api/v1/incidents", headers={"X-API-Key": incidents_key}).status_code == 401
        exports = client.get("/api/v1/audit", headers=world.headers("auditor"),
                             params={"action": "export.appraisal"}).json()["items"]
        assert [entry["actor_type"] for entry in exports] == ["api_key"]


def test_admin_manages_users_but_does_not_review(sqlite_world: World) -> None:
    admin = sqlite_world.headers("admin")
    with sqlite_world.client() as client:
        made = client.post("/api/v1/users", headers=admin, json={
            "username": "sup-c", "password": "long enough password", "role": "supervisor", "halls": ["hall-b"]})
        assert made.status_code == 201 and made.json()["halls"] == ["hall-b"]
        assert "password" not in made.text
        duplicate = client.post("/api/v1/users", headers=admin, json={
            "username": "sup-c", "password": "long enough password", "role": "auditor"})
        assert duplicate.status_code == 409
        unknown_hall = client.post("/api/v1/users", headers=admin, json={
            "username": "sup-d", "password": "long enough password", "role": "supervisor", "halls": ["hall-z"]})
        assert unknown_hall.status_code == 422 and unknown_hall.json()["errors"][0]["field"] == "body.halls"
        short = client.post("/api/v1/users", headers=admin, json={
            "username": "sup-e", "password": "short", "role": "auditor"})
        assert short.status_code == 422 and short.json()["errors"][0]["field"] == "body.password"
        assert client.post("/api/v1/incidents/inc-a1/review", headers=admin, json={
            "decision": "confirm", "reason_code": "confirmed_as_detected"}).status_code == 403
