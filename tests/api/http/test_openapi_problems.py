"""The published OpenAPI document (fetched over HTTP) lists the problems each operation answers, as
application/problem+json with the Problem schema, and carries the rules a schema can carry: a 409 or 400 the API
returns is documented for that operation and the answer matches the document; a report period such as 0000 and an
on-the-spot resolution without an outcome are refused by the schema itself; the rules it cannot carry (until after
since) are named in the 422's description."""
from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs

from tests.api.http.world import World

PROBLEM = "application/problem+json"
CONFLICTS = {  # operations that answer 409: the state change was already made, or is not allowed in this state
    ("post", "/api/v1/incidents/{incident_id}/acknowledge"),
    ("post", "/api/v1/incidents/{incident_id}/review"),
    ("post", "/api/v1/incidents/{incident_id}/appeals"),
    ("post", "/api/v1/appeals/{appeal_id}/decision"),
    ("post", "/api/v1/complaints/{complaint_id}/accept"),
    ("post", "/api/v1/complaints/{complaint_id}/reject"),
    ("post", "/api/v1/complaints/{complaint_id}/resolve"),
    ("post", "/api/v1/complaints/{complaint_id}/reply"),
    ("post", "/api/v1/labelling/samples/{sample_id}/label"),
    ("post", "/api/v1/users"),
    ("patch", "/api/v1/users/{user_id}"),
}
GONE = {("get", "/api/v1/incidents/{incident_id}/snapshot"), ("get", "/api/v1/incidents/{incident_id}/clip"),
        ("get", "/api/v1/incidents/{incident_id}/evidence/{evidence_id}"),
        ("get", "/api/v1/labelling/samples/{sample_id}/image")}
NOT_PROBLEMS = {("get", "/readyz", "503")}  # a Readiness document, not a problem
REVIEW = {"decision": "confirm", "reason_code": "confirmed_as_detected", "note": ""}


def _document(world: World) -> dict[str, Any]:
    with world.client() as client:
        response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200, response.text
    return response.json()


def _operations(document: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(method, path): operation for path, item in document["paths"].items()
            for method, operation in item.items()}


def _validator(document: dict[str, Any], schema: dict[str, Any]) -> Any:
    return jsonschema_rs.validator_for({**schema, "components": document["components"]})


def _assert_documented(document: dict[str, Any], method: str, path: str, response: httpx.Response) -> None:
    """`response` is a problem document whose status the operation documents, and it validates against the schema
    the document gives for it."""
    documented = _operations(document)[(method, path)]["responses"]
    status = str(response.status_code)
    assert status in documented, f"{method.upper()} {path} answered {status}, documents {sorted(documented)}"
    assert response.headers["content-type"] == PROBLEM
    schema = documented[status]["content"][PROBLEM]["schema"]
    body = response.json()
    assert _validator(document, schema).is_valid(body), body
    assert body["status"] == response.status_code and body["detail"]


def test_every_problem_an_operation_answers_is_documented_as_problem_json(sqlite_world: World) -> None:
    document = _document(sqlite_world)
    operations = _operations(document)
    missing: list[str] = []
    for (method, path), operation in operations.items():
        responses = operation["responses"]
        wanted = {"409"} if (method, path) in CONFLICTS else set()
        wanted |= {"410"} if (method, path) in GONE else set()
        wanted |= {"400"} if "requestBody" in operation else set()  # a body that is not UTF-8 JSON
        missing += [f"{method.upper()} {path}: {status}" for status in sorted(wanted - set(responses))]
        for status, response in responses.items():
            if status[0] in "45" and status != "416" and (method, path, status) not in NOT_PROBLEMS:
                schema = response.get("content", {}).get(PROBLEM, {}).get("schema")
                if schema != {"$ref": "#/components/schemas/Problem"}:
                    missing.append(f"{method.upper()} {path}: {status} without the Problem schema as {PROBLEM}")
    assert not missing, "\n".join(missing)
    assert {"400", "401", "403", "404", "409", "413", "422", "429"} <= set(
        operations[("post", "/api/v1/incidents/{incident_id}/review")]["responses"])
    assert "503" in operations[("get", "/api/v1/reports")]["responses"]  # the PDF font is missing


def test_the_schema_carries_the_rules_it_can_and_names_the_others(sqlite_world: World) -> None:
    world = sqlite_world
    document = _document(world)
    operations = _operations(document)
    report = operations[("get", "/api/v1/reports")]
    (period,) = [parameter["schema"] for parameter in report["parameters"] if parameter["name"] == "period"]
    for refused in ("0000", "2026-00", "2026-13", "2026-11-32", "2026-W54", "2026-W00", "26-11"):
        assert not re.search(period["pattern"], refused), refused
    for accepted in ("2026", "2026-11", "2026-11-03", "2026-W45", "1970-01-01"):
        assert re.search(period["pattern"], accepted), accepted

    resolve = operations[("post", "/api/v1/complaints/{complaint_id}/resolve")]
    body = _validator(document, resolve["requestBody"]["content"]["application/json"]["schema"])
    assert not body.is_valid({"resolution": "on_spot"})
    assert body.is_valid({"resolution": "on_spot", "outcome": "upheld"})
    assert body.is_valid({"resolution": "supervision", "supervision_opinion": "retrain", "deadline":
                          "2026-12-01T00:00:00+08:00"})

    summary = operations[("get", "/api/v1/appraisal/summary")]
    assert "until" in summary["responses"]["422"]["description"]
    manager = world.headers("manager")
    with world.client() as client:
        zero = client.get("/api/v1/reports", headers=manager, params={"hall": "hall-a", "period": "0000"})
        _assert_documented(document, "get", "/api/v1/reports", zero)
        assert zero.status_code == 422 and [error["field"] for error in zero.json()["errors"]] == ["query.period"]
        backwards = client.get("/api/v1/appraisal/summary", headers=manager,
                               params={"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"})
        _assert_documented(document, "get", "/api/v1/appraisal/summary", backwards)
        assert backwards.status_code == 422 and "until" in backwards.json()["detail"]
        complaint = world.ids["complaint"]
        assert client.post(f"/api/v1/complaints/{complaint}/accept", headers=manager).status_code == 200
        no_outcome = client.post(f"/api/v1/complaints/{complaint}/resolve", headers=manager,
                                 json={"resolution": "on_spot"})
        _assert_documented(document, "post", "/api/v1/complaints/{complaint_id}/resolve", no_outcome)
        assert no_outcome.status_code == 422
        assert [error["field"] for error in no_outcome.json()["errors"]] == ["body.on_spot.outcome"]


def test_conflicts_and_malformed_bodies_answer_as_documented(world: World) -> None:
    document = _document(world)
    review = "/api/v1/incidents/{incident_id}/review"
    decision = "/api/v1/appeals/{appeal_id}/decision"
    with world.client() as client:
        first = client.post("/api/v1/incidents/inc-a1/review", headers=world.headers("supervisor_a"), json=REVIEW)
        assert first.status_code == 200, first.text
        again = client.post("/api/v1/incidents/inc-a1/review", headers=world.headers("manager"), json=REVIEW)
        assert again.status_code == 409, again.text
        _assert_documented(document, "post", review, again)

        appeal = world.ids["appeal"]  # inc-a3: confirmed by supervisor_a, appealed by staff_s001
        body = {"decision": "rejected", "note": "the clip shows it"}
        decided = client.post(f"/api/v1/appeals/{appeal}/decision", headers=world.headers("manager"), json=body)
        assert decided.status_code == 200, decided.text
        twice = client.post(f"/api/v1/appeals/{appeal}/decision", headers=world.headers("manager2"), json=body)
        assert twice.status_code == 409, twice.text
        _assert_documented(document, "post", decision, twice)

        existing = client.post("/api/v1/users", headers=world.headers("admin"),
                               json={"username": "manager", "password": "another long password", "role": "manager"})
        assert existing.status_code == 409, existing.text
        _assert_documented(document, "post", "/api/v1/users", existing)

        not_utf8 = client.post("/api/v1/incidents/inc-a2/review", headers={
            **world.headers("supervisor_a"), "content-type": "application/json"},
            content=b'{"decision": "confirm", "note": "\xff"}')
        assert not_utf8.status_code == 400, not_utf8.text
        _assert_documented(document, "post", review, not_utf8)
