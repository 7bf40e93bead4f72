"""A hall's settings as the hall config set them (copied into the database on every start-up), for admins."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from monitor_api.schemas.common import PublicModel


class WindowSettingsPublic(PublicModel):
    id: str
    name: str = Field(description="The name the dashboard shows, e.g. 1号窗口.")
    department: str
    schedule: str = Field(description="The calendar schedule that sets its service hours.")
    pause_marker_id: int | None = Field(description="The ArUco id on its pause sign (暂停牌).")
    active: bool = Field(description="False: no longer in the hall config (kept for past incidents).")


class CameraSettingsPublic(PublicModel):
    id: str
    source: str = Field(description="The stream address without any user name or password.")
    windows: list[str] = Field(description="Ids of the windows it watches.")
    active: bool


class StaffMemberPublic(PublicModel):
    id: str
    name: str
    department: str
    active: bool


class HallSettingsPublic(PublicModel):
    id: str
    name: str
    timezone: str
    configured: bool = Field(description="False: known only from an incident, no hall config loaded yet.")
    served_here: bool = Field(description="True when this service runs the hall's cameras.")
    updated_at: datetime
    windows: list[WindowSettingsPublic]
    cameras: list[CameraSettingsPublic]
    staff: list[StaffMemberPublic]
