"""The staff role over HTTP, against the real app and database: window staff see their own record (their incidents,
the evidence of those, their scores) and appeal their own confirmed incidents, and nothing else: not other staff
members' incidents, the live wall or feed, reviews, reports, complaints, cameras or the labelling queue. Their pages
offer only their own record and appeals, show window names, and are where a login lands."""
from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
from click.testing import CliRunner

from tests.api.http.world import PASSWORD, World

REVIEW = {"decision": "confirm", "reason_code": "confirmed_as_detected"}


def _confirm(world: World, client: httpx.Client, incident_id: str) -> None:
    response = client.post(f"/api/v1/incidents/{incident_id}/review", headers=world.headers("supervisor_a"),
                           json=REVIEW)
    assert response.status_code == 200, response.text


def test_window_staff_see_and_appeal_their_own_record_and_nothing_else(world: World) -> None:
    staff = world.headers("staff_s001")
    with world.client() as client:
        me = client.get("/api/v1/auth/me", headers=staff).json()["user"]
        assert (me["role"], me["halls"], me["staff_hall_id"], me["staff_id"]) == ("staff", [], "hall-a", "s001")
        assert [hall["id"] for hall in client.get("/api/v1/halls", headers=staff).json()] == ["hall-a"]

        listed = client.get("/api/v1/incidents", headers=staff).json()["items"]
        assert [(item["id"], item["window_name"]) for item in listed] == [("inc-a3", "1号窗口"), ("inc-a1", "1号窗口")]
        assert client.get("/api/v1/incidents", headers=staff, params={"hall": "hall-a", "staff": "s002"}
                          ).json()["items"] == []
        assert client.get("/api/v1/incidents", headers=staff, params={"hall": "hall-b"}).status_code == 403
        own = client.get("/api/v1/incidents/inc-a1", headers=staff)
        assert own.status_code == 200 and own.json()["window_name"] == "1号窗口"
        assert client.get("/api/v1/incidents/inc-a1/snapshot", headers=staff).status_code == 200
        for other in ("inc-a2", "inc-b1"):  # s002's incident; s001 of hall B is another person
            assert client.get(f"/api/v1/incidents/{other}", headers=staff).status_code == 403, other
            assert client.get(f"/api/v1/incidents/{other}/snapshot", headers=staff).status_code == 403, other

        _confirm(world, client, "inc-a1")
        _confirm(world, client, "inc-a2")
        appeal = client.post("/api/v1/incidents/inc-a1/appeals", headers=staff,
                             json={"reason": "我当时在为群众复印材料"})
        assert appeal.status_code == 201, appeal.text
        assert appeal.json()["filed_by"] == world.ids["staff_s001"]
        refused = client.post("/api/v1/incidents/inc-a2/appeals", headers=staff, json={"reason": "not mine"})
        assert refused.status_code == 403, refused.text
        assert client.get("/api/v1/appraisal/mine", headers=staff, params={"period": "2026-01"}).status_code == 200

        for method, path, params in (
                ("POST", "/api/v1/incidents/inc-a3/acknowledge", {}), ("POST", "/api/v1/incidents/inc-a3/review", {}),
                ("GET", "/api/v1/appeals", {}), ("GET", "/api/v1/windows", {"hall": "hall-a"}),
                ("GET", "/api/v1/events/stream", {}), ("GET", "/api/v1/cameras", {}),
                ("GET", "/api/v1/reports", {"hall": "hall-a", "period": "2026-11"}),
                ("GET", "/api/v1/complaints", {}), ("GET", "/api/v1/labelling/queue", {"hall": "hall-a"}),
                ("GET", "/api/v1/appraisal/scores", {"period": "2026-01"}), ("GET", "/api/v1/users", {})):
            body = REVIEW if path.endswith("/review") else None
            response = client.request(method, path, headers=staff, params=params, json=body)
            assert response.status_code == 403, (method, path, response.status_code)


def test_a_staff_account_needs_its_staff_member(sqlite_world: World) -> None:
    admin = sqlite_world.headers("admin")
    with sqlite_world.client() as client:
        unlinked = client.post("/api/v1/users", headers=admin, json={
            "username": "wang", "password": "long enough password", "role": "staff"})
        assert unlinked.status_code == 422 and unlinked.json()["errors"][0]["field"] == "body.staff_id"
        with_halls = client.post("/api/v1/users", headers=admin, json={
            "username": "wang", "password": "long enough password", "role": "staff", "halls": ["hall-a"],
            "staff_hall_id": "hall-a", "staff_id": "s002"})
        assert with_halls.status_code == 422, with_halls.text
        linked = client.post("/api/v1/users", headers=admin, json={
            "username": "lina", "password": "long enough password", "role": "staff", "staff_hall_id": "hall-a",
            "staff_id": "s002"})
        assert linked.status_code == 201, linked.text
        demoted = client.patch(f"/api/v1/users/{sqlite_world.ids['auditor']}", headers=admin, json={"role": "staff"})
        assert demoted.status_code == 422, demoted.text  # the auditor is no staff member
        hall_less = client.post("/api/v1/users", headers=admin, json={
            "username": "zhao", "password": "long enough password", "role": "supervisor", "staff_hall_id": "hall-a",
            "staff_id": "s002"})
        assert hall_less.status_code == 422, "window staff get the staff role, not a supervisor's without halls"


@contextmanager
def _logged_in(world: World, username: str) -> Iterator[httpx.Client]:
    """A browser-like client: the session cookie of `username`, redirects not followed."""
    with httpx.Client(base_url=world.base_url, timeout=10.0, follow_redirects=False) as client:
        response = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
        assert response.status_code == 200, response.text
        yield client


def _nav_links(page: str) -> list[str]:
    nav = re.search(r'<nav class="topbar__nav"[^>]*>(.*?)</nav>', page, re.S)
    assert nav is not None
    return re.findall(r'href="([^"]+)"', nav.group(1))


def test_staff_pages_offer_only_their_record_and_appeals(sqlite_world: World) -> None:
    with sqlite_world.client() as client:
        _confirm(sqlite_world, client, "inc-a1")
    with _logged_in(sqlite_world, "staff_s001") as staff:
        assert staff.get("/").headers["location"] == "/me"
        assert staff.get("/dashboard").headers["location"] == "/me"  # where the login page sends everyone
        page = staff.get("/me")
        assert page.status_code == 200
        assert _nav_links(page.text) == ["/me", "/me#appeals"]
        assert "窗口工作人员" in page.text
        table = re.search(r'<table class="table" id="me-incidents">(.*?)</table>', page.text, re.S).group(1)
        assert "<th>处理状态</th>" in table and "名称" not in table
        assert table.count("<td>1号窗口</td>") == 2 and "w01" not in table
        appeals = re.search(r'<table class="table" id="me-appeals">(.*?)</table>', page.text, re.S).group(1)
        states = re.findall(r'<tr data-appeal-state="(\w+)">.*?href="/incidents/([\w-]+)"', appeals, re.S)
        assert states == [("pending", "inc-a3"), ("open", "inc-a1")]  # the confirmed ones, newest first
        assert "申诉待裁定" in appeals and "未申诉" in appeals and "w01" not in appeals
        with sqlite_world.client() as client:
            decided = client.post(f"/api/v1/appeals/{sqlite_world.ids['appeal']}/decision",
                                  headers=sqlite_world.headers("manager"), json={"decision": "rejected"})
            assert decided.status_code == 200, decided.text
        assert 'data-appeal-state="rejected"' in staff.get("/me").text  # decided against: may appeal again
        incident = staff.get("/incidents/inc-a1").text
        assert 'id="appeal-form"' in incident and 'id="review-form"' not in incident
        assert '<a href="/me">' in incident and _nav_links(incident) == ["/me", "/me#appeals"]
    with _logged_in(sqlite_world, "supervisor_a") as supervisor:
        assert supervisor.get("/").headers["location"] == "/dashboard"
        links = _nav_links(supervisor.get("/dashboard").text)
        assert "/dashboard" in links and "/me#appeals" not in links


def test_cli_adds_a_staff_account_linked_to_its_staff_member(tmp_path) -> None:
    from counterwatch.cli import main as cli
    from tests.api.storage.helpers import HALL_YAML

    config = tmp_path / "hall.yaml"
    config.write_text(HALL_YAML.replace("sqlite:///var/counterwatch.db", f"sqlite:///{tmp_path / 'db.sqlite'}"),
                      encoding="utf-8")
    runner = CliRunner()
    base = ["users", "add", "zhangwei", "--role", "staff", "--password-stdin", "--config", str(config)]
    unlinked = runner.invoke(cli, base, input="long enough pass\n")
    assert unlinked.exit_code == 2 and "--staff-id" in unlinked.output
    unknown = runner.invoke(cli, [*base, "--staff-id", "s999"], input="long enough pass\n")
    assert unknown.exit_code == 2 and "staff" in unknown.output
    added = runner.invoke(cli, [*base, "--staff-id", "s001", "--hall", "hall-a"], input="long enough pass\n")
    assert added.exit_code == 0, added.output
    listed = runner.invoke(cli, ["users", "list", "--config", str(config)]).output
    line = next(line for line in listed.splitlines() if "zhangwei" in line)
    assert "staff" in line and "staff=hall-a/s001" in line and "halls=*" not in line
