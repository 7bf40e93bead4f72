"""Complaints, the appraisal endpoint and the signed webhook over real HTTP against a real database."""
from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor_api.storage.models import AuditLogRow, WebhookDeliveryRow
from tests.api.http.appraisal_helpers import SECRET, Receiver, running_receiver, served_scores, staff_entry
from tests.api.http.world import World, build_world


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """Answers 500 twice, then 200: the first delivery is retried."""
    yield from running_receiver(failures=2)


@pytest.fixture
def hooked_world(sqlite_database_url: str, tmp_path: Path, receiver: Receiver) -> Iterator[World]:
    built = build_world(sqlite_database_url, tmp_path / "data", appraisal_webhook_url=receiver.url,
                        appraisal_webhook_secret=SECRET, webhook_backoff_s=0.05, webhook_poll_s=0.05,
                        webhook_period_close=False)
    yield built
    built.stop()


def test_webhook_signed_retried_once_logically_and_same_numbers_as_the_endpoint(hooked_world: World,
                                                                                 receiver: Receiver) -> None:
    world = hooked_world
    with world.client() as client:
        response = client.post("/api/v1/incidents/inc-a1/review", headers=world.headers("manager"),
                               json={"decision": "confirm", "reason_code": "confirmed_as_detected"})
    assert response.status_code == 200, response.text
    receiver.wait_for(3)
    time.sleep(0.3)  # nothing more may arrive
    assert len(receiver.requests) == 3
    assert all(request["valid"] for request in receiver.requests)
    assert len({request["key"] for request in receiver.requests}) == 1  # one logical delivery
    assert len({request["body"] for request in receiver.requests}) == 1
    with world.services.database.read() as session:
        rows = list(session.scalars(select(WebhookDeliveryRow)))
    assert [(row.status, row.attempts, row.last_status_code) for row in rows] == [("delivered", 3, 200)]
    body = json.loads(receiver.requests[0]["body"])
    assert body["event"] == "scores.changed" and body["delivery_id"] == receiver.requests[0]["key"]
    assert body["trigger"] == {"kind": "review", "incident_id": "inc-a1", "decision": "confirm"}
    pushed = {document["period"]: document for document in body["periods"]}
    assert set(pushed) == {"2026-03", "2026"}
    served = served_scores(world, "2026-03")["halls"][0]
    assert pushed["2026-03"] == served  # the webhook and the endpoint serve the same numbers
    s001 = staff_entry(served, "s001")
    assert sorted(d["id"] for d in s001["deductions"]) == ["inc-a1", "inc-a3"]
    assert s001["score"] == 100 - s001["deducted"] and s001["deducted"] > 0
    assert any(flag["name"] == "escalation" for flag in s001["flags"])


def test_an_upheld_appeal_recomputes_the_served_scores(sqlite_world: World) -> None:
    world = sqlite_world
    before = staff_entry(served_scores(world, "2026-03", "manager")["halls"][0], "s001")
    assert [d["id"] for d in before["deductions"]] == ["inc-a3"]
    with world.client() as client:
        response = client.post(f"/api/v1/appeals/{world.ids['appeal']}/decision", headers=world.headers("manager2"),
                               json={"decision": "upheld", "note": "the clip shows a citizen"})
    assert response.status_code == 200, response.text
    after = staff_entry(served_scores(world, "2026-03", "manager")["halls"][0], "s001")
    assert (after["deductions"], after["score"], after["flags"]) == ([], 100, [])
    assert staff_entry(served_scores(world, "2026", "manager")["halls"][0], "s001")["score"] == 100


def test_the_scores_endpoint_needs_the_appraisal_scope(sqlite_world: World) -> None:
    with sqlite_world.client() as client:
        for principal, expected in (("key_incidents", 403), ("supervisor_a", 403), ("anonymous", 401)):
            response = client.get("/api/v1/appraisal/scores", params={"period": "2026-03"},
                                  headers=sqlite_world.headers(principal))
            assert response.status_code == expected, (principal, response.text)
        response = client.get("/api/v1/appraisal/scores", params={"period": "2026-3"},
                              headers=sqlite_world.headers("key_appraisal"))
        assert response.status_code == 422


def test_complaint_intake_accept_reject_resolve_reply_and_upheld_counted(world: World) -> None:
    supervisor, manager = world.headers("supervisor_a"), world.headers("manager")
    with world.client() as client:
        valid = client.post("/api/v1/complaints", headers=supervisor, json={
            "hall_id": "hall-a", "channel": "in_person", "summary": "玩手机不理人", "staff_id": "s001",
            "window_id": "w01", "incident_ids": ["inc-a1"], "received_at": "2026-03-03T02:00:00Z"})
        assert valid.status_code == 201, valid.text
        anonymous = client.post("/api/v1/complaints", headers=manager, json={
            "hall_id": "hall-a", "channel": "phone", "summary": "", "received_at": "2026-03-03T03:00:00Z"})
        assert anonymous.status_code == 201 and anonymous.json()["complainant_name"] is None
        invalid_id, valid_id = anonymous.json()["id"], valid.json()["id"]
        assert client.post(f"/api/v1/complaints/{invalid_id}/accept", headers=manager).status_code == 422
        rejected = client.post(f"/api/v1/complaints/{invalid_id}/reject", headers=manager,
                               json={"reason": "no subject and no target"})
        assert rejected.json()["status"] == "rejected"
        assert client.post(f"/api/v1/complaints/{valid_id}/accept", headers=supervisor).status_code == 403
        assert client.post(f"/api/v1/complaints/{valid_id}/accept", headers=manager).json()["status"] == "accepted"
        supervising = client.post(f"/api/v1/complaints/{valid_id}/resolve", headers=manager, json={
            "resolution": "supervision", "supervision_opinion": "窗口负责人督办", "deadline": "2026-03-10T09:00:00Z"})
        assert supervising.json()["status"] == "supervising", supervising.text
        no_score = staff_entry(served_scores(world, "2026-03", "manager")["halls"][0], "s001")
        assert all(d["source"] != "complaint" for d in no_score["deductions"])
        resolved = client.post(f"/api/v1/complaints/{valid_id}/resolve", headers=manager,
                               json={"resolution": "supervision", "outcome": "upheld"})
        assert resolved.json()["status"] == "resolved" and resolved.json()["incident_ids"] == ["inc-a1"]
        replied = client.post(f"/api/v1/complaints/{valid_id}/reply", headers=manager,
                              json={"text": "已责成书面检查"})
        assert replied.json()["reply"] == "已责成书面检查"
        assert client.get(f"/api/v1/complaints/{valid_id}", headers=world.headers("supervisor_b")).status_code == 403
        listed = client.get("/api/v1/complaints", headers=supervisor, params={"hall": "hall-a"}).json()
        assert {item["id"] for item in listed} >= {valid_id, invalid_id}
    s001 = staff_entry(served_scores(world, "2026-03", "manager")["halls"][0], "s001")
    assert [d["id"] for d in s001["deductions"] if d["source"] == "complaint"] == [str(valid_id)]
    with world.services.database.read() as session:
        actions = set(session.scalars(select(AuditLogRow.action).where(AuditLogRow.object_type == "complaint")))
    assert {"complaint.file", "complaint.accept", "complaint.reject", "complaint.resolve",
            "complaint.reply"} <= actions


def test_staff_see_their_own_scores_and_nobody_elses(sqlite_world: World) -> None:
    world = sqlite_world
    served = staff_entry(served_scores(world, "2026-03", "manager")["halls"][0], "s001")
    with world.client() as client:
        mine = client.get("/api/v1/appraisal/mine", params={"period": "2026-03"}, headers=world.headers("staff_s001"))
        assert mine.status_code == 200, mine.text
        document = mine.json()
        assert document["staff_id"] == "s001" and document["hall_id"] == "hall-a"
        assert (document["score"], document["deductions"], document["flags"]) == (
            served["score"], served["deductions"], served["flags"])
        assert [d["id"] for d in document["deductions"]] == ["inc-a3"]
        unlinked = client.get("/api/v1/appraisal/mine", params={"period": "2026-03"},
                              headers=world.headers("supervisor_a"))
        assert unlinked.status_code == 404
        anonymous = client.get("/api/v1/appraisal/mine", params={"period": "2026-03"},
                               headers=world.headers("anonymous"))
        assert anonymous.status_code == 401
