"""Engine set-up: SQLite pragmas on every connection, clear errors for bad paths, URLs, UTC round trips, the single
writer."""
from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError, StatementError

from counterwatch.config.schema import StorageConfig
from monitor_api.storage import Database, StorageConfigError, create_engine_for, database_url, normalise_url
from monitor_api.storage.models import AuditLogRow, WindowRow
from tests.api.storage.helpers import hall_config


def test_sqlite_pragmas_hold_on_every_pooled_connection(sqlite_database_url: str) -> None:
    engine = create_engine_for(sqlite_database_url)
    try:
        # Two connections at once: the pool opens a second one, which must get the same settings.
        with engine.connect() as first, engine.connect() as second:
            for connection in (first, second):
                assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
                assert connection.exec_driver_sql("PRAGMA synchronous").scalar() == 2  # FULL
                assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
                assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    finally:
        engine.dispose()


def test_sqlite_enforces_foreign_keys(sqlite_database_url: str) -> None:
    database = Database(sqlite_database_url)
    with pytest.raises(IntegrityError):
        with database.write() as session:
            session.add(WindowRow(hall_id="no-such-hall", id="w01", name="1号窗口"))
    database.dispose()


def test_missing_database_directory_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "not" / "there"
    with pytest.raises(StorageConfigError) as raised:
        create_engine_for(f"sqlite:///{missing}/counterwatch.db")
    assert str(missing) in str(raised.value) and "mkdir -p" in str(raised.value)


def test_database_directory_that_is_a_file(tmp_path: Path) -> None:
    blocker = tmp_path / "var"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(StorageConfigError, match="is not a directory"):
        Database(f"sqlite:///{blocker}/counterwatch.db")


def test_relative_sqlite_path_is_refused_and_resolved_from_the_config() -> None:
    with pytest.raises(StorageConfigError, match="relative"):
        create_engine_for("sqlite:///var/counterwatch.db")
    config = hall_config(base_dir=Path("/srv/hall/configs"))
    assert database_url(config) == "sqlite:////srv/hall/configs/var/counterwatch.db"
    central = config.model_copy(update={"storage": StorageConfig(url="postgresql://cw:s%40cret@db.local/cw")})
    assert database_url(central) == "postgresql+psycopg://cw:s%40cret@db.local/cw"


def test_urls_are_normalised() -> None:
    assert normalise_url("postgresql://cw:secret@db.local/counterwatch").drivername == "postgresql+psycopg"
    assert normalise_url("postgresql+psycopg://cw@db/cw").drivername == "postgresql+psycopg"
    with pytest.raises(StorageConfigError, match="unsupported database URL"):
        normalise_url("mysql://cw@db/cw")


def test_datetimes_round_trip_as_utc(database: Database) -> None:
    shanghai = timezone(timedelta(hours=8))
    local = datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=shanghai)
    with database.write() as session:
        session.add(AuditLogRow(at=local, actor_type="system", actor_id="test", action="t", object_type="x",
                                object_id="1"))
    with database.read() as session:
        stored = session.scalars(select(AuditLogRow.at)).one()
    assert stored == local and stored.utcoffset() == timedelta(0)
    assert stored == datetime(2026, 3, 2, 1, 30, 15, 123456, tzinfo=UTC)


def test_naive_datetimes_are_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        with database.write() as session:
            session.add(AuditLogRow(at=datetime(2026, 3, 2, 9, 30), actor_type="system", actor_id="test",
                                    action="t", object_type="x", object_id="1"))


def test_a_failed_write_transaction_leaves_nothing(database: Database) -> None:
    with pytest.raises(RuntimeError, match="boom"):
        with database.write() as session:
            session.add(AuditLogRow(actor_type="system", actor_id="test", action="t", object_type="x", object_id="1"))
            session.flush()
            raise RuntimeError("boom")
    with database.read() as session:
        assert session.scalars(select(AuditLogRow)).all() == []


def test_sqlite_writers_in_threads_never_see_database_is_locked(sqlite_database_url: str) -> None:
    # Two Database objects on one file stand for two parts of the service (API and pipeline sink): the process-wide
    # lock per file and BEGIN IMMEDIATE must serialise them without "database is locked".
    databases = [Database(sqlite_database_url), Database(sqlite_database_url)]
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        database = databases[index % 2]
        try:
            for n in range(40):
                with database.write() as session:
                    count = session.execute(text("SELECT COUNT(*) FROM audit_log")).scalar_one()
                    session.add(AuditLogRow(actor_type="system", actor_id=f"t{index}", action="count",
                                            object_type="x", object_id=str(n), details={"seen": count}))
        except BaseException as error:  # noqa: BLE001
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(index,)) for index in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with databases[0].read() as session:
        seen = sorted(row.details["seen"] for row in session.scalars(select(AuditLogRow)))
    # Serialised read-then-write: every transaction saw a different count, 0 .. 239.
    assert seen == list(range(240))
    for database in databases:
        database.dispose()
