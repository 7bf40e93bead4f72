"""The audit log: who did what to which object. Written in the same transaction as the action it records."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from monitor_api.storage.models import AuditLogRow
from monitor_api.storage.types import as_json_value, utcnow


@dataclass(frozen=True)
class Actor:
    """Who acted: a person (user id), an integration (API key id), or the system itself (a component name)."""

    type: str
    id: str

    def __post_init__(self) -> None:
        if self.type not in ("user", "api_key", "system"):
            raise ValueError(f"Actor.type must be user, api_key or system, got {self.type!r}")
        if not self.id:
            raise ValueError("Actor.id must not be empty")

    @classmethod
    def user(cls, user_id: int) -> Actor:
        return cls("user", str(user_id))

    @classmethod
    def api_key(cls, key_id: int) -> Actor:
        return cls("api_key", str(key_id))

    @classmethod
    def system(cls, component: str) -> Actor:
        return cls("system", component)


def record_audit(session: Session, actor: Actor, action: str, object_type: str, object_id: str | int, *,
                 hall_id: str | None = None, details: dict[str, Any] | None = None, at: datetime | None = None,
                 client_ip: str | None = None) -> AuditLogRow:
    """Append one audit entry (e.g. action="evidence.view", object_type="evidence"). Never updated or deleted."""
    row = AuditLogRow(at=at or utcnow(), actor_type=actor.type, actor_id=actor.id, action=action,
                      object_type=object_type, object_id=str(object_id), hall_id=hall_id,
                      details=as_json_value(details or {}), client_ip=client_ip)
    session.add(row)
    return row
