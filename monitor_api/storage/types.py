"""Column types that behave the same on SQLite and PostgreSQL: UTC datetimes and JSON."""
from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Dialect, Enum
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime in Python, whatever the backend stores.

    SQLite has no datetime type: SQLAlchemy writes a fixed-width ISO text ('YYYY-MM-DD HH:MM:SS.ffffff') that sorts
    correctly only if every value is in the same zone, so values are converted to UTC and stored naive there.
    PostgreSQL stores `timestamptz` and returns it in the session's zone; we convert back to UTC so callers never see
    another zone. A naive datetime is refused on the way in: it is ambiguous (hall local time? UTC?) and guessing
    would shift incidents by eight hours in Asia/Shanghai.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"naive datetime {value.isoformat()} refused: store timezone-aware UTC datetimes")
        utc = value.astimezone(UTC)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:  # SQLite: stored as naive UTC by process_bind_param
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSONB on PostgreSQL (indexable, compact), JSON text on SQLite.
JSONDocument = JSON().with_variant(JSONB(), "postgresql")


def utcnow() -> datetime:
    return datetime.now(UTC)


def enum_column(enum_type: type[enum.Enum], name: str) -> Enum:
    """A string column with a CHECK constraint over the enum's values (not a native PostgreSQL ENUM type).

    Values, not member names, are stored so that the database reads like the API ("closed_by_recovery"), and a CHECK
    constraint instead of a native type keeps migrations identical on both backends (adding a value to a native
    PostgreSQL enum needs its own non-transactional migration step).
    """
    return Enum(enum_type, name=name, native_enum=False, create_constraint=True, validate_strings=True,
                values_callable=lambda members: [member.value for member in members],
                length=max(len(member.value) for member in enum_type))


def as_json_value(value: Any) -> Any:
    """A JSON-storable copy: containers recursively, datetimes as ISO text, enums as their value, else str()."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, enum.Enum):
        return as_json_value(value.value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(key): as_json_value(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [as_json_value(item) for item in value]
    return str(value)
