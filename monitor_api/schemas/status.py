"""Halls, windows, cameras, the audit log and appraisal summaries."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from monitor_api.schemas.common import PublicModel

WindowStatusName = Literal["present", "absent", "paused", "in_incident", "unknown"]


class HallPublic(PublicModel):
    id: str
    name: str
    timezone: str


class WindowStatusPublic(PublicModel):
    hall_id: str
    window_id: str
    name: str
    department: str
    status: WindowStatusName = Field(description="in_incident wins over the rest; unknown when no fresh report.")
    present: bool | None
    paused: bool | None
    pause_source: str | None
    camera_id: str | None
    incident_id: str | None = Field(description="The open incident at this window, if any.")
    incident_type: str | None
    rostered_staff_id: str | None
    rostered_staff_name: str | None
    updated_at: datetime | None


class PauseChangePublic(PublicModel):
    hall_id: str
    window_id: str
    paused: bool
    since: datetime


class CameraPublic(PublicModel):
    hall_id: str
    camera_id: str
    state: str
    reason: str
    last_frame_at: datetime | None
    last_frame_age_s: float | None
    frames_processed: int
    windows: list[str]


class AuditEntryPublic(PublicModel):
    id: int
    at: datetime
    actor_type: str
    actor_id: str
    action: str
    object_type: str
    object_id: str
    hall_id: str | None
    details: dict[str, Any]
    client_ip: str | None


class StaffSummaryPublic(PublicModel):
    hall_id: str
    staff_id: str
    staff_name: str | None
    confirmed: int
    by_type: dict[str, int]


class AppraisalPublic(PublicModel):
    since: datetime
    until: datetime
    staff: list[StaffSummaryPublic]
