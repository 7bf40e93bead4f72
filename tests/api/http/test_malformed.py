"""Malformed input: oversized bodies, bad JSON, absurd limits, unknown ids, naive times. Always 4xx problem+json."""
from __future__ import annotations

from collections.abc import Iterator

from tests.api.http.world import World

PROBLEM = "application/problem+json"


def _problem(response, status: int) -> dict:
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    assert body["status"] == status and body["title"]
    return body


def test_oversized_bodies_are_refused_with_413(sqlite_world: World) -> None:
    cap = sqlite_world.services.settings.max_body_bytes
    headers = sqlite_world.headers("manager")

    def chunks() -> Iterator[bytes]:  # no Content-Length: the cap must count the streamed body
        yield b'{"reason": "'
        for _ in range(cap // 1024 + 2):
            yield b"x" * 1024
        yield b'"}'

    with sqlite_world.client() as client:
        declared = client.post("/api/v1/incidents/inc-a3/appeals", headers=headers,
                               json={"reason": "x" * (cap + 10)})
        _problem(declared, 413)
        streamed = client.post("/api/v1/incidents/inc-a3/appeals", content=chunks(),
                               headers={**headers, "Content-Type": "application/json"})
        _problem(streamed, 413)
        login = client.post("/api/v1/auth/login", content=b"{" + b" " * (cap + 1) + b"}",
                            headers={"Content-Type": "application/json"})
        _problem(login, 413)


def test_bad_json_and_bad_fields_name_the_problem(sqlite_world: World) -> None:
    headers = sqlite_world.headers("supervisor_a")
    with sqlite_world.client() as client:
        broken = client.post("/api/v1/incidents/inc-a1/review", content=b'{"decision": ',
                             headers={**headers, "Content-Type": "application/json"})
        assert _problem(broken, 422)["errors"]
        wrong_type = client.post("/api/v1/incidents/inc-a1/review", headers=headers, json=["confirm"])
        _problem(wrong_type, 422)
        extra = client.post("/api/v1/incidents/inc-a1/review", headers=headers,
                            json={"decision": "confirm", "reason_code": "confirmed_as_detected", "score": 3})
        assert "body.score" in [error["field"] for error in _problem(extra, 422)["errors"]]
        login = client.post("/api/v1/auth/login", content=b"not json", headers={"Content-Type": "application/json"})
        _problem(login, 422)


def test_bounded_limits_cursors_and_times(sqlite_world: World) -> None:
    headers = sqlite_world.headers("manager")
    with sqlite_world.client() as client:
        for limit in (10**9, 0, -1, 201, "many"):
            body = _problem(client.get("/api/v1/incidents", headers=headers, params={"limit": limit}), 422)
            assert body["errors"][0]["field"] == "query.limit"
        assert client.get("/api/v1/incidents", headers=headers, params={"limit": 200}).status_code == 200
        body = _problem(client.get("/api/v1/incidents", headers=headers, params={"cursor": "not-a-cursor"}), 422)
        assert body["errors"][0]["field"] == "query.cursor"
        naive = client.get("/api/v1/incidents", headers=headers, params={"since": "2026-03-02T01:30:00"})
        assert _problem(naive, 422)["errors"][0]["field"] == "query.since"
        _problem(client.get("/api/v1/audit", headers=sqlite_world.headers("auditor"), params={"limit": 10**9}), 422)


def test_unknown_ids_and_paths(sqlite_world: World) -> None:
    with sqlite_world.client() as client:
        manager = sqlite_world.headers("manager")
        _problem(client.get("/api/v1/incidents/no-such-incident", headers=manager), 404)
        _problem(client.get(f"/api/v1/incidents/{'x' * 5000}", headers=manager), 404)
        _problem(client.post("/api/v1/appeals/999999/decision", headers=manager, json={"decision": "upheld"}), 404)
        _problem(client.post("/api/v1/appeals/0/decision", headers=manager, json={"decision": "upheld"}), 422)
        # A supervisor learns nothing about ids outside their halls: unknown and other-hall ids look the same.
        supervisor = sqlite_world.headers("supervisor_a")
        unknown = _problem(client.get("/api/v1/incidents/no-such-incident", headers=supervisor), 403)
        other_hall = _problem(client.get("/api/v1/incidents/inc-b1", headers=supervisor), 403)
        assert unknown["detail"] == other_hall["detail"]
        _problem(client.patch("/api/v1/users/999999", headers=sqlite_world.headers("admin"), json={}), 404)
        _problem(client.post("/api/v1/keys/999999/revoke", headers=sqlite_world.headers("admin")), 404)
        _problem(client.post("/api/v1/windows/w99/pause", headers={"X-API-Key": sqlite_world.keys["key_queue"]}),
                 404)
        _problem(client.get("/api/v1/nothing-here"), 404)
        _problem(client.delete("/api/v1/incidents"), 405)
        _problem(client.get("/api/v1/incidents", headers={"Authorization": "Basic dXNlcjpwYXNz"}), 401)
