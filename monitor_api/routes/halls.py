"""The halls the caller may see (a staff member: the hall of their own record)."""
from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy import select

from monitor_api.auth.policy import AnyUser
from monitor_api.schemas.status import HallPublic
from monitor_api.services import ServicesDep
from monitor_api.storage.models import HallRow

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
