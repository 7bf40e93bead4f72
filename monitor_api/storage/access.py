"""Users, hall scopes and API keys as stored rows. Password hashing, key generation and hashing, login throttling
and the permission checks are the auth layer's: this module stores and finds what it is given."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from monitor_api.storage.models import ApiKeyRow, HallRow, Role, UserHallScopeRow, UserRow

# Roles that see every hall; a supervisor sees only the halls listed in user_hall_scopes.
ALL_HALL_ROLES = frozenset({Role.MANAGER, Role.ADMIN, Role.AUDITOR})


def create_user(session: Session, username: str, role: Role, *, display_name: str = "",
                password_hash: str | None = None, halls: Iterable[str] = (), staff: tuple[str, str] | None = None,
                now: datetime | None = None) -> UserRow:
    """Store a user. `password_hash` is an Argon2 PHC string made by the auth layer (None: cannot log in yet);
    `staff` = (hall_id, staff_id) links a staff member's own account to their record."""
    username = username.strip()
    if not username:
        raise ValueError("username must not be empty")
    user = UserRow(username=username, role=role, display_name=display_name, password_hash=password_hash,
                   staff_hall_id=staff[0] if staff else None, staff_id=staff[1] if staff else None)
    if now is not None:
        user.created_at = now
    session.add(user)
    session.flush()
    set_user_halls(session, user.id, halls)
    return user


def set_user_halls(session: Session, user_id: int, halls: Iterable[str]) -> None:
    """Replace the halls a user is scoped to. Unknown hall ids are an error, not a silent no-access."""
    wanted = sorted(set(halls))
    known = set(session.scalars(select(HallRow.id).where(HallRow.id.in_(wanted)))) if wanted else set()
    missing = [hall for hall in wanted if hall not in known]
    if missing:
        raise LookupError(f"unknown hall(s): {', '.join(missing)}")
    session.execute(delete(UserHallScopeRow).where(UserHallScopeRow.user_id == user_id))
    session.add_all(UserHallScopeRow(user_id=user_id, hall_id=hall) for hall in wanted)
    session.flush()


def user_by_username(session: Session, username: str) -> UserRow | None:
    return session.scalars(select(UserRow).where(UserRow.username == username.strip())).one_or_none()


def visible_hall_ids(session: Session, user: UserRow) -> frozenset[str] | None:
    """Halls the user may see; None means every hall (managers, admins, auditors)."""
    if user.role in ALL_HALL_ROLES:
        return None
    return frozenset(session.scalars(select(UserHallScopeRow.hall_id).where(UserHallScopeRow.user_id == user.id)))


def create_api_key(session: Session, name: str, prefix: str, key_hash: str, scopes: Iterable[str], *,
                   hall_id: str | None = None, expires_at: datetime | None = None, created_by: int | None = None,
                   now: datetime | None = None) -> ApiKeyRow:
    """Store an integration key by its hash (never the key). `prefix` identifies it in listings."""
    scope_list = sorted(set(scopes))
    if not scope_list:
        raise ValueError("an API key needs at least one scope")
    key = ApiKeyRow(name=name, prefix=prefix, key_hash=key_hash, scopes=scope_list, hall_id=hall_id,
                    expires_at=expires_at, created_by=created_by)
    if now is not None:
        key.created_at = now
    session.add(key)
    session.flush()
    return key


def find_active_api_key(session: Session, key_hash: str, now: datetime) -> ApiKeyRow | None:
    """The key with this hash if it is neither revoked nor expired at `now`."""
    key = session.scalars(select(ApiKeyRow).where(ApiKeyRow.key_hash == key_hash)).one_or_none()
    if key is None or key.revoked_at is not None:
        return None
    if key.expires_at is not None and key.expires_at <= now:
        return None
    return key


def revoke_api_key(session: Session, key_id: int, now: datetime) -> ApiKeyRow:
    key = session.get(ApiKeyRow, key_id)
    if key is None:
        raise LookupError(f"API key {key_id} not found")
    if key.revoked_at is None:
        key.revoked_at = now
    session.flush()
    return key
