"""Reuse the API tests' database and world fixtures (SQLite and embedded PostgreSQL)."""
from tests.api.conftest import (  # noqa: F401
                                _postgres_template,
                                _sqlite_template,
                                database,
                                database_url,
                                postgres_database_url,
                                postgres_server,
                                sqlite_database_url,
)
from tests.api.http.conftest import sqlite_world, world  # noqa: F401
