"""Operations endpoints outside /api/v1: liveness, readiness, Prometheus metrics.

/healthz and /readyz answer anyone (load balancers, orchestrators): /readyz says only ready or not (200 / 503) and
which checks fail. Hall ids, camera ids and incident counts (the /readyz detail and /metrics) are for an admin or an
API key with `metrics:read` that covers every hall this instance serves.
"""
from __future__ import annotations

import shutil
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from monitor_api.auth.authenticate import identify
from monitor_api.auth.policy import OPS_READ, Anyone, MetricsReader
from monitor_api.auth.principal import Principal
from monitor_api.problems import ApiProblem
from monitor_api.services import Services, ServicesDep
from monitor_api.storage import Actor, record_audit
from monitor_api.storage.models import IncidentRow
from monitor_api.storage.types import utcnow

router = APIRouter(tags=["ops"])

CheckName = Literal["database", "cameras", "disk", "uplink"]


class Readiness(BaseModel):
    status: Literal["ready", "not ready"]
    failing: list[CheckName] = Field(description="The checks that fail; empty when ready.")
    checks: dict[str, Any] | None = Field(default=None, description="Per-check detail (database error, each "
                                          "camera's hall, state, reason and last-frame age, free disk): only for "
                                          "an admin or a key with metrics:read.")


class _Rollback(Exception):
    pass


def _database_writable(services: Services) -> tuple[bool, str]:
    """A real write, rolled back: proves the write lock can be taken and a row inserted (not just a SELECT)."""
    try:
        with services.database.write() as session:
            record_audit(session, Actor.system("readyz"), "readyz.probe", "system", "readyz")
            session.flush()
            raise _Rollback
    except _Rollback:
        return True, "ok"
    except Exception as error:  # the probe reports any failure instead of raising
        return False, f"{type(error).__name__}: {error}"[:300]


def _camera_checks(services: Services) -> tuple[bool, dict[str, Any]]:
    """A camera is ok while the pipeline reports it online and its last frame is recent: a camera reported offline,
    stalled or stopped fails at once, without waiting for its last frame to age past max_frame_age_s."""
    now = utcnow()
    live = services.live.cameras()
    settings = services.settings
    all_ok = True
    cameras: dict[str, Any] = {}
    for config in settings.halls:
        for camera in config.cameras:
            status = live.get((config.hall.id, camera.id))
            last = status.last_frame_wall_time if status else None
            age = (now - last).total_seconds() if last else None
            fresh = age is not None and age <= settings.max_frame_age_s
            state = status.state if status else "unknown"
            ok = fresh and state == "online"
            cameras[camera.id] = {"hall_id": config.hall.id, "ok": ok, "state": state,
                                  "reason": status.reason if status else "no report from the pipeline",
                                  "last_frame_age_s": None if age is None else round(age, 3), "fresh": fresh}
            all_ok = all_ok and ok
    return all_ok or not settings.expect_cameras, cameras


def _uncovered_halls(principal: Principal, services: Services) -> list[str]:
    """The halls of this instance that `principal` does not see (a hall-bound key on a multi-hall instance)."""
    return sorted(config.hall.id for config in services.settings.halls if not principal.sees_hall(config.hall.id))


@router.get("/healthz", summary="Liveness: the process answers")
def healthz(_: Anyone) -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database writable, cameras delivering, disk free",
            description="Anyone gets `status` and the names of the failing checks (200 ready, 503 not ready). In "
            "`counterwatch run` every camera must be reported online with a frame younger than max_frame_age_s: "
            "a camera the pipeline reports offline, stalled or stopped makes the next request 503. An admin or a "
            "key with `metrics:read` (covering every hall of this instance) also gets `checks`, the per-check "
            "detail. Invalid credentials get 401.",
            responses={200: {"model": Readiness, "description": "Ready"},
                       503: {"model": Readiness, "description": "Not ready; `failing` names the failing checks"}})
def readyz(_: Anyone, request: Request, services: ServicesDep) -> JSONResponse:
    principal = identify(request, OPS_READ)
    detailed = principal is not None and not _uncovered_halls(principal, services)
    db_ok, db_detail = _database_writable(services)
    cameras_ok, cameras = _camera_checks(services)
    data_dir = services.settings.data_dir
    probe = data_dir if data_dir.exists() else data_dir.parent
    free = shutil.disk_usage(probe).free if probe.exists() else 0
    disk_ok = free >= services.settings.min_free_bytes
    link = services.live.link()
    # A cut link is normal for an edge (the outbox keeps everything): only a full outbox, which drops low-value
    # messages, makes the node not ready.
    link_ok = link is None or not link.outbox_full
    failing = [name for name, ok in (("database", db_ok), ("cameras", cameras_ok), ("disk", disk_ok),
                                     ("uplink", link_ok)) if not ok]
    body: dict[str, Any] = {"status": "not ready" if failing else "ready", "failing": failing}
    if detailed:
        body["checks"] = {"database": {"ok": db_ok, "detail": db_detail},
                          "cameras": {"ok": cameras_ok, "required": services.settings.expect_cameras,
                                      "cameras": cameras},
                          "disk": {"ok": disk_ok, "free_bytes": free,
                                   "min_free_bytes": services.settings.min_free_bytes}}
        if link is not None:
            body["checks"]["uplink"] = {"ok": link_ok, "role": link.role, "connected": link.connected,
                                        "outbox_depth": link.outbox_depth,
                                        "outbox_oldest_age_s": round(link.outbox_oldest_age_s, 1),
                                        "outbox_full": link.outbox_full, "detail": link.detail}
    return JSONResponse(body, status_code=503 if failing else 200)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text format)",
            description="Frames, per-model latency, camera states and stored incidents by hall, type and review "
            "state. Needs an admin or an API key with `metrics:read` (Prometheus: `authorization: {type: Bearer, "
            "credentials_file: ...}` in the scrape config, or `X-API-Key`); a hall-bound key must cover every hall "
            "this instance serves (403 otherwise).",
            responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition format"}})
def metrics(principal: MetricsReader, services: ServicesDep) -> Response:
    uncovered = _uncovered_halls(principal, services)
    if uncovered:
        raise ApiProblem(403, f"this instance serves halls {[c.hall.id for c in services.settings.halls]}; the "
                         f"key does not cover {uncovered}: use a metrics:read key of every hall (no --hall)")
    metrics = services.live.metrics
    metrics.subscribers.set(services.hub.subscribers)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def incident_counts(services: Services) -> list[tuple[str, str, str, int]]:
    """(hall, type, review_state, count) for the incidents gauge, read at scrape time, for the halls this instance
    serves only (several instances may share one database)."""
    halls = sorted(config.hall.id for config in services.settings.halls)
    with services.database.read() as session:
        rows = session.execute(select(IncidentRow.hall_id, IncidentRow.type, IncidentRow.review_state, func.count())
                               .where(IncidentRow.hall_id.in_(halls))
                               .group_by(IncidentRow.hall_id, IncidentRow.type, IncidentRow.review_state)).all()
    return [(hall, kind, state.value, int(count)) for hall, kind, state, count in rows]
