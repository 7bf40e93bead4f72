"""Route policies: every route declares who may call it, as a dependency that also enforces it.

`gate(POLICY)` is a FastAPI dependency that authenticates the caller (cookie + CSRF, bearer token, API key) and
checks the role or key scope; it returns the Principal. Object-level checks (which hall) happen in the endpoint
after each lookup. `route_policy(route)` finds a route's policy by introspection: the access-matrix test fails for
any route without one.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends
from fastapi.routing import APIRoute, APIWebSocketRoute, RouteContext, iter_route_contexts
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from monitor_api.auth.authenticate import authorize
from monitor_api.auth.policies import (  # noqa: F401  (the policies are used through this module)
    ADMIN,
    ADMINISTER,
    ALL_POLICIES,
    ANY_USER,
    APPEAL_DECIDE,
    APPEAL_FILE,
    APPEAL_READ,
    APPRAISAL_READ,
    AUDIT_READ,
    AUDITOR,
    CAMERA_READ,
    COMPLAINT_DECIDE,
    COMPLAINT_FILE,
    EVIDENCE_VIEW,
    INCIDENT_READ,
    INCIDENT_REVIEW,
    LABEL_FRAMES,
    LIVE_FEED,
    MANAGER,
    OPS_READ,
    PUBLIC,
    QUEUE_PAUSE,
    SUPERVISOR,
    WINDOW_READ,
    Policy,
)
from monitor_api.auth.principal import Principal


class PolicyGate:
    """The dependency that enforces a policy. A plain `def`: FastAPI runs it in the thread pool (it reads the
    database), for HTTP and WebSocket routes alike."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, connection: HTTPConnection) -> Principal | None:
        return authorize(connection, self.policy)

    def __repr__(self) -> str:
        return f"PolicyGate({self.policy.name})"


_GATES: dict[str, PolicyGate] = {}


def gate(policy: Policy) -> PolicyGate:
    return _GATES.setdefault(policy.name, PolicyGate(policy))


ROUTE_POLICY_ATTRIBUTE = "counterwatch_policy"


def declare(route: BaseRoute, policy: Policy) -> None:
    """Declare the policy of a route that cannot carry a dependency (the OpenAPI document and docs pages)."""
    setattr(route, ROUTE_POLICY_ATTRIBUTE, policy)


def route_policy(route: BaseRoute | RouteContext) -> Policy | None:
    """The policy a route declares (through its PolicyGate dependency or `declare`), or None."""
    route = route.original_route if isinstance(route, RouteContext) else route
    declared = getattr(route, ROUTE_POLICY_ATTRIBUTE, None)
    if declared is not None:
        return declared
    if not isinstance(route, (APIRoute, APIWebSocketRoute)):
        return None
    found: list[Policy] = []
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        if isinstance(dependant.call, PolicyGate):
            found.append(dependant.call.policy)
        pending.extend(dependant.dependencies)
    if len(found) > 1 and len(set(found)) > 1:
        raise ValueError(f"route {route.path} declares more than one policy: {[p.name for p in found]}")
    return found[0] if found else None


def app_routes(routes: list[BaseRoute]) -> Iterator[tuple[str, str, RouteContext]]:
    """(method or "WS", full path, route) for every route of an app, included routers flattened (FastAPI keeps
    them as lazy _IncludedRouter entries in app.routes)."""
    for context in iter_route_contexts(routes):
        original = context.original_route
        if isinstance(original, APIWebSocketRoute):
            yield "WS", str(context.path), context
            continue
        for method in sorted(context.methods or ()):
            if method != "HEAD":
                yield method, str(context.path), context


# Annotated aliases: `principal: IncidentReader` both declares and enforces the route's policy.
Anyone = Annotated[Principal | None, Depends(gate(PUBLIC))]
AnyUser = Annotated[Principal, Depends(gate(ANY_USER))]
IncidentReader = Annotated[Principal, Depends(gate(INCIDENT_READ))]
EvidenceViewer = Annotated[Principal, Depends(gate(EVIDENCE_VIEW))]
IncidentReviewer = Annotated[Principal, Depends(gate(INCIDENT_REVIEW))]
AppealFiler = Annotated[Principal, Depends(gate(APPEAL_FILE))]
AppealDecider = Annotated[Principal, Depends(gate(APPEAL_DECIDE))]
AppealReader = Annotated[Principal, Depends(gate(APPEAL_READ))]
WindowReader = Annotated[Principal, Depends(gate(WINDOW_READ))]
QueuePauser = Annotated[Principal, Depends(gate(QUEUE_PAUSE))]
CameraReader = Annotated[Principal, Depends(gate(CAMERA_READ))]
LiveSubscriber = Annotated[Principal, Depends(gate(LIVE_FEED))]
AuditReader = Annotated[Principal, Depends(gate(AUDIT_READ))]
Administrator = Annotated[Principal, Depends(gate(ADMINISTER))]
AppraisalReader = Annotated[Principal, Depends(gate(APPRAISAL_READ))]
ComplaintFiler = Annotated[Principal, Depends(gate(COMPLAINT_FILE))]
ComplaintDecider = Annotated[Principal, Depends(gate(COMPLAINT_DECIDE))]
FrameLabeller = Annotated[Principal, Depends(gate(LABEL_FRAMES))]
MetricsReader = Annotated[Principal, Depends(gate(OPS_READ))]
