"""The named route policies: who may call a route, by role, key scope or relation to the staff record. Enforced by
`monitor_api.auth.policy.gate`."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
