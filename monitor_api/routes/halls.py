"""The halls the caller may see (a staff member: the hall of their own record), and a hall's settings (admins)."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from sqlalchemy import select

from monitor_api.auth.policy import Administrator, AnyUser
from monitor_api.problems import ApiProblem, problem_responses
from monitor_api.schemas.halls import CameraSettingsPublic, HallSettingsPublic, StaffMemberPublic, WindowSettingsPublic
from monitor_api.schemas.status import HallPublic
from monitor_api.services import ServicesDep
from monitor_api.storage.models import CameraRow, CameraWindowRow, HallRow, StaffRow, WindowRow

router = APIRouter(prefix="/halls", tags=["halls"])


@router.get("", response_model=list[HallPublic], summary="Halls visible to the caller")
def list_halls(principal: AnyUser, services: ServicesDep) -> list[HallPublic]:
    query = select(HallRow).order_by(HallRow.id)
    if principal.halls is not None:
        # A staff member's own hall too: its name and time zone are how their own record reads.
        own = {principal.staff[0]} if principal.staff else set()
        query = query.where(HallRow.id.in_(sorted(principal.halls | own)))
    with services.database.read() as session:
        return [HallPublic.model_validate(row) for row in session.scalars(query)]


@router.get("/{hall_id}/settings", response_model=HallSettingsPublic, responses=problem_responses(),
            summary="A hall's settings: name, time zone, windows, cameras and staff, as its hall config set them "
            "(read-only: they change in the hall config file and are loaded on start-up)")
def hall_settings(hall_id: Annotated[str, Path(min_length=1, max_length=64)], principal: Administrator,
                  services: ServicesDep) -> HallSettingsPublic:
    with services.database.read() as session:
        hall = session.get(HallRow, hall_id)
        if hall is None:
            raise ApiProblem(404, f"hall {hall_id!r} not found")
        windows = session.scalars(select(WindowRow).where(WindowRow.hall_id == hall_id)
                                  .order_by(WindowRow.active.desc(), WindowRow.id))
        covered: dict[str, list[str]] = {}
        for camera_id, window_id in session.execute(
                select(CameraWindowRow.camera_id, CameraWindowRow.window_id)
                .where(CameraWindowRow.hall_id == hall_id).order_by(CameraWindowRow.window_id)):
            covered.setdefault(camera_id, []).append(window_id)
        cameras = [CameraSettingsPublic(id=row.id, source=row.source, windows=covered.get(row.id, []),
                                        active=row.active)
                   for row in session.scalars(select(CameraRow).where(CameraRow.hall_id == hall_id)
                                              .order_by(CameraRow.active.desc(), CameraRow.id))]
        staff = session.scalars(select(StaffRow).where(StaffRow.hall_id == hall_id)
                                .order_by(StaffRow.active.desc(), StaffRow.id))
        return HallSettingsPublic(
            id=hall.id, name=hall.name, timezone=hall.timezone, configured=hall.configured,
            served_here=services.settings.hall(hall.id) is not None, updated_at=hall.updated_at,
            windows=[WindowSettingsPublic.model_validate(row) for row in windows], cameras=cameras,
            staff=[StaffMemberPublic.model_validate(row) for row in staff])
