"""User and API-key administration shared by the admin endpoints and the `counterwatch users` / `keys` commands."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from monitor_api.auth.keys import SCOPES, generate_api_key
from monitor_api.auth.passwords import Passwords
from monitor_api.schemas.accounts import ApiKeyCreatedPublic, ApiKeyPublic, UserPublic
from monitor_api.storage import Actor, create_api_key, create_user, record_audit, set_user_halls, user_by_username
from monitor_api.storage.models import ApiKeyRow, HallRow, Role, StaffRow, UserHallScopeRow, UserRow


class AccountError(ValueError):
    """A user or key request that cannot be done; `field` names the input at fault."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


def user_public(session: Session, user: UserRow) -> UserPublic:
    halls = sorted(session.scalars(select(UserHallScopeRow.hall_id).where(UserHallScopeRow.user_id == user.id)))
    return UserPublic(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                      active=user.active, halls=halls, staff_hall_id=user.staff_hall_id, staff_id=user.staff_id,
                      locked_until=user.locked_until, last_login_at=user.last_login_at, created_at=user.created_at)


def add_user(session: Session, passwords: Passwords, actor: Actor, *, username: str, password: str, role: Role,
             display_name: str = "", halls: list[str] | tuple[str, ...] = (),
             staff: tuple[str, str] | None = None) -> UserRow:
    if user_by_username(session, username) is not None:
        raise AccountError(f"user {username!r} exists", "username")
    if role is Role.SUPERVISOR and not halls:
        raise AccountError("a supervisor needs at least one hall (window staff: role staff with their staff id)",
                           "halls")
    check_staff_link(role, staff is not None)
    if role is not Role.SUPERVISOR and halls:
        raise AccountError(_no_halls(role), "halls")
    try:
        password_hash = passwords.hash(password)
    except ValueError as error:
        raise AccountError(str(error), "password") from None
    try:
        with session.begin_nested():
            user = create_user(session, username, role, display_name=display_name, password_hash=password_hash,
                               halls=halls, staff=staff)
    except LookupError as error:
        raise AccountError(str(error), "halls") from None
    except IntegrityError:
        raise AccountError("staff link or username refused by the database (unknown staff member?)",
                           "staff_id") from None
    record_audit(session, actor, "user.create", "user", user.id,
                 details={"username": username, "role": role.value, "halls": sorted(halls)})
    return user


def check_staff_link(role: Role, linked: bool) -> None:
    """A staff account is a staff member's own login: without the link to their record it would see nothing."""
    if role is Role.STAFF and not linked:
        raise AccountError("a staff account needs the staff member it belongs to (staff id)", "staff_id")


def _no_halls(role: Role) -> str:
    if role is Role.STAFF:
        return "role staff sees only their own record; halls apply to supervisors only"
    return f"role {role.value} sees every hall; halls apply to supervisors only"


def set_password(session: Session, passwords: Passwords, actor: Actor, user: UserRow, password: str) -> None:
    try:
        user.password_hash = passwords.hash(password)
    except ValueError as error:
        raise AccountError(str(error), "password") from None
    user.failed_logins, user.locked_until = 0, None
    record_audit(session, actor, "user.password", "user", user.id)  # every existing token dies with the old hash


def update_staff_link(session: Session, actor: Actor, user: UserRow, staff: tuple[str, str] | None) -> None:
    """Link the account to a staff member of the hall config (hall id, staff id), or unlink it (None)."""
    if (user.staff_hall_id, user.staff_id) == (staff or (None, None)):
        return  # unchanged: nothing to audit
    if staff is not None:
        member = session.get(StaffRow, staff)
        if member is None or not member.active:
            raise AccountError(f"no staff member {staff[1]!r} in hall {staff[0]!r}", "staff_id")
    user.staff_hall_id, user.staff_id = staff if staff is not None else (None, None)
    record_audit(session, actor, "user.staff", "user", user.id,
                 details={"staff_hall_id": user.staff_hall_id, "staff_id": user.staff_id})


def check_supervisor_halls(session: Session, user: UserRow) -> None:
    """A supervisor without a hall would see nothing: deactivate the account instead."""
    if user.role is Role.SUPERVISOR and session.scalar(
            select(UserHallScopeRow.hall_id).where(UserHallScopeRow.user_id == user.id).limit(1)) is None:
        raise AccountError("a supervisor needs at least one hall", "halls")


def update_halls(session: Session, actor: Actor, user: UserRow, halls: list[str]) -> None:
    if user.role is not Role.SUPERVISOR and halls:
        raise AccountError(_no_halls(user.role), "halls")
    try:
        set_user_halls(session, user.id, halls)
    except LookupError as error:
        raise AccountError(str(error), "halls") from None
    record_audit(session, actor, "user.halls", "user", user.id, details={"halls": sorted(halls)})


def add_api_key(session: Session, actor: Actor, *, name: str, scopes: list[str], hall_id: str | None,
                expires_days: float | None, now: datetime, created_by: int | None = None) -> ApiKeyCreatedPublic:
    unknown = sorted(set(scopes) - set(SCOPES))
    if unknown or not scopes:
        raise AccountError(f"scopes must be among {list(SCOPES)}, got {unknown or 'none'}", "scopes")
    if hall_id is not None and session.get(HallRow, hall_id) is None:
        raise AccountError(f"unknown hall {hall_id!r}", "hall_id")
    key, prefix, key_hash = generate_api_key()
    expires_at = now + timedelta(days=expires_days) if expires_days else None
    row = create_api_key(session, name, prefix, key_hash, scopes, hall_id=hall_id, expires_at=expires_at,
                         created_by=created_by, now=now)
    record_audit(session, actor, "api_key.create", "api_key", row.id, hall_id=hall_id,
                 details={"name": name, "scopes": sorted(scopes), "expires_at": expires_at}, at=now)
    return ApiKeyCreatedPublic(**ApiKeyPublic.model_validate(row).model_dump(), key=key)


def find_user(session: Session, user_id: int) -> UserRow | None:
    return session.get(UserRow, user_id)


def find_key(session: Session, key_id: int) -> ApiKeyRow | None:
    return session.get(ApiKeyRow, key_id)
