"""The current status of every window: the live registry (what the workers last reported), the queue system's
pause, open incidents from the database, and who the roster puts there now."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.live.state import WindowLive
from monitor_api.schemas.status import WindowStatusName, WindowStatusPublic
from monitor_api.services import Services
from monitor_api.storage.models import IncidentRow, IncidentState, StaffRow, WindowRow
from monitor_api.storage.types import utcnow

logger = logging.getLogger("counterwatch.api")


def window_live_message(hall_id: str, live: WindowLive) -> dict:
    return {"type": "window.status", "hall_id": hall_id, "window_id": live.window_id, "camera_id": live.camera_id,
            "present": live.present, "paused": live.paused, "pause_source": live.pause_source,
            "at": live.wall_time.isoformat()}


def _rostered(services: Services, hall_id: str, window_id: str, now: datetime) -> str | None:
    calendar = services.calendars.get(hall_id)
    if calendar is None:
        return None
    try:
        return calendar.rostered_staff(window_id, now)
    except Exception:  # an unknown window in an old calendar must not break the wall
        logger.debug("no roster answer for %s/%s", hall_id, window_id, exc_info=True)
        return None


def window_statuses(services: Services, session: Session, hall_ids: Iterable[str]) -> list[WindowStatusPublic]:
    halls = sorted(set(hall_ids))
    if not halls:
        return []
    now = utcnow()
    stale_s = services.settings.window_status_stale_s
    windows = session.scalars(select(WindowRow).where(WindowRow.hall_id.in_(halls), WindowRow.active.is_(True))
                              .order_by(WindowRow.hall_id, WindowRow.id)).all()
    open_incidents: dict[tuple[str, str], IncidentRow] = {}
    for open_row in session.scalars(select(IncidentRow).where(IncidentRow.hall_id.in_(halls),
                                                              IncidentRow.state == IncidentState.OPEN)
                                    .order_by(IncidentRow.started_at)):
        open_incidents[(open_row.hall_id, open_row.window_id)] = open_row  # the newest wins
    staff_names = {(row.hall_id, row.id): row.name
                   for row in session.scalars(select(StaffRow).where(StaffRow.hall_id.in_(halls)))}
    result = []
    for window in windows:
        key = (window.hall_id, window.id)
        live = services.live.window(*key)
        fresh = live is not None and (now - live.updated_at).total_seconds() <= stale_s
        queue_paused = services.live.queue_paused(*key)
        present = live.present if fresh and live else None
        paused: bool | None = live.paused if fresh and live else None
        source = live.pause_source if fresh and live and live.paused else None
        if queue_paused and not paused:
            paused, source = True, "queue"
        incident = open_incidents.get(key)
        status: WindowStatusName
        if incident is not None:
            status = "in_incident"
        elif paused:
            status = "paused"
        elif not fresh:
            status = "unknown"
        else:
            status = "present" if present else "absent"
        rostered = _rostered(services, window.hall_id, window.id, now)
        result.append(WindowStatusPublic(
            hall_id=window.hall_id, window_id=window.id, name=window.name, department=window.department,
            status=status, present=present, paused=paused, pause_source=source,
            camera_id=live.camera_id if live else None, incident_id=incident.id if incident else None,
            incident_type=incident.type if incident else None, rostered_staff_id=rostered,
            rostered_staff_name=staff_names.get((window.hall_id, rostered)) if rostered else None,
            updated_at=live.updated_at if live else None))
    return result
