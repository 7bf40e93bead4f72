"""Declarative base, naming convention and the enums stored in the database."""
from __future__ import annotations

import enum

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Every constraint and index gets a predictable name: Alembic's batch mode (SQLite rebuilds tables to alter them)
# and PostgreSQL's ALTER ... DROP CONSTRAINT both need names, and names must not depend on the backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID_LENGTH = 64  # counterwatch.config Identifier: 1..64 characters
INCIDENT_ID_LENGTH = 128  # incident ids are made by the rules; leave room for a hall/window prefix


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class IncidentState(str, enum.Enum):
    OPEN = "open"
    CLOSED = "closed"
    # Left open by a crash and closed on start-up; ended_at is the recovery time, a marked end, not an observed one.
    CLOSED_BY_RECOVERY = "closed_by_recovery"


class ReviewState(str, enum.Enum):
    PENDING = "pending"
    ACKNOWLEDGED = "acknowledged"  # a supervisor has seen it; it still changes nobody's score
    CONFIRMED = "confirmed"  # counts for scoring (until an appeal is upheld)
    DISMISSED = "dismissed"


class EventKindValue(str, enum.Enum):
    """Mirror of counterwatch.incidents.events.EventKind, kept here so the schema does not move with the rules."""

    OPENED = "opened"
    UPDATED = "updated"
    CLOSED = "closed"


class EvidenceKind(str, enum.Enum):
    SNAPSHOT = "snapshot"
    CLIP = "clip"


class ReviewDecision(str, enum.Enum):
    CONFIRM = "confirm"
    DISMISS = "dismiss"


class AppealDecision(str, enum.Enum):
    UPHELD = "upheld"  # the appellant is right: the incident is dismissed and no longer counts
    REJECTED = "rejected"  # the confirmation stands


class PauseSource(str, enum.Enum):
    SIGN = "sign"
    QUEUE = "queue"
    SCHEDULE = "schedule"


class Role(str, enum.Enum):
    SUPERVISOR = "supervisor"
    MANAGER = "manager"
    ADMIN = "admin"
    AUDITOR = "auditor"
    STAFF = "staff"  # window staff: their own record, incidents and appeals only (linked to a staff member)
