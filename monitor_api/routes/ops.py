"""Operations endpoints outside /api/v1: liveness, readiness, Prometheus metrics."""
from __future__ import annotations

import shutil
from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from monitor_api.auth.policy import Anyone
from monitor_api.services import Services, ServicesDep
from monitor_api.storage import Actor, record_audit
from monitor_api.storage.models import IncidentRow
from monitor_api.storage.types import utcnow

router = APIRouter(tags=["ops"])


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
    now = utcnow()
    live = services.live.cameras()
    settings = services.settings
    ok = True
    cameras: dict[str, Any] = {}
    for config in settings.halls:
        for camera in config.cameras:
            status = live.get(camera.id)
            last = status.last_frame_wall_time if status else None
            age = (now - last).total_seconds() if last else None
            fresh = age is not None and age <= settings.max_frame_age_s
            cameras[camera.id] = {"hall_id": config.hall.id, "state": status.state if status else "unknown",
                                  "last_frame_age_s": None if age is None else round(age, 3), "fresh": fresh}
            ok = ok and fresh
    return ok or not settings.expect_cameras, cameras


@router.get("/healthz", summary="Liveness: the process answers")
def healthz(_: Anyone) -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: database writable, cameras delivering, disk free",
            responses={503: {"description": "Not ready; the body says which check failed"}})
def readyz(_: Anyone, services: ServicesDep) -> JSONResponse:
    db_ok, db_detail = _database_writable(services)
    cameras_ok, cameras = _camera_checks(services)
    data_dir = services.settings.data_dir
    probe = data_dir if data_dir.exists() else data_dir.parent
    free = shutil.disk_usage(probe).free if probe.exists() else 0
    disk_ok = free >= services.settings.min_free_bytes
    ready = db_ok and cameras_ok and disk_ok
    body = {"status": "ready" if ready else "not ready",
            "checks": {"database": {"ok": db_ok, "detail": db_detail},
                       "cameras": {"ok": cameras_ok, "required": services.settings.expect_cameras,
                                   "cameras": cameras},
                       "disk": {"ok": disk_ok, "free_bytes": free, "min_free_bytes": services.settings.min_free_bytes}}}
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics", response_class=Response, summary="Prometheus metrics (text format)",
            responses={200: {"content": {"text/plain": {}}}})
def metrics(_: Anyone, services: ServicesDep) -> Response:
    metrics = services.live.metrics
    metrics.subscribers.set(services.hub.subscribers)
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def incident_counts(services: Services) -> list[tuple[str, str, str, int]]:
    """(hall, type, review_state, count) for the incidents gauge, read at scrape time."""
    with services.database.read() as session:
        rows = session.execute(select(IncidentRow.hall_id, IncidentRow.type, IncidentRow.review_state, func.count())
                               .group_by(IncidentRow.hall_id, IncidentRow.type, IncidentRow.review_state)).all()
    return [(hall, kind, state.value, int(count)) for hall, kind, state, count in rows]
