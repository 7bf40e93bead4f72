"""Alembic: a fresh database migrated to head matches the models exactly, on SQLite and PostgreSQL."""
from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from counterwatch.county.local_servers import EmbeddedPostgres
from monitor_api.storage import create_engine_for, current_revision, head_revision, migrate
from monitor_api.storage.migrate import downgrade
from monitor_api.storage.models import Base

_names = itertools.count()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with no tables at all (not the pre-migrated copy the other tests use)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    server: EmbeddedPostgres = request.getfixturevalue("postgres_server")
    name = f"fresh_{next(_names)}"
    yield server.create_database(name)
    server.drop_database(name)


def _differences(url: str) -> list:
    engine = create_engine_for(url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True,
                                                                   "compare_server_default": True})
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_fresh_database_migrated_to_head_matches_the_models(empty_database_url: str) -> None:
    assert migrate(empty_database_url) == head_revision()
    assert _differences(empty_database_url) == []
    engine = create_engine_for(empty_database_url)
    try:
        assert set(inspect(engine).get_table_names()) == set(Base.metadata.tables) | {"alembic_version"}
    finally:
        engine.dispose()


def test_migrate_is_idempotent_and_reversible(empty_database_url: str) -> None:
    assert migrate(empty_database_url) == head_revision()
    assert migrate(empty_database_url) == head_revision()  # start-up on an up-to-date database: nothing to do
    assert downgrade(empty_database_url, "base") is None
    engine = create_engine_for(empty_database_url)
    try:
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        assert current_revision(engine) is None
    finally:
        engine.dispose()
    assert migrate(empty_database_url) == head_revision()
    assert _differences(empty_database_url) == []


def test_constraint_names_follow_the_naming_convention(empty_database_url: str) -> None:
    # Named constraints are what later migrations (batch mode on SQLite) need to alter them.
    migrate(empty_database_url)
    engine = create_engine_for(empty_database_url)
    try:
        inspector = inspect(engine)
        assert inspector.get_pk_constraint("incidents")["name"] == "pk_incidents"
        foreign = {fk["name"] for fk in inspector.get_foreign_keys("incidents")}
        assert "fk_incidents_hall_id_window_id_windows" in foreign
        unique = {uq["name"] for uq in inspector.get_unique_constraints("incident_events")}
        assert unique == {"uq_incident_events_incident_id_kind_ts"}
        checks = {ck["name"] for ck in inspector.get_check_constraints("incidents")}
        assert {"ck_incidents_incident_state", "ck_incidents_incident_review_state"} <= checks
    finally:
        engine.dispose()
