"""People, their hall scopes, integration API keys and the audit log. Hashing and checks live in the auth layer."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from monitor_api.storage.models.base import ID_LENGTH, INCIDENT_ID_LENGTH, Base, Role
from monitor_api.storage.types import JSONDocument, UTCDateTime, enum_column, utcnow


class UserRow(Base):
    __tablename__ = "users"
    __table_args__ = (
        # A user who is also a staff member sees their own record and may appeal.
        ForeignKeyConstraint(["staff_hall_id", "staff_id"], ["staff.hall_id", "staff.id"], ondelete="SET NULL"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100), default="")
    password_hash: Mapped[str | None] = mapped_column(String(255))  # an Argon2 PHC string; null: cannot log in
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    staff_hall_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    staff_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)  # for the auth layer's lockout
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    hall_scopes: Mapped[list[UserHallScopeRow]] = relationship(cascade="all, delete-orphan",
                                                               passive_deletes=True)


class UserHallScopeRow(Base):
    """The halls a user may see. Managers, admins and auditors see every hall by role, without rows here."""

    __tablename__ = "user_hall_scopes"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"), primary_key=True)


class ApiKeyRow(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    # The first characters of the key, shown in listings so a person can tell keys apart; never enough to use it.
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(255), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSONDocument, default=list)  # e.g. ["queue:pause"]
    hall_id: Mapped[str | None] = mapped_column(ForeignKey("halls.id", ondelete="CASCADE"))  # null: every hall
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class AuditLogRow(Base):
    """Append-only record of who did what to which object: every evidence view and export, reviews, appeals, keys."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at"),
        Index("ix_audit_log_object", "object_type", "object_id"),
        Index("ix_audit_log_actor", "actor_type", "actor_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_type: Mapped[str] = mapped_column(String(16))  # "user" | "api_key" | "system"
    actor_id: Mapped[str] = mapped_column(String(64))  # user id, key id, or a component name for "system"
    action: Mapped[str] = mapped_column(String(64))  # e.g. "evidence.view", "incident.confirm"
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(INCIDENT_ID_LENGTH))
    hall_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))  # lets an auditor filter by hall
    details: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    client_ip: Mapped[str | None] = mapped_column(String(45))  # IPv6 text form at most 45 characters
