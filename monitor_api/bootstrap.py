"""First start: the session secret (kept under the data directory, never in the repo) and the initial accounts."""
from __future__ import annotations

import os
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from counterwatch.private_files import open_private, private_dir
from monitor_api.accounts import add_user
from monitor_api.auth.passwords import Passwords, generate_password
from monitor_api.storage import Actor, Database
from monitor_api.storage.models import Role, UserRow

SECRET_ENV = "COUNTERWATCH_SESSION_SECRET"
SECRET_FILE = ".session-secret"


def load_session_secret(data_dir: Path) -> str:
    """COUNTERWATCH_SESSION_SECRET, else `<data_dir>/.session-secret` (created 0600 on first start). Kept across
    restarts so sessions survive them; delete the file to log everybody out."""
    from_env = os.environ.get(SECRET_ENV, "").strip()
    if from_env:
        if len(from_env) < 32:
            raise ValueError(f"{SECRET_ENV} must have at least 32 characters")
        return from_env
    path = data_dir / SECRET_FILE
    try:
        secret = path.read_text(encoding="ascii").strip()
        if len(secret) >= 32:
            return secret
    except FileNotFoundError:
        pass
    private_dir(data_dir)
    secret = secrets.token_urlsafe(48)
    descriptor = open_private(path, os.O_WRONLY | os.O_TRUNC)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret


@dataclass(frozen=True)
class BootstrapAccount:
    username: str
    role: Role
    password: str  # generated; shown once, never stored in clear


def bootstrap_accounts(database: Database, passwords: Passwords,
                       halls: str | Sequence[str]) -> tuple[BootstrapAccount, ...] | None:
    """On a database without users: create `admin` and `supervisor` (scoped to `halls`) with generated passwords
    and return them (to print once); for several halls (a county centre) also a county-wide `manager`, who reads
    every hall's incidents. None when users exist already."""
    hall_ids = (halls,) if isinstance(halls, str) else tuple(halls)
    with database.write() as session:
        if session.scalar(select(func.count()).select_from(UserRow)):
            return None
        created = []
        accounts: list[tuple[str, Role, tuple[str, ...], str]] = [
            ("admin", Role.ADMIN, (), "管理员"), ("supervisor", Role.SUPERVISOR, hall_ids, "大厅管理人员")]
        if len(hall_ids) > 1:
            accounts.append(("manager", Role.MANAGER, (), "县级管理人员"))
        for username, role, scope, display_name in accounts:
            password = generate_password()
            add_user(session, passwords, Actor.system("bootstrap"), username=username, password=password, role=role,
                     display_name=display_name, halls=scope)
            created.append(BootstrapAccount(username, role, password))
        return tuple(created)
