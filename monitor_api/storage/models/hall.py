"""What a hall looks like: the hall, its windows, cameras, staff and roster, copied from the hall config.

Keys are natural and composite, (hall_id, id), because the config's ids are unique only within one hall and the
central PostgreSQL database holds many halls. Rows removed from the config are marked inactive, never deleted:
incidents keep pointing at them.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, ForeignKeyConstraint, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor_api.storage.models.base import ID_LENGTH, Base
from monitor_api.storage.types import UTCDateTime, utcnow


class HallRow(Base):
    __tablename__ = "halls"

    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    # False for a hall first seen through an incident (no config synced yet): names are placeholders until then.
    configured: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class WindowRow(Base):
    __tablename__ = "windows"

    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="RESTRICT"), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64), default="")
    schedule: Mapped[str] = mapped_column(String(ID_LENGTH), default="standard")
    pause_marker_id: Mapped[int | None] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    configured: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CameraRow(Base):
    __tablename__ = "cameras"

    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="RESTRICT"), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    # The source with any user:password@ removed: the database is read by auditors and exported; camera passwords
    # stay in the config file.
    source: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    configured: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class CameraWindowRow(Base):
    """Which windows a camera covers (a camera's views)."""

    __tablename__ = "camera_windows"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "camera_id"], ["cameras.hall_id", "cameras.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["hall_id", "window_id"], ["windows.hall_id", "windows.id"], ondelete="CASCADE"),
    )

    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    camera_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    window_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)


class StaffRow(Base):
    __tablename__ = "staff"

    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id", ondelete="RESTRICT"), primary_key=True)
    id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    department: Mapped[str] = mapped_column(String(64), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    configured: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class RosterEntryRow(Base):
    """One roster entry of the config. Entries have no identity of their own: a sync replaces a hall's entries."""

    __tablename__ = "roster_entries"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "window_id"], ["windows.hall_id", "windows.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["hall_id", "staff_id"], ["staff.hall_id", "staff.id"], ondelete="CASCADE"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH), index=True)
    window_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    staff_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    position: Mapped[int] = mapped_column(Integer)  # order in the config file
    days: Mapped[str] = mapped_column(String(32))  # comma-separated weekdays, e.g. "mon,tue,wed"
    on_date: Mapped[date | None] = mapped_column(Date)
    valid_from: Mapped[date | None] = mapped_column(Date)
    valid_until: Mapped[date | None] = mapped_column(Date)
    # Shift hours in hall local time, HH:MM; both null = the window's service hours.
    start_time: Mapped[str | None] = mapped_column(String(5))
    end_time: Mapped[str | None] = mapped_column(String(5))
