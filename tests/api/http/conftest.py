"""Fixtures of the HTTP tests: `world` (SQLite and PostgreSQL) and `sqlite_world` (SQLite only)."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.api.http.world import World, build_world


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    built = build_world(database_url, tmp_path / "data")
    yield built
    built.stop()


@pytest.fixture
def sqlite_world(sqlite_database_url: str, tmp_path: Path) -> Iterator[World]:
    built = build_world(sqlite_database_url, tmp_path / "data")
    yield built
    built.stop()
