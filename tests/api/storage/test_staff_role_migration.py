"""Migration 0004 (the staff role) on a database that already has people in it, on SQLite and PostgreSQL: the role
check admits 'staff' and still refuses anything else, and rebuilding the users table (SQLite) loses none of the rows
that reference users (hall scopes cascade on delete, key creators are set null on delete). Hall-less supervisors
linked to a staff member, the old stand-in for a staff account, become staff accounts."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import IntegrityError

from counterwatch.county.local_servers import EmbeddedPostgres
from monitor_api.storage import create_engine_for, head_revision, migrate
from monitor_api.storage.migrate import downgrade

_names = itertools.count()

# The raw rows of a database at revision 0003: SQL, not the models, since the models move on with later revisions.
_SEED = (
    "INSERT INTO halls (id, name, timezone, configured, updated_at) "
    "VALUES ('hall-a', '甲大厅', 'Asia/Shanghai', true, '2026-01-01 00:00:00+00')",
    "INSERT INTO staff (hall_id, id, name, department, active, configured, updated_at) "
    "VALUES ('hall-a', 's001', '张三', '', true, true, '2026-01-01 00:00:00+00')",
    "INSERT INTO users (id, username, display_name, role, active, failed_logins, created_at) "
    "VALUES (1, 'zhang', '张主任', 'supervisor', true, 0, '2026-01-01 00:00:00+00')",
    "INSERT INTO user_hall_scopes (user_id, hall_id) VALUES (1, 'hall-a')",
    # The only way a staff member could log in before: a supervisor without halls, linked to their record.
    "INSERT INTO users (id, username, display_name, role, active, staff_hall_id, staff_id, failed_logins, created_at) "
    "VALUES (5, 'zhangsan', '张三', 'supervisor', true, 'hall-a', 's001', 0, '2026-01-01 00:00:00+00')",
    "INSERT INTO api_keys (id, name, prefix, key_hash, scopes, hall_id, created_by, created_at) "
    "VALUES (1, 'queue', 'cwk_abc', 'hash', '[\"queue:pause\"]', 'hall-a', 1, '2026-01-01 00:00:00+00')",
)


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'staff-role.db'}"
        return
    server: EmbeddedPostgres = request.getfixturevalue("postgres_server")
    name = f"staff_role_{next(_names)}"
    yield server.create_database(name)
    server.drop_database(name)


def _insert_user(url: str, user_id: int, role: str) -> None:
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            connection.execute(text(
                "INSERT INTO users (id, username, display_name, role, active, staff_hall_id, staff_id, failed_logins, "
                "created_at) VALUES (:id, :name, '', :role, true, 'hall-a', 's001', 0, '2026-01-01 00:00:00+00')"),
                {"id": user_id, "name": f"user{user_id}", "role": role})
    finally:
        engine.dispose()


def _rows(url: str, sql: str) -> list[tuple]:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(sql))]
    finally:
        engine.dispose()


def test_the_staff_role_migrates_in_and_out_keeping_every_row(empty_database_url: str) -> None:
    url = empty_database_url
    assert migrate(url, "0003") == "0003"
    engine = create_engine_for(url)
    try:
        with engine.begin() as connection:
            for statement in _SEED:
                connection.execute(text(statement))
    finally:
        engine.dispose()
    with pytest.raises(IntegrityError):
        _insert_user(url, 2, "staff")  # before: the check refuses the role

    assert migrate(url) == head_revision()
    assert _rows(url, "SELECT user_id, hall_id FROM user_hall_scopes") == [(1, "hall-a")]
    assert _rows(url, "SELECT id, created_by FROM api_keys") == [(1, 1)]
    _insert_user(url, 2, "staff")
    with pytest.raises(IntegrityError):
        _insert_user(url, 3, "janitor")
    assert _rows(url, "SELECT id, role FROM users ORDER BY id") == [(1, "supervisor"), (2, "staff"), (5, "staff")]
    engine = create_engine_for(url)
    try:
        checks = {check["name"] for check in inspect(engine).get_check_constraints("users")}
    finally:
        engine.dispose()
    assert "ck_users_user_role" in checks  # named as the convention says, for the next migration to find

    assert downgrade(url, "0003") == "0003"  # staff accounts become what they had to be before: hall-less supervisors
    assert _rows(url, "SELECT id, role, staff_id FROM users ORDER BY id") == [
        (1, "supervisor", None), (2, "supervisor", "s001"), (5, "supervisor", "s001")]
    assert _rows(url, "SELECT user_id, hall_id FROM user_hall_scopes") == [(1, "hall-a")]
    with pytest.raises(IntegrityError):
        _insert_user(url, 4, "staff")
