"""Engines and sessions: SQLite (the single-node default) and PostgreSQL (multi-node), with one write discipline.

SQLite settings, applied to every new connection by a "connect" listener (the pool opens connections lazily, so a
one-off PRAGMA at start-up would miss later ones):
- journal_mode=WAL: readers (the dashboard, the live feed) never block the writer and vice versa.
- synchronous=FULL: a transaction whose COMMIT returned is on disk, even if the machine loses power; with WAL,
  NORMAL could lose the last commits, and "confirmed incidents survive kill -9" is a promise of the design.
- busy_timeout: a second process (e.g. `counterwatch users add` while the service runs) waits for the write lock
  instead of failing at once.
- foreign_keys=ON: SQLite does not enforce foreign keys unless told to, per connection.

File modes. The database holds staff records: a new SQLite file is created 0600 before SQLite opens it (SQLite gives
its -wal and -shm files the database file's mode), and an existing one open to other users is tightened
(counterwatch.private_files).

Single writer. SQLite allows one writer at a time per file. Inside a process every write transaction goes through
`Database.write()`, which holds a process-wide lock per database file and starts the transaction with BEGIN
IMMEDIATE, so the write lock is taken up front: a deferred transaction that reads first and writes later can fail with
SQLITE_BUSY at its first write without waiting (upgrading a stale WAL snapshot), which busy_timeout cannot help.
Across processes, BEGIN IMMEDIATE plus busy_timeout serialise writers. Reads use `Database.read()` and take no lock.
On PostgreSQL the lock is not taken: the server handles concurrent writers and the repository functions are written
to be safe under them (INSERT ... ON CONFLICT, SELECT ... FOR UPDATE).
"""
from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

from counterwatch.private_files import open_private, tighten

if TYPE_CHECKING:  # the config package imports shapely; keep `import monitor_api.storage` light
    from counterwatch.config import HallConfig

logger = logging.getLogger("counterwatch.api.storage")

DEFAULT_BUSY_TIMEOUT_MS = 5000
_SQLITE_BEGIN_OPTION = "counterwatch_sqlite_begin"


class StorageConfigError(RuntimeError):
    """The database cannot be opened as configured; the message names the path or URL and the fix."""


def normalise_url(url: str | URL) -> URL:
    """Parse a database URL; plain postgresql:// (as written in hall configs) selects the psycopg 3 driver."""
    parsed = make_url(url) if isinstance(url, str) else url
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise StorageConfigError(f"unsupported database URL {parsed.render_as_string(hide_password=True)!r}: use "
                                 "sqlite:////absolute/path.db or postgresql+psycopg://user@host/dbname")
    return parsed


def sqlite_path(url: URL) -> Path | None:
    """The file of a SQLite URL, or None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        return None
    return Path(database)


def _check_sqlite_file(path: Path) -> None:
    if not path.is_absolute():
        raise StorageConfigError(
            f"SQLite database path {str(path)!r} is relative: resolve it first (against the hall config's directory: "
            "HallConfig.resolve(), or monitor_api.storage.database_url(config))")
    directory = path.parent
    if not directory.exists():
        raise StorageConfigError(f"database directory {directory} does not exist: create it (mkdir -p {directory}) "
                                 "or point storage.url at an existing directory")
    if not directory.is_dir():
        raise StorageConfigError(f"database directory {directory} is not a directory: point storage.url at a file "
                                 "inside a directory")
    # SQLite creates the -wal and -shm files beside the database, so the directory itself must be writable.
    if not os.access(directory, os.W_OK | os.X_OK):
        raise StorageConfigError(f"database directory {directory} is not writable by this user (uid {os.getuid()}): "
                                 f"fix its permissions (chown/chmod) or point storage.url elsewhere")
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise StorageConfigError(f"database file {path} is not readable and writable by this user: fix its "
                                 "permissions or point storage.url elsewhere")


def _private_sqlite_file(path: Path) -> None:
    """Create the database file 0600 (empty: SQLite takes a 0-byte file as a new database) or tighten it and the
    files SQLite keeps beside it."""
    try:
        os.close(open_private(path, os.O_WRONLY))
    except OSError as error:
        raise StorageConfigError(f"database file {path} cannot be created: {error.strerror}: fix the permissions "
                                 "of its directory or point storage.url elsewhere") from None
    for file in (path, *(path.with_name(path.name + suffix) for suffix in ("-wal", "-shm", "-journal"))):
        tighten(file)


def _install_sqlite_listeners(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take BEGIN away from the sqlite3 module (it skips it before SELECT and DDL); _on_begin emits it instead.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            mode = cursor.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal" and engine.url.database not in (None, "", ":memory:"):
                raise StorageConfigError(f"SQLite database {engine.url.database} cannot use WAL mode (got {mode!r}): "
                                         "put it on a local file system, not a network share")
            cursor.execute("PRAGMA synchronous = FULL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        mode = connection.get_execution_options().get(_SQLITE_BEGIN_OPTION, "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


def create_engine_for(url: str | URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, echo: bool = False) -> Engine:
    """An engine for a SQLite file (absolute path; WAL, synchronous=FULL, busy timeout, foreign keys) or PostgreSQL.

    Raises StorageConfigError naming the path and the fix when a SQLite directory is missing or not writable.
    """
    parsed = normalise_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = sqlite_path(parsed)
        if path is not None:
            _check_sqlite_file(path)
            _private_sqlite_file(path)
        engine = create_engine(parsed, echo=echo)
        _install_sqlite_listeners(engine, busy_timeout_ms)
        return engine
    # pool_pre_ping: a PostgreSQL restart or a dropped connection is noticed before a request uses a dead one.
    return create_engine(parsed, echo=echo, pool_pre_ping=True)


_write_locks: dict[str, threading.Lock] = {}
_writing = threading.local()  # set while this thread is inside Database.write()
_write_locks_guard = threading.Lock()


def _write_lock_for(url: URL) -> threading.Lock | None:
    if url.get_backend_name() != "sqlite":
        return None
    path = sqlite_path(url)
    key = str(path.resolve()) if path is not None else f"memory:{id(url)}"
    with _write_locks_guard:
        return _write_locks.setdefault(key, threading.Lock())


class Database:
    """An engine plus the session discipline: `write()` for write transactions, `read()` for reads.

    Sessions keep their objects usable after commit (expire_on_commit=False): the API serialises rows it just wrote.
    Both block (the write lock, the database): from async code, call them in a worker thread (FastAPI runs plain
    `def` endpoints in its thread pool).
    """

    def __init__(self, url: str | URL, *, busy_timeout_ms: int = DEFAULT_BUSY_TIMEOUT_MS, echo: bool = False):
        self.url = normalise_url(url)
        self.engine = create_engine_for(self.url, busy_timeout_ms=busy_timeout_ms, echo=echo)
        self.backend = self.url.get_backend_name()
        self._write_lock = _write_lock_for(self.url)
        writer_engine = (self.engine.execution_options(**{_SQLITE_BEGIN_OPTION: "IMMEDIATE"})
                         if self.backend == "sqlite" else self.engine)
        self._read_sessions = sessionmaker(bind=self.engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(bind=writer_engine, expire_on_commit=False)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """One write transaction: committed when the block ends, rolled back if it raises.

        When this returns, the commit is durable (synchronous=FULL on SQLite): only then report the write as done.
        """
        if getattr(_writing, "active", False):
            # The outer transaction holds the write lock: the inner one would wait for itself (a thread deadlock,
            # or "database is locked" after busy_timeout). Pass the outer session down instead.
            raise RuntimeError("Database.write() inside another write transaction of this thread: pass the session")
        lock = self._write_lock
        if lock is not None:
            lock.acquire()
        _writing.active = True
        try:
            with self._write_sessions() as session, session.begin():
                yield session
        finally:
            _writing.active = False
            if lock is not None:
                lock.release()

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A unit of work for reads. Closing it rolls back anything flushed (reads never commit); loaded objects
        stay readable afterwards (close() detaches without expiring them)."""
        with self._read_sessions() as session:
            yield session

    def dispose(self) -> None:
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({self.url.render_as_string(hide_password=True)!r})"


def database_url(config: HallConfig) -> str:
    """The hall config's storage.url with a relative SQLite path resolved against the config file's directory."""
    parsed = normalise_url(config.storage.url)
    path = sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is not None and not path.is_absolute():
        parsed = parsed.set(database=str(config.resolve(str(path)).resolve()))
    return parsed.render_as_string(hide_password=False)
