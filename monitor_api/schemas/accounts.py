"""Login, users and API keys."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from monitor_api.schemas.common import InputModel, PublicModel
from monitor_api.storage.models import Role

ScopeName = Literal["queue:pause", "appraisal:read", "incidents:read", "metrics:read"]


class LoginCreate(InputModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class UserPublic(PublicModel):
    id: int
    username: str
    display_name: str
    role: Role
    active: bool
    halls: list[str] = Field(description="Halls of a supervisor; empty for roles that see every hall.")
    staff_hall_id: str | None
    staff_id: str | None
    locked_until: datetime | None
    last_login_at: datetime | None
    created_at: datetime


class SessionPublic(PublicModel):
    csrf_token: str = Field(description="Send as X-CSRF-Token on every unsafe request made with the cookie.")
    expires_at: datetime
    user: UserPublic


class MePublic(PublicModel):
    user: UserPublic
    csrf_token: str | None = Field(description="For a cookie session; null for a bearer token.")
    expires_at: datetime | None


class TokenPublic(PublicModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime


class UserCreate(InputModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.\-@]+$")
    password: str = Field(min_length=10, max_length=1024)
    role: Role
    display_name: str = Field(default="", max_length=100)
    halls: list[str] = Field(default_factory=list, max_length=100)
    staff_hall_id: str | None = Field(default=None, max_length=64)
    staff_id: str | None = Field(default=None, max_length=64)


class UserUpdate(InputModel):
    display_name: str | None = Field(default=None, max_length=100)
    role: Role | None = None
    active: bool | None = None
    halls: list[str] | None = Field(default=None, max_length=100)
    password: str | None = Field(default=None, min_length=10, max_length=1024)
    unlock: bool = Field(default=False, description="Clear a lockout and the failure count.")
    staff_hall_id: str | None = Field(default=None, max_length=64, description="With staff_id: link the account "
                                      "to this staff member of the hall config (replacing any link).")
    staff_id: str | None = Field(default=None, max_length=64)
    unlink_staff: bool = Field(default=False, description="Remove the account's staff link.")


class ApiKeyCreate(InputModel):
    name: str = Field(min_length=1, max_length=100)
    scopes: list[ScopeName] = Field(min_length=1, max_length=4)
    hall_id: str | None = Field(default=None, max_length=64, description="Restrict to one hall; null: every hall.")
    expires_days: float | None = Field(default=90, gt=0, le=3650, description="null: never expires.")


class ApiKeyPublic(PublicModel):
    id: int
    name: str
    prefix: str
    scopes: list[str]
    hall_id: str | None
    created_by: int | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreatedPublic(ApiKeyPublic):
    key: str = Field(description="The key itself: shown once, stored only as a hash.")
