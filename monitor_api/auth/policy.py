"""Route policies: every route declares who may call it, as a dependency that also enforces it.

`gate(POLICY)` is a FastAPI dependency that authenticates the caller (cookie + CSRF, bearer token, API key) and
checks the role or key scope; it returns the Principal. Object-level checks (which hall) happen in the endpoint
after each lookup. `route_policy(route)` finds a route's policy by introspection: the access-matrix test fails for
any route without one.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends
from fastapi.routing import APIRoute, APIWebSocketRoute, RouteContext, iter_route_contexts
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute

from monitor_api.auth.principal import Principal
from monitor_api.storage.models import Role

SUPERVISOR, MANAGER, ADMIN, AUDITOR = Role.SUPERVISOR, Role.MANAGER, Role.ADMIN, Role.AUDITOR
# Role.STAFF is in no policy's role list: window staff pass the any-user policies (/auth/me, /halls, their own
# scores) and the self_staff ones (their own incidents, the evidence of those, appeals on them), nothing else.


@dataclass(frozen=True)
class Policy:
    name: str
    roles: frozenset[Role] = frozenset()
    scopes: frozenset[str] = frozenset()  # an API key passes with any one of these
    public: bool = False  # no authentication at all
    any_user: bool = False  # every logged-in person, whatever the role
    self_staff: bool = False  # a user linked to a staff record passes; the endpoint narrows to their own record
    description: str = field(default="", compare=False)

    def admits_user(self, role: Role, is_staff: bool) -> bool:
        return self.any_user or role in self.roles or (self.self_staff and is_staff)

    def admits_key(self, scopes: frozenset[str]) -> bool:
        return bool(self.scopes & scopes)


def _policy(name: str, roles: tuple[Role, ...] = (), scopes: tuple[str, ...] = (), **flags: Any) -> Policy:
    return Policy(name, frozenset(roles), frozenset(scopes), **flags)


PUBLIC = _policy("public", public=True, description="no authentication")
ANY_USER = _policy("any-user", any_user=True, description="any logged-in person")
INCIDENT_READ = _policy("incident-read", (SUPERVISOR, MANAGER, AUDITOR), ("incidents:read",), self_staff=True,
                        description="incident metadata: supervisors (own halls), managers, auditors, keys with "
                        "incidents:read, a staff member for their own incidents")
EVIDENCE_VIEW = _policy("evidence-view", (SUPERVISOR, MANAGER), self_staff=True,
                        description="snapshots and clips (audited): supervisors (own halls), managers, the staff "
                        "member the incident names")
INCIDENT_REVIEW = _policy("incident-review", (SUPERVISOR, MANAGER),
                          description="acknowledge, confirm, dismiss: supervisors (own halls), managers")
APPEAL_FILE = _policy("appeal-file", (MANAGER,), self_staff=True,
                      description="file an appeal: a manager or the staff member the incident names")
APPEAL_DECIDE = _policy("appeal-decide", (MANAGER,), description="decide an appeal: a manager who is neither the "
                        "first reviewer nor the appellant")
APPEAL_READ = _policy("appeal-read", (MANAGER, AUDITOR), description="the appeals list")
WINDOW_READ = _policy("window-read", (SUPERVISOR, MANAGER), description="live window status")
QUEUE_PAUSE = _policy("queue-pause", scopes=("queue:pause",), description="queue-calling system: API key with "
                      "queue:pause")
CAMERA_READ = _policy("camera-read", (SUPERVISOR, MANAGER, ADMIN), description="camera health")
LIVE_FEED = _policy("live-feed", (SUPERVISOR, MANAGER), description="live incident/camera/window feed")
AUDIT_READ = _policy("audit-read", (AUDITOR, ADMIN), description="the audit log")
ADMINISTER = _policy("administer", (ADMIN,), description="users and API keys")
APPRAISAL_READ = _policy("appraisal-read", (MANAGER,), ("appraisal:read",),
                         description="confirmed-incident summaries (an export, audited)")
COMPLAINT_FILE = _policy("complaint-file", (SUPERVISOR, MANAGER), description="file and view complaints (投诉): "
                         "supervisors (own halls), managers")
COMPLAINT_DECIDE = _policy("complaint-decide", (MANAGER,), description="accept, reject, resolve and answer "
                           "complaints: managers")
OPS_READ = _policy("ops-read", (ADMIN,), ("metrics:read",), description="/metrics and the /readyz detail (hall and "
                   "camera ids, counts): admins, keys with metrics:read covering every hall the instance serves")
LABEL_FRAMES = _policy("label-frames", (SUPERVISOR, MANAGER), description="the labelling queue: view sampled frames "
                       "(audited) and label them (audited): supervisors (own halls), managers")

ALL_POLICIES = (PUBLIC, ANY_USER, INCIDENT_READ, EVIDENCE_VIEW, INCIDENT_REVIEW, APPEAL_FILE, APPEAL_DECIDE,
                APPEAL_READ, WINDOW_READ, QUEUE_PAUSE, CAMERA_READ, LIVE_FEED, AUDIT_READ, ADMINISTER, APPRAISAL_READ,
                COMPLAINT_FILE, COMPLAINT_DECIDE, LABEL_FRAMES, OPS_READ)


class PolicyGate:
    """The dependency that enforces a policy. A plain `def`: FastAPI runs it in the thread pool (it reads the
    database), for HTTP and WebSocket routes alike."""

    def __init__(self, policy: Policy) -> None:
        self.policy = policy

    def __call__(self, connection: HTTPConnection) -> Principal | None:
        from monitor_api.auth.authenticate import authorize

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
