"""What the admin pages needed from the API, over HTTP against the real app on SQLite and PostgreSQL: an account's
link to its staff member changed and removed (audited, checked against the hall config), a supervisor never left
without a hall, and a hall's settings (windows, cameras, staff) for admins."""
from __future__ import annotations

import httpx

from tests.api.http.world import World


def _patch(world: World, client: httpx.Client, username: str, body: dict) -> httpx.Response:
    return client.patch(f"/api/v1/users/{world.ids[username]}", headers=world.headers("admin"), json=body)


def _fields(response: httpx.Response) -> list[str]:
    return [error["field"] for error in response.json().get("errors") or ()]


def test_an_admin_links_an_account_to_a_staff_member_and_removes_the_link(world: World) -> None:
    with world.client() as client:
        linked = _patch(world, client, "manager", {"staff_hall_id": "hall-a", "staff_id": "s002"})
        assert linked.status_code == 200, linked.text
        assert (linked.json()["staff_hall_id"], linked.json()["staff_id"]) == ("hall-a", "s002")
        me = client.get("/api/v1/auth/me", headers=world.headers("manager")).json()["user"]
        assert (me["staff_hall_id"], me["staff_id"]) == ("hall-a", "s002")
        again = _patch(world, client, "manager", {"staff_hall_id": "hall-a", "staff_id": "s002"})
        assert again.status_code == 200, again.text  # unchanged: no second audit entry (below)

        # A staff account moves to another staff member's record (a typo fixed, a person's second account).
        moved = _patch(world, client, "staff_s002", {"staff_hall_id": "hall-a", "staff_id": "s001"})
        assert moved.status_code == 200 and moved.json()["staff_id"] == "s001", moved.text

        unlinked = _patch(world, client, "manager", {"unlink_staff": True})
        assert unlinked.status_code == 200, unlinked.text
        assert (unlinked.json()["staff_hall_id"], unlinked.json()["staff_id"]) == (None, None)

        entries = client.get("/api/v1/audit", headers=world.headers("admin"),
                             params={"action": "user.staff", "object_id": str(world.ids["manager"])}).json()["items"]
        assert [entry["details"] for entry in entries] == [
            {"staff_hall_id": None, "staff_id": None}, {"staff_hall_id": "hall-a", "staff_id": "s002"}]
        assert all(entry["actor_id"] == str(world.ids["admin"]) for entry in entries)


def test_a_staff_link_is_checked_against_the_hall_config_and_the_role(world: World) -> None:
    with world.client() as client:
        unknown = _patch(world, client, "manager", {"staff_hall_id": "hall-a", "staff_id": "s999"})
        assert unknown.status_code == 422 and _fields(unknown) == ["body.staff_id"], unknown.text
        other_hall = _patch(world, client, "manager", {"staff_hall_id": "hall-z", "staff_id": "s001"})
        assert other_hall.status_code == 422 and _fields(other_hall) == ["body.staff_id"], other_hall.text
        half = _patch(world, client, "manager", {"staff_id": "s001"})
        assert half.status_code == 422 and _fields(half) == ["body.staff_id"], half.text
        both = _patch(world, client, "manager", {"staff_hall_id": "hall-a", "staff_id": "s001", "unlink_staff": True})
        assert both.status_code == 422 and _fields(both) == ["body.unlink_staff"], both.text
        # A staff account without its staff member would see nothing: refused, and nothing changed.
        orphaned = _patch(world, client, "staff_s001", {"unlink_staff": True, "display_name": "张伟"})
        assert orphaned.status_code == 422 and _fields(orphaned) == ["body.staff_id"], orphaned.text
        staff = client.get("/api/v1/users", headers=world.headers("admin")).json()
        row = next(user for user in staff if user["username"] == "staff_s001")
        assert (row["staff_id"], row["display_name"]) == ("s001", "")
        # Becoming window staff and getting the link in one request is fine.
        became = _patch(world, client, "auditor", {"role": "staff", "staff_hall_id": "hall-a", "staff_id": "s002"})
        assert became.status_code == 200 and became.json()["role"] == "staff", became.text
        assert client.get("/api/v1/audit", headers=world.headers("auditor")).status_code == 403


def test_a_supervisor_is_never_left_without_a_hall(world: World) -> None:
    with world.client() as client:
        emptied = _patch(world, client, "supervisor_a", {"halls": []})
        assert emptied.status_code == 422 and _fields(emptied) == ["body.halls"], emptied.text
        promoted = _patch(world, client, "auditor", {"role": "supervisor"})
        assert promoted.status_code == 422 and _fields(promoted) == ["body.halls"], promoted.text
        with_hall = _patch(world, client, "auditor", {"role": "supervisor", "halls": ["hall-b"]})
        assert with_hall.status_code == 200 and with_hall.json()["halls"] == ["hall-b"], with_hall.text
        back = _patch(world, client, "auditor", {"role": "auditor"})
        assert back.status_code == 200 and back.json()["halls"] == [], back.text
        assert _patch(world, client, "supervisor_a", {"display_name": "甲主管"}).status_code == 200


def test_an_admin_reads_a_halls_settings(world: World) -> None:
    with world.client() as client:
        response = client.get("/api/v1/halls/hall-a/settings", headers=world.headers("admin"))
        assert response.status_code == 200, response.text
        hall = response.json()
        assert (hall["id"], hall["name"], hall["timezone"], hall["served_here"]) == (
            "hall-a", "演示大厅", "Asia/Shanghai", True)
        assert [(w["id"], w["name"], w["department"], w["pause_marker_id"], w["active"]) for w in hall["windows"]] == [
            ("w01", "1号窗口", "不动产登记", 1, True), ("w02", "2号窗口", "社保医保", 2, True)]
        assert hall["cameras"] == [{"id": "cam1", "source": "rtsp://10.0.0.5:554/stream1", "windows": ["w01", "w02"],
                                    "active": True}]
        assert "secret" not in response.text  # the camera's password stays in the config file
        assert [(s["id"], s["name"]) for s in hall["staff"]] == [("s001", "张伟"), ("s002", "李娜")]
        missing = client.get("/api/v1/halls/hall-z/settings", headers=world.headers("admin"))
        assert missing.status_code == 404 and missing.headers["content-type"] == "application/problem+json"
        for caller in ("manager", "auditor", "supervisor_a", "key_metrics"):
            refused = client.get("/api/v1/halls/hall-a/settings", headers=world.headers(caller))
            assert refused.status_code == 403, (caller, refused.status_code)
