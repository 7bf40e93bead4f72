"""Windows: the live status wall, and pause/resume from the queue-calling system (叫号系统) with an API key."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Query
from sqlalchemy import select

from monitor_api.auth.policy import QueuePauser, WindowReader
from monitor_api.auth.principal import Principal
from monitor_api.problems import ApiProblem, FieldError, problem_responses
from monitor_api.schemas.status import PauseChangePublic, WindowStatusPublic
from monitor_api.services import Services, ServicesDep
from monitor_api.storage import record_audit
from monitor_api.storage.models import HallRow, WindowRow
from monitor_api.storage.pauses import apply_queue_change
from monitor_api.storage.types import utcnow
from monitor_api.window_status import window_statuses

logger = logging.getLogger("counterwatch.api")

router = APIRouter(prefix="/windows", tags=["windows"])

HallParam = Annotated[str | None, Query(min_length=1, max_length=64)]
_PAUSE_PROBLEMS = problem_responses(notes={422: "Invalid request; also no hall with a key valid for every hall"})


@router.get("", response_model=list[WindowStatusPublic], summary="Current status of every window")
def list_windows(principal: WindowReader, services: ServicesDep, hall: HallParam = None) -> list[WindowStatusPublic]:
    with services.database.read() as session:
        if hall is not None:
            principal.require_hall(hall)
            halls = [hall]
        elif principal.halls is None:
            halls = list(session.scalars(select(HallRow.id)))
        else:
            halls = sorted(principal.halls)
        return window_statuses(services, session, halls)


def _target_hall(services: Services, principal: Principal, hall: str | None) -> str:
    """The hall a pause names: the key's own hall, or `hall` for a key valid for every hall. It must be a hall this
    instance serves: its workers are the only ones a pause reaches, and other halls' windows share its window ids."""
    if principal.halls is not None:  # a key for one hall
        (own,) = tuple(principal.halls)
        if hall is not None and hall != own:
            raise ApiProblem(403, "not within your halls")
        if services.settings.hall(own) is None:
            raise ApiProblem(403, f"this key is for hall {own!r}, but this service runs {_served(services)}: send "
                             f"hall {own!r}'s pauses to that hall's counterwatch")
        return own
    if hall is None:
        raise ApiProblem(422, "hall is required for a key valid for every hall",
                         errors=[FieldError(field="query.hall", message="required for a key without a hall")])
    if services.settings.hall(hall) is None:
        raise ApiProblem(404, f"hall {hall!r} is not served here (this service runs {_served(services)})")
    return hall


def _served(services: Services) -> str:
    halls = [config.hall.id for config in services.settings.halls]
    return ("hall " if len(halls) == 1 else "halls ") + ", ".join(repr(hall) for hall in halls)


def _change(services: Services, principal: Principal, window_id: str, hall: str | None,
            paused: bool) -> PauseChangePublic:
    hall_id = _target_hall(services, principal, hall)
    now = utcnow()
    with services.database.write() as session:
        window = session.get(WindowRow, (hall_id, window_id)) if len(window_id) <= 64 else None
        if window is None or not window.active:
            raise ApiProblem(404, f"window {window_id!r} not found in hall {hall_id!r}")
        period = apply_queue_change(session, hall_id, window_id, paused, now)
        since = period.started_at if paused and period is not None else now  # a repeated pause: the period runs
        record_audit(session, principal.actor, "window.pause" if paused else "window.resume", "window",
                     f"{hall_id}/{window_id}", hall_id=hall_id, client_ip=principal.client_ip)
    services.live.set_queue_paused(hall_id, window_id, paused)
    if services.queue_control is not None:
        try:
            services.queue_control(hall_id, window_id, paused)
        except Exception:  # the pause is recorded; the workers catch up on the next command
            logger.exception("queue control for %s/%s failed", hall_id, window_id)
    services.hub.publish_threadsafe({"type": "window.status", "hall_id": hall_id, "window_id": window_id,
                                     "paused": paused, "pause_source": "queue" if paused else None,
                                     "at": now.isoformat()})
    return PauseChangePublic(hall_id=hall_id, window_id=window_id, paused=paused, since=since)


@router.post("/{window_id}/pause", response_model=PauseChangePublic, responses=_PAUSE_PROBLEMS,
             summary="Queue system: window paused (暂停办理)")
def pause(window_id: str, principal: QueuePauser, services: ServicesDep, hall: HallParam = None) -> PauseChangePublic:
    return _change(services, principal, window_id, hall, True)


@router.post("/{window_id}/resume", response_model=PauseChangePublic, responses=_PAUSE_PROBLEMS,
             summary="Queue system: window resumed")
def resume(window_id: str, principal: QueuePauser, services: ServicesDep, hall: HallParam = None) -> PauseChangePublic:
    return _change(services, principal, window_id, hall, False)
