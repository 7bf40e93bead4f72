"""No one acts on an incident or complaint about themselves: a supervisor or manager linked to the staff member an
incident names can neither acknowledge it nor decide its appeal (403, as for review), a manager linked to the staff
member a complaint names can neither accept, reject, resolve nor answer it, while all act on other people's."""
from __future__ import annotations

from monitor_api.accounts import add_user
from monitor_api.storage import Actor
from monitor_api.storage.models import Role
from tests.api.http.world import PASSWORD, World

REVIEW = {"decision": "confirm", "reason_code": "confirmed_as_detected"}


def _linked_users(world: World) -> None:
    """supervisor_s001 (hall A) and manager_s001: both are hall A's staff member s001."""
    with world.services.database.write() as session:
        for name, role, halls in (("supervisor_s001", Role.SUPERVISOR, ["hall-a"]),
                                  ("manager_s001", Role.MANAGER, [])):
            user = add_user(session, world.services.passwords, Actor.system("test"), username=name,
                            password=PASSWORD, role=role, halls=halls, staff=("hall-a", "s001"))
            world.ids[name] = user.id


def test_a_supervisor_cannot_acknowledge_an_incident_about_themselves(world: World) -> None:
    _linked_users(world)
    supervisor = world.headers("supervisor_s001")
    with world.client() as client:
        own = client.post("/api/v1/incidents/inc-a1/acknowledge", headers=supervisor)  # inc-a1 names s001
        assert own.status_code == 403, own.text
        assert "yourself" in own.json()["detail"]
        assert client.get("/api/v1/incidents/inc-a1", headers=supervisor).json()["review_state"] == "pending"
        assert client.post("/api/v1/incidents/inc-a1/review", headers=supervisor, json=REVIEW).status_code == 403

        other = client.post("/api/v1/incidents/inc-a2/acknowledge", headers=supervisor)  # s002's incident
        assert other.status_code == 200, other.text
        assert other.json()["acknowledged_by"] == world.ids["supervisor_s001"]
        # Someone else acknowledges s001's incident.
        assert client.post("/api/v1/incidents/inc-a1/acknowledge",
                           headers=world.headers("supervisor_a")).status_code == 200


def test_a_manager_cannot_decide_the_appeal_of_an_incident_about_themselves(world: World) -> None:
    _linked_users(world)
    linked, manager, manager2 = (world.headers(name) for name in ("manager_s001", "manager", "manager2"))
    appeal_id = world.ids["appeal"]  # inc-a3: s001's confirmed incident, appealed by s001
    decision = {"decision": "upheld", "note": "cleared"}
    with world.client() as client:
        own = client.post(f"/api/v1/appeals/{appeal_id}/decision", headers=linked, json=decision)
        assert own.status_code == 403, own.text
        assert "yourself" in own.json()["detail"]
        after = client.get("/api/v1/incidents/inc-a3", headers=manager).json()
        assert after["review_state"] == "confirmed" and after["appeals"][0]["decision"] is None

        # The linked manager still decides appeals about other people: s002 (hall A), and hall B's s001, a
        # different person with the same staff id.
        for incident_id in ("inc-a2", "inc-b1"):
            assert client.post(f"/api/v1/incidents/{incident_id}/review", headers=manager,
                               json=REVIEW).status_code == 200
            filed = client.post(f"/api/v1/incidents/{incident_id}/appeals", headers=manager2,
                                json={"reason": "check the clip again"})
            assert filed.status_code == 201, filed.text
            decided = client.post(f"/api/v1/appeals/{filed.json()['id']}/decision", headers=linked,
                                  json={"decision": "rejected"})
            assert decided.status_code == 200, decided.text
            assert decided.json()["decided_by"] == world.ids["manager_s001"]

        # A manager not linked to s001 decides s001's appeal.
        decided = client.post(f"/api/v1/appeals/{appeal_id}/decision", headers=manager2, json=decision)
        assert decided.status_code == 200, decided.text


def test_a_manager_cannot_handle_a_complaint_about_themselves(world: World) -> None:
    _linked_users(world)
    linked, manager = world.headers("manager_s001"), world.headers("manager")
    about_s001 = world.ids["complaint"]  # hall A's s001, open
    with world.client() as client:
        for action, body in (("accept", None), ("reject", {"reason": "not a real complaint"}),
                             ("resolve", {"resolution": "on_spot", "outcome": "not_upheld"}),
                             ("reply", {"text": "投诉不成立"})):
            own = client.post(f"/api/v1/complaints/{about_s001}/{action}", headers=linked, json=body)
            assert own.status_code == 403, (action, own.text)
            assert "yourself" in own.json()["detail"]
        untouched = client.get(f"/api/v1/complaints/{about_s001}", headers=manager).json()
        assert (untouched["status"], untouched["outcome"], untouched["reply"]) == ("received", None, None)

        # The linked manager still handles complaints about other people: s002 (hall A), and hall B's s001, a
        # different person with the same staff id.
        for hall_id, staff_id in (("hall-a", "s002"), ("hall-b", "s001")):
            filed = client.post("/api/v1/complaints", headers=manager, json={
                "hall_id": hall_id, "channel": "phone", "summary": "态度差", "staff_id": staff_id})
            assert filed.status_code == 201, filed.text
            accepted = client.post(f"/api/v1/complaints/{filed.json()['id']}/accept", headers=linked)
            assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
            resolved = client.post(f"/api/v1/complaints/{filed.json()['id']}/resolve", headers=linked,
                                   json={"resolution": "on_spot", "outcome": "upheld"})
            assert resolved.status_code == 200, resolved.text

        # A manager not linked to s001 handles the complaint about s001.
        accepted = client.post(f"/api/v1/complaints/{about_s001}/accept", headers=manager)
        assert accepted.status_code == 200 and accepted.json()["status"] == "accepted", accepted.text
        # Once accepted, the linked manager still cannot decide its outcome.
        own = client.post(f"/api/v1/complaints/{about_s001}/resolve", headers=linked,
                          json={"resolution": "on_spot", "outcome": "not_upheld"})
        assert own.status_code == 403, own.text
        resolved = client.post(f"/api/v1/complaints/{about_s001}/resolve", headers=manager,
                               json={"resolution": "on_spot", "outcome": "upheld"})
        assert resolved.status_code == 200 and resolved.json()["outcome"] == "upheld", resolved.text
