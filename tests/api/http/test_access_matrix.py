"""The access matrix: every route of the app x every kind of caller, each route actually called.

Generated from `app.routes`: a route without a declared policy fails, and so does a route missing from EXPECTED
below (the specification of who may do what). "Allowed" means the answer is neither 401 nor 403 (a business answer
such as 409 still shows the caller got past the access checks); anonymous callers must get 401, everybody else not
allowed 403. Objects are in hall A; supervisor_b must be refused (403) for all of them. The incidents, evidence and
appeal are staff member s001's: staff_s001 (role staff) may read them and appeal, staff_s002 (role staff) may not.
"""
from __future__ import annotations

from datetime import UTC, datetime

import httpx
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from monitor_api.auth.policy import app_routes, route_policy
from tests.api.http.label_samples import seed_sample
from tests.api.http.world import KEYS, USERS, World

ALL = frozenset({"anonymous", *USERS, *KEYS})
USERS_ALL = frozenset(USERS)
SUP_A, SUP_B, MGR, MGR2, ADMIN, AUDITOR, STAFF = ("supervisor_a", "supervisor_b", "manager", "manager2", "admin",
                                                  "auditor", "staff_s001")
OTHER_STAFF = "staff_s002"  # role staff too, in hall A, but not the staff member the incidents name
MANAGERS = frozenset({MGR, MGR2})

# (method, path template) -> who is allowed. Hall-A objects: supervisor_b is never allowed on them.
EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): ALL,
    ("GET", "/readyz"): ALL,  # anonymous callers get only ready / not ready (tests/api/http/test_ops_endpoints.py)
    ("GET", "/metrics"): frozenset({ADMIN, "key_metrics"}),
    ("GET", "/api/v1/openapi.json"): ALL,
    ("GET", "/api/v1/docs"): ALL,
    ("POST", "/api/v1/auth/login"): ALL,
    ("POST", "/api/v1/auth/token"): ALL,
    ("POST", "/api/v1/auth/logout"): USERS_ALL,
    ("GET", "/api/v1/auth/me"): USERS_ALL,
    ("GET", "/api/v1/halls"): USERS_ALL,
    ("GET", "/api/v1/halls/{hall_id}/settings"): frozenset({ADMIN}),
    ("GET", "/api/v1/incidents"): frozenset({SUP_A, SUP_B, *MANAGERS, AUDITOR, STAFF, OTHER_STAFF, "key_incidents"}),
    ("GET", "/api/v1/incidents/{incident_id}"): frozenset({SUP_A, *MANAGERS, AUDITOR, STAFF, "key_incidents"}),
    ("POST", "/api/v1/incidents/{incident_id}/acknowledge"): frozenset({SUP_A, *MANAGERS}),
    ("POST", "/api/v1/incidents/{incident_id}/review"): frozenset({SUP_A, *MANAGERS}),
    ("GET", "/api/v1/incidents/{incident_id}/snapshot"): frozenset({SUP_A, *MANAGERS, STAFF}),
    ("GET", "/api/v1/incidents/{incident_id}/clip"): frozenset({SUP_A, *MANAGERS, STAFF}),
    ("GET", "/api/v1/incidents/{incident_id}/evidence/{evidence_id}"): frozenset({SUP_A, *MANAGERS, STAFF}),
    ("POST", "/api/v1/incidents/{incident_id}/appeals"): frozenset({*MANAGERS, STAFF}),
    ("POST", "/api/v1/appeals/{appeal_id}/decision"): MANAGERS,
    ("GET", "/api/v1/appeals"): frozenset({*MANAGERS, AUDITOR}),
    ("GET", "/api/v1/windows"): frozenset({SUP_A, *MANAGERS}),
    ("POST", "/api/v1/windows/{window_id}/pause"): frozenset({"key_queue"}),
    ("POST", "/api/v1/windows/{window_id}/resume"): frozenset({"key_queue"}),
    # staff_s001 (role staff) sees their own record only: no cameras, no live feed, no complaints, no labelling.
    ("GET", "/api/v1/cameras"): frozenset({SUP_A, SUP_B, *MANAGERS, ADMIN}),
    ("GET", "/api/v1/events/stream"): frozenset({SUP_A, SUP_B, *MANAGERS}),
    ("WS", "/api/v1/events/ws"): frozenset({SUP_A, SUP_B, *MANAGERS}),
    ("GET", "/api/v1/audit"): frozenset({AUDITOR, ADMIN}),
    ("GET", "/api/v1/users"): frozenset({ADMIN}),
    ("POST", "/api/v1/users"): frozenset({ADMIN}),
    ("PATCH", "/api/v1/users/{user_id}"): frozenset({ADMIN}),
    ("GET", "/api/v1/keys"): frozenset({ADMIN}),
    ("POST", "/api/v1/keys"): frozenset({ADMIN}),
    ("POST", "/api/v1/keys/{key_id}/revoke"): frozenset({ADMIN}),
    ("GET", "/api/v1/appraisal/summary"): frozenset({*MANAGERS, "key_appraisal"}),
    ("GET", "/api/v1/appraisal/scores"): frozenset({*MANAGERS, "key_appraisal"}),
    ("GET", "/api/v1/appraisal/mine"): USERS_ALL,  # users without a staff record get 404, not 403
    # Complaints: supervisors of the hall and managers file and view; managers decide.
    ("POST", "/api/v1/complaints"): frozenset({SUP_A, *MANAGERS}),
    ("GET", "/api/v1/complaints"): frozenset({SUP_A, SUP_B, *MANAGERS}),
    ("GET", "/api/v1/complaints/{complaint_id}"): frozenset({SUP_A, *MANAGERS}),
    ("POST", "/api/v1/complaints/{complaint_id}/accept"): MANAGERS,
    ("POST", "/api/v1/complaints/{complaint_id}/reject"): MANAGERS,
    ("POST", "/api/v1/complaints/{complaint_id}/resolve"): MANAGERS,
    ("POST", "/api/v1/complaints/{complaint_id}/reply"): MANAGERS,
    ("GET", "/api/v1/reports"): frozenset({SUP_A, *MANAGERS}),
    # The labelling queue: supervisors of the hall and managers; never auditors, staff or keys.
    ("GET", "/api/v1/labelling/queue"): frozenset({SUP_A, *MANAGERS}),
    ("GET", "/api/v1/labelling/stats"): frozenset({SUP_A, *MANAGERS}),
    ("GET", "/api/v1/labelling/samples/{sample_id}"): frozenset({SUP_A, *MANAGERS}),
    ("GET", "/api/v1/labelling/samples/{sample_id}/image"): frozenset({SUP_A, *MANAGERS}),
    ("POST", "/api/v1/labelling/samples/{sample_id}/label"): frozenset({SUP_A, *MANAGERS}),
}


def _app_routes(world: World) -> dict[tuple[str, str], object]:
    routes: dict[tuple[str, str], object] = {}
    for method, path, route in app_routes(world.app.routes):
        if getattr(route.endpoint, "__module__", "").startswith("monitor_api.dashboard"):
            continue  # the dashboard's pages have their own tests (tests/dashboard)
        routes[(method, path)] = route
    return routes


def _request(world: World, client: httpx.Client, method: str, template: str, principal: str, serial: int) -> int:
    ids = world.ids
    path = template.format(incident_id="inc-a1", evidence_id=ids["evidence_a1"], appeal_id=ids["appeal"],
                           window_id="w01", user_id=ids["someone"], key_id=ids["spare_key"],
                           complaint_id=ids["complaint"], sample_id=ids["label_sample"], hall_id="hall-a")
    params: dict[str, str] = {}
    body: dict | None = None
    if template.endswith("/appeals"):
        path = path.replace("inc-a1", "inc-a3")
        body = {"reason": "I was serving a citizen"}
    elif template.endswith("/review"):
        body = {"decision": "confirm", "reason_code": "confirmed_as_detected"}
    elif template.endswith("/decision"):
        body = {"decision": "rejected", "note": "clip shows the phone"}
    elif template in ("/api/v1/auth/login", "/api/v1/auth/token"):
        body = {"username": "someone", "password": "correct horse battery"}
    elif template == "/api/v1/users" and method == "POST":
        body = {"username": f"new{serial}", "password": "a long enough pw", "role": "auditor"}
    elif template == "/api/v1/users/{user_id}":
        body = {"display_name": "x"}
    elif template == "/api/v1/keys" and method == "POST":
        body = {"name": "k", "scopes": ["incidents:read"]}
    elif template.startswith("/api/v1/windows"):
        params["hall"] = "hall-a"
    elif template == "/api/v1/complaints" and method == "POST":
        body = {"hall_id": "hall-a", "channel": "phone", "summary": "rude", "staff_id": "s001"}
    elif template.endswith("/reject"):
        body = {"reason": "no subject"}
    elif template.endswith("/resolve"):
        body = {"resolution": "on_spot", "outcome": "not_upheld"}
    elif template.endswith("/reply"):
        body = {"text": "we looked into it"}
    elif template in ("/api/v1/appraisal/scores", "/api/v1/appraisal/mine"):
        params["period"] = "2026-01"
    elif template == "/api/v1/appraisal/summary":
        params.update(since="2026-01-01T00:00:00Z", until="2026-12-31T00:00:00Z")
    elif template == "/api/v1/reports":
        params.update(hall="hall-a", period="2026-11", format="csv")
    elif template in ("/api/v1/labelling/queue", "/api/v1/labelling/stats"):
        params["hall"] = "hall-a"
    elif template.endswith("/label"):
        body = {"label": "none"}
    headers = world.headers(principal, fresh=template == "/api/v1/auth/logout")
    if method == "WS":
        url = world.base_url.replace("http://", "ws://") + path
        try:
            with connect(url, additional_headers=headers, open_timeout=5) as websocket:
                websocket.recv(timeout=5)  # the hello message
                return 101
        except InvalidStatus as refused:
            return refused.response.status_code
    if template.endswith("/stream"):
        with client.stream("GET", path, headers=headers) as response:
            return response.status_code
    response = client.request(method, path, headers=headers, params=params, json=body)
    client.cookies.clear()  # a login sets the session cookie: the next caller must not inherit it
    assert response.status_code < 500, (method, path, principal, response.text)
    return response.status_code


def test_every_route_declares_a_policy_and_is_in_the_matrix(sqlite_world: World) -> None:
    routes = _app_routes(sqlite_world)
    undeclared = sorted(f"{method} {path}" for (method, path), route in routes.items() if route_policy(route) is None)
    assert not undeclared, f"routes without a declared policy: {undeclared}"
    assert sorted(set(routes) - set(EXPECTED)) == [], "routes missing from the access matrix"
    assert sorted(set(EXPECTED) - set(routes)) == [], "matrix rows for routes that do not exist"


def _seed_label_sample(world: World) -> None:
    """A frame in hall A's labelling queue, with its image on disk."""
    settings = world.services.settings
    world.ids["label_sample"], _ = seed_sample(world.services.database, settings.data_dir, "hall-a", "cam1", "w01",
                                               datetime(2026, 3, 2, 2, 0, tzinfo=UTC), 0.9)


def test_access_matrix(world: World) -> None:
    _seed_label_sample(world)
    routes = _app_routes(world)
    failures = []
    serial = 0
    client = world.client()
    for (method, template) in sorted(routes, key=lambda key: (key[1], key[0])):
        allowed = EXPECTED[(method, template)]
        for principal in world.principals:
            serial += 1
            status = _request(world, client, method, template, principal, serial)
            if principal in allowed:
                ok = status not in (401, 403)
            elif method == "WS":
                ok = status == 403  # a refused WebSocket handshake is always 403
            else:
                ok = status == (401 if principal == "anonymous" else 403)
            if not ok:
                failures.append(f"{method} {template} as {principal}: {status} "
                                f"({'allowed' if principal in allowed else 'denied'} expected)")
    client.close()
    assert not failures, "\n".join(failures)
