"""Schema migrations: `migrate(url)` upgrades a database to the newest revision; the service calls it on start-up."""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text
from sqlalchemy.engine import URL

from monitor_api.storage.db import _SQLITE_BEGIN_OPTION, Database, create_engine_for, normalise_url

logger = logging.getLogger("counterwatch.api.storage")

MIGRATIONS_DIR = Path(__file__).resolve().parents[1] / "migrations"
# Any constant works; it only has to be the same in every process that migrates the same PostgreSQL database.
_PG_MIGRATION_LOCK_KEY = 0x636F756E746572  # "counter"


def _quiet_alembic() -> None:
    """Alembic logs a few INFO lines on every upgrade, even one with nothing to do (its context, DDL mode, each
    revision run), and every CLI command that opens the database upgrades it. Keep them at DEBUG (`counterwatch -v`)
    or when the `alembic` logger was given a level of its own (logging configuration, alembic.ini)."""
    alembic_logger = logging.getLogger("alembic")
    if alembic_logger.level == logging.NOTSET and not logging.getLogger().isEnabledFor(logging.DEBUG):
        alembic_logger.setLevel(logging.WARNING)


def alembic_config(url: str | URL | None = None) -> Config:
    """A programmatic Alembic config (no alembic.ini needed at run time)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        # ConfigParser treats '%' as interpolation: escape it (percent-encoded passwords).
        rendered = normalise_url(url).render_as_string(hide_password=False)
        config.set_main_option("sqlalchemy.url", rendered.replace("%", "%%"))
    return config


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, f"no migrations in {MIGRATIONS_DIR}"
    return head


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextmanager
def _schema_transaction(engine: Engine, begin_mode: str = "DEFERRED") -> Iterator[Connection]:
    """One transaction for schema changes. On SQLite, foreign-key enforcement is off during it, as SQLite's own
    procedure for table rebuilds asks: batch mode copies a table, drops the original and renames the copy, and
    dropping a table with enforcement on deletes through ON DELETE CASCADE / SET NULL into every table that references
    it. The keys are checked before the commit instead, and enforcement is on again before the connection goes back
    to the pool."""
    sqlite = engine.dialect.name == "sqlite"
    with engine.connect() as connection:
        driver = connection.connection.driver_connection
        assert driver is not None  # a checked-out connection holds its driver's connection
        if sqlite:
            driver.execute("PRAGMA foreign_keys = OFF")  # a no-op inside a transaction: before BEGIN
        try:
            with connection.execution_options(**{_SQLITE_BEGIN_OPTION: begin_mode}).begin():
                yield connection
                if sqlite:
                    dangling = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if dangling:
                        raise RuntimeError(f"the migration left rows with dangling foreign keys: {dangling[:5]}")
        finally:
            if sqlite:
                driver.execute("PRAGMA foreign_keys = ON")


def migrate(target: str | URL | Database, revision: str = "head") -> str | None:
    """Upgrade the database to `revision` (default: the newest) and return the revision it is at afterwards.

    Safe when several processes start at once: on SQLite the migration runs in one BEGIN IMMEDIATE transaction (the
    others wait on busy_timeout, then find nothing to do); on PostgreSQL a transaction-scoped advisory lock
    serialises them. DDL is transactional on both, so a killed migration leaves the previous schema.
    """
    _quiet_alembic()
    owned = not isinstance(target, Database)
    engine = target.engine if isinstance(target, Database) else create_engine_for(target)
    try:
        before = current_revision(engine)
        begin_mode = "IMMEDIATE" if engine.dialect.name == "sqlite" else "DEFERRED"  # the option is SQLite-only
        with _schema_transaction(engine, begin_mode) as connection:
            if engine.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY})
            config = alembic_config(engine.url)
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
        after = current_revision(engine)
        if after != before:
            logger.info("database migrated from %s to %s", before or "empty", after)
        return after
    finally:
        if owned:
            engine.dispose()


def downgrade(target: str | URL | Database, revision: str) -> str | None:
    """Downgrade (for tests and for rolling back a release); returns the revision afterwards."""
    _quiet_alembic()
    owned = not isinstance(target, Database)
    engine = target.engine if isinstance(target, Database) else create_engine_for(target)
    try:
        with _schema_transaction(engine) as connection:
            config = alembic_config(engine.url)
            config.attributes["connection"] = connection
            command.downgrade(config, revision)
        return current_revision(engine)
    finally:
        if owned:
            engine.dispose()
