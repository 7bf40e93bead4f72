"""Pause periods (暂停办理) per window: recorded when they open and again when they end."""
from __future__ import annotations

import logging
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.storage._sql import insert_ignore
from monitor_api.storage.incidents import ensure_references
from monitor_api.storage.models import PausePeriodRow, PauseSource

logger = logging.getLogger("counterwatch.api.storage")


class PausePeriodLike(Protocol):
    """What counterwatch.rules.pause.PausePeriod carries (kept structural: storage does not import the rules)."""

    @property
    def window_id(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def started_at(self) -> datetime: ...
    @property
    def ended_at(self) -> datetime | None: ...


def record_pause_period(session: Session, hall_id: str, period: PausePeriodLike) -> PausePeriodRow:
    """Store a pause period, or its end when it was stored open. Idempotent: the start identifies the period."""
    source = PauseSource(period.source)
    if period.ended_at is not None and period.ended_at < period.started_at:
        raise ValueError(f"pause period of window {period.window_id} ends ({period.ended_at.isoformat()}) before it "
                         f"starts ({period.started_at.isoformat()})")
    ensure_references(session, hall_id, window_id=period.window_id)
    key = {"hall_id": hall_id, "window_id": period.window_id, "source": source, "started_at": period.started_at}
    insert_ignore(session, PausePeriodRow, {**key, "ended_at": period.ended_at},
                  ["hall_id", "window_id", "source", "started_at"])
    row = session.execute(select(PausePeriodRow).filter_by(**key).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one()
    if period.ended_at is not None and row.ended_at != period.ended_at:
        # The later report wins only by being an end: an open re-delivery never reopens a closed period.
        row.ended_at = period.ended_at if row.ended_at is None else max(row.ended_at, period.ended_at)
    session.flush()
    return row


def recover_open_pause_periods(session: Session, now: datetime, *, hall_id: str | None = None) -> int:
    """Close pause periods left open by a crash at `now` (start-up, beside recover_open_incidents)."""
    query = select(PausePeriodRow).where(PausePeriodRow.ended_at.is_(None))
    if hall_id is not None:
        query = query.where(PausePeriodRow.hall_id == hall_id)
    rows = session.scalars(query.with_for_update()).all()
    for row in rows:
        row.ended_at = max(now, row.started_at)
    if rows:
        logger.info("closed %d pause period(s) left open by a crash", len(rows))
    session.flush()
    return len(rows)


def pause_periods(session: Session, hall_id: str, window_id: str, since: datetime,
                  until: datetime) -> list[PausePeriodRow]:
    """Periods of one window overlapping [since, until), oldest first (for reports and incident review)."""
    query = (select(PausePeriodRow)
             .where(PausePeriodRow.hall_id == hall_id, PausePeriodRow.window_id == window_id,
                    PausePeriodRow.started_at < until,
                    (PausePeriodRow.ended_at.is_(None)) | (PausePeriodRow.ended_at > since))
             .order_by(PausePeriodRow.started_at))
    return list(session.scalars(query))


class _QueueChange:
    def __init__(self, window_id: str, started_at: datetime, ended_at: datetime | None = None) -> None:
        self.window_id, self.source, self.started_at, self.ended_at = window_id, "queue", started_at, ended_at


def apply_queue_change(session: Session, hall_id: str, window_id: str, paused: bool,
                       at: datetime) -> PausePeriodRow | None:
    """A queue-system pause (opens a period unless one is open) or resume (closes the open one), as of `at`.
    Returns the period touched, or None for a resume without an open period. Repeating a change is harmless."""
    open_period = session.scalars(select(PausePeriodRow).where(
        PausePeriodRow.hall_id == hall_id, PausePeriodRow.window_id == window_id,
        PausePeriodRow.source == PauseSource.QUEUE, PausePeriodRow.ended_at.is_(None))
        .order_by(PausePeriodRow.started_at.desc()).limit(1)).first()
    if paused:
        return open_period if open_period is not None else record_pause_period(
            session, hall_id, _QueueChange(window_id, at))
    if open_period is None:
        return None
    return record_pause_period(session, hall_id, _QueueChange(window_id, open_period.started_at,
                                                              max(at, open_period.started_at)))
