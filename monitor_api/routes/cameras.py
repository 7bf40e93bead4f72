"""Camera health: state, reason, last frame, frames processed (from the live registry) for the caller's halls."""
from __future__ import annotations

from collections import defaultdict

from fastapi import APIRouter
from sqlalchemy import select

from monitor_api.auth.policy import CameraReader
from monitor_api.schemas.status import CameraPublic
from monitor_api.services import ServicesDep
from monitor_api.storage.models import CameraRow, CameraWindowRow
from monitor_api.storage.types import utcnow

router = APIRouter(prefix="/cameras", tags=["cameras"])


@router.get("", response_model=list[CameraPublic], summary="Health of every camera")
def list_cameras(principal: CameraReader, services: ServicesDep) -> list[CameraPublic]:
    now = utcnow()
    live = services.live.cameras()
    query = select(CameraRow).where(CameraRow.active.is_(True)).order_by(CameraRow.hall_id, CameraRow.id)
    if principal.halls is not None:
        query = query.where(CameraRow.hall_id.in_(sorted(principal.halls)))
    with services.database.read() as session:
        cameras = session.scalars(query).all()
        views: dict[tuple[str, str], list[str]] = defaultdict(list)
        for view in session.scalars(select(CameraWindowRow).order_by(CameraWindowRow.window_id)):
            views[(view.hall_id, view.camera_id)].append(view.window_id)
    result = []
    for camera in cameras:
        status = live.get((camera.hall_id, camera.id))
        last = status.last_frame_wall_time if status else None
        result.append(CameraPublic(
            hall_id=camera.hall_id, camera_id=camera.id, state=status.state if status else "unknown",
            reason=status.reason if status else "no report from the pipeline", last_frame_at=last,
            last_frame_age_s=round((now - last).total_seconds(), 3) if last else None,
            frames_processed=status.frames_processed if status else 0, windows=views[(camera.hall_id, camera.id)]))
    return result
