"""An edge's outbox: messages for the county centre, kept until the JetStream server acknowledged them.

Written in the same transaction as the local record (an incident, a pause) so that one never exists without the
other; read in order of `id` by the uplink, deleted only after the server's acknowledgement. Bounded: past
`max_messages` the oldest messages of the least valuable kinds go first (`DROP_ORDER`); incidents, evidence, pauses,
queue changes and command acknowledgements are never dropped.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from monitor_api.storage._sql import insert_ignore
from monitor_api.storage.models import OutboxRow

# Kinds that may be dropped when the outbox is full, least valuable first.
DROP_ORDER = ("stats", "status", "health", "sample")


def add_outbox(session: Session, *, msg_id: str, subject: str, kind: str, payload: str, now: datetime) -> bool:
    """Queue one message; False when a message with this id is queued already (a repeated write)."""
    return insert_ignore(session, OutboxRow, {"msg_id": msg_id, "subject": subject, "kind": kind,
                                              "payload": payload, "created_at": now}, ["msg_id"])


def next_batch(session: Session, limit: int) -> list[OutboxRow]:
    """The oldest `limit` messages, in the order they were written."""
    return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id).limit(limit)))


def remove_sent(session: Session, ids: Sequence[int]) -> int:
    """Delete acknowledged messages; returns how many went."""
    if not ids:
        return 0
    result = session.execute(delete(OutboxRow).where(OutboxRow.id.in_(list(ids))))
    return int(getattr(result, "rowcount", 0) or 0)


def outbox_depth(session: Session) -> tuple[int, datetime | None]:
    """Messages waiting and when the oldest was written (None when empty)."""
    count, oldest = session.execute(select(func.count(OutboxRow.id), func.min(OutboxRow.created_at))).one()
    return int(count), oldest


def trim_outbox(session: Session, max_messages: int) -> dict[str, int]:
    """Drop the oldest droppable messages until at most `max_messages` remain (or nothing droppable is left);
    returns the count dropped per kind."""
    if max_messages < 0:
        raise ValueError("max_messages must be >= 0")
    excess = outbox_depth(session)[0] - max_messages
    dropped: dict[str, int] = {}
    for kind in DROP_ORDER:
        if excess <= 0:
            break
        ids = list(session.scalars(select(OutboxRow.id).where(OutboxRow.kind == kind)
                                   .order_by(OutboxRow.id).limit(excess)))
        if ids:
            removed = remove_sent(session, ids)
            dropped[kind] = removed
            excess -= removed
    return dropped
