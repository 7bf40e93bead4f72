"""Due process over HTTP, on SQLite and PostgreSQL: acknowledge, confirm/dismiss with a reason code, appeal by the
staff member, decision by a second reviewer only; incident lists with filters and cursor pages."""
from __future__ import annotations

from tests.api.http.world import World

REVIEW = {"decision": "confirm", "reason_code": "confirmed_as_detected", "note": "phone visible in the clip"}


def test_acknowledge_confirm_appeal_and_second_reviewer(world: World) -> None:
    sup_a, staff, manager, manager2 = (world.headers(name) for name in ("supervisor_a", "staff_s001", "manager",
                                                                         "manager2"))
    with world.client() as client:
        acknowledged = client.post("/api/v1/incidents/inc-a1/acknowledge", headers=sup_a)
        assert acknowledged.status_code == 200 and acknowledged.json()["review_state"] == "acknowledged"
        assert acknowledged.json()["acknowledged_by"] == world.ids["supervisor_a"]

        bad_reason = client.post("/api/v1/incidents/inc-a1/review", headers=sup_a,
                                 json={"decision": "confirm", "reason_code": "because"})
        assert bad_reason.status_code == 422
        assert any(error["field"] == "body.reason_code" for error in bad_reason.json()["errors"])

        confirmed = client.post("/api/v1/incidents/inc-a1/review", headers=sup_a, json=REVIEW)
        assert confirmed.status_code == 200, confirmed.text
        detail = confirmed.json()
        assert detail["review_state"] == "confirmed"
        assert detail["review"]["reviewer"] == "supervisor_a" and detail["review"]["reason_code"] == REVIEW[
            "reason_code"]
        assert client.post("/api/v1/incidents/inc-a1/review", headers=manager, json=REVIEW).status_code == 409

        # The staff member the incident names appeals; supervisors cannot decide; the first reviewer cannot either.
        appeal = client.post("/api/v1/incidents/inc-a1/appeals", headers=staff, json={"reason": "I was on a call "
                                                                                      "for a citizen"})
        assert appeal.status_code == 201, appeal.text
        appeal_id = appeal.json()["id"]
        assert client.post("/api/v1/incidents/inc-a1/appeals", headers=staff,
                           json={"reason": "again"}).status_code == 409  # one undecided appeal at a time
        decision = {"decision": "upheld", "note": "the call log confirms it"}
        assert client.post(f"/api/v1/appeals/{appeal_id}/decision", headers=sup_a, json=decision).status_code == 403
        decided = client.post(f"/api/v1/appeals/{appeal_id}/decision", headers=manager, json=decision)
        assert decided.status_code == 200, decided.text
        assert decided.json()["decided_by"] == world.ids["manager"]
        assert client.post(f"/api/v1/appeals/{appeal_id}/decision", headers=manager2,
                           json=decision).status_code == 409
        after = client.get("/api/v1/incidents/inc-a1", headers=staff).json()
        assert after["review_state"] == "dismissed"  # upheld: it no longer counts
        assert after["appeals"][0]["decision"] == "upheld"

        # An appeal decided by the person who confirmed the incident is refused, as is one by its appellant.
        assert client.post("/api/v1/incidents/inc-a2/review", headers=manager, json=REVIEW).status_code == 200
        second = client.post("/api/v1/incidents/inc-a2/appeals", headers=manager2, json={"reason": "check again"})
        assert second.status_code == 201
        for decider in (manager, manager2):
            refused = client.post(f"/api/v1/appeals/{second.json()['id']}/decision", headers=decider,
                                  json={"decision": "rejected"})
            assert refused.status_code == 403, refused.text
            assert "second reviewer" in refused.json()["detail"] or "filed" in refused.json()["detail"]

        audit = client.get("/api/v1/audit", headers=world.headers("auditor"), params={"object_id": "inc-a1"}).json()
        actions = {entry["action"] for entry in audit["items"]}
        assert {"incident.acknowledge", "incident.confirm"} <= actions


def test_dismiss_needs_a_dismissal_reason_and_staff_cannot_appeal_others(world: World) -> None:
    with world.client() as client:
        dismissed = client.post("/api/v1/incidents/inc-a2/review", headers=world.headers("supervisor_a"),
                                json={"decision": "dismiss", "reason_code": "dismissed_false_detection"})
        assert dismissed.status_code == 200 and dismissed.json()["review_state"] == "dismissed"
        # inc-a2 names s002: s001 can neither see it nor appeal it; a dismissed incident cannot be appealed at all.
        staff = world.headers("staff_s001")
        assert client.get("/api/v1/incidents/inc-a2", headers=staff).status_code == 403
        assert client.post("/api/v1/incidents/inc-a2/appeals", headers=staff, json={"reason": "x"}).status_code == 403
        assert client.post("/api/v1/incidents/inc-a2/appeals", headers=world.headers("manager"),
                           json={"reason": "x"}).status_code == 409


def test_lists_filter_and_page_with_an_opaque_cursor(world: World) -> None:
    with world.client() as client:
        manager = world.headers("manager")
        seen, cursor = [], None
        while True:
            params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
            page = client.get("/api/v1/incidents", headers=manager, params=params).json()
            seen.extend(item["id"] for item in page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                break
        assert seen == ["inc-a3", "inc-a2", "inc-b1", "inc-a1"]  # newest first, each once

        def ids(headers, **params) -> list[str]:
            response = client.get("/api/v1/incidents", headers=headers, params=params)
            assert response.status_code == 200, response.text
            return [item["id"] for item in response.json()["items"]]

        assert ids(manager, hall="hall-b") == ["inc-b1"]
        assert ids(manager, review_state="confirmed") == ["inc-a3"]
        assert ids(manager, state="open") == ["inc-a2"]
        assert ids(manager, window="w02", type="phone_use") == ["inc-a2"]
        assert ids(manager, staff="s001", hall="hall-a") == ["inc-a3", "inc-a1"]
        assert ids(manager, since="2026-03-02T01:30:30+00:00", until="2026-03-02T01:33:00Z") == ["inc-a2", "inc-b1"]
        assert ids(world.headers("supervisor_b")) == ["inc-b1"]
        assert ids(world.headers("staff_s001")) == ["inc-a3", "inc-a1"]  # their own record in hall A only
        assert ids(world.headers("key_incidents")) == ["inc-a3", "inc-a2", "inc-a1"]
        assert client.get("/api/v1/incidents", headers=world.headers("supervisor_a"),
                          params={"hall": "hall-b"}).status_code == 403
