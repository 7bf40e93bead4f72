"""The audit log, read-only (auditors, admins), newest first with an id cursor."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import AwareDatetime
from sqlalchemy import select

from monitor_api.auth.policy import AuditReader
from monitor_api.schemas.common import Page
from monitor_api.schemas.status import AuditEntryPublic
from monitor_api.services import ServicesDep
from monitor_api.storage.models import AuditLogRow

router = APIRouter(prefix="/audit", tags=["audit"])

Text = Annotated[str | None, Query(min_length=1, max_length=128)]


@router.get("", response_model=Page[AuditEntryPublic], summary="Audit log entries, newest first")
def list_audit(principal: AuditReader, services: ServicesDep, action: Text = None, object_type: Text = None,
               object_id: Text = None, actor_type: Text = None, actor_id: Text = None, hall: Text = None,
               since: AwareDatetime | None = None, until: AwareDatetime | None = None,
               cursor: Annotated[int | None, Query(ge=1, le=2**62, description="Entries with a smaller id.")] = None,
               limit: Annotated[int, Query(ge=1, le=200)] = 50) -> Page[AuditEntryPublic]:
    query = select(AuditLogRow)
    filters = {AuditLogRow.action: action, AuditLogRow.object_type: object_type, AuditLogRow.object_id: object_id,
               AuditLogRow.actor_type: actor_type, AuditLogRow.actor_id: actor_id, AuditLogRow.hall_id: hall}
    for column, value in filters.items():
        if value is not None:
            query = query.where(column == value)
    if since is not None:
        query = query.where(AuditLogRow.at >= since)
    if until is not None:
        query = query.where(AuditLogRow.at < until)
    if cursor is not None:
        query = query.where(AuditLogRow.id < cursor)
    with services.database.read() as session:
        rows = list(session.scalars(query.order_by(AuditLogRow.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page[AuditEntryPublic](items=[AuditEntryPublic.model_validate(row) for row in rows],
                                  next_cursor=str(rows[-1].id) if more and rows else None)
