"""The database, DATA_DIR, the session secret and the monthly reports are private to the service's user (0600 files,
0700 folders) whatever the umask, and a database or data folder left open by an earlier version is tightened."""
from __future__ import annotations

import os
import shutil
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from counterwatch.cli.serve import api_settings
from monitor_api.reports.monthly import generate_closed_months
from monitor_api.storage import Database, migrate, sync_hall
from tests.api.storage.helpers import hall_config


@pytest.fixture
def usual_umask():
    """The umask most systems start services with (022: new files 0644, folders 0755)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_database_and_its_wal_files_are_private(usual_umask, tmp_path: Path) -> None:
    path = tmp_path / "counterwatch.db"
    database = Database(f"sqlite:///{path}")
    try:
        migrate(database)
        files = {p.name: oct(mode(p)) for p in tmp_path.iterdir()}
        assert {"counterwatch.db", "counterwatch.db-wal", "counterwatch.db-shm"} <= set(files)
        assert set(files.values()) == {"0o600"}, files
    finally:
        database.dispose()


def test_a_world_readable_database_is_tightened_when_opened(usual_umask, sqlite_database_url: str) -> None:
    path = Path(sqlite_database_url.removeprefix("sqlite:///"))
    os.chmod(path, 0o644)
    database = Database(sqlite_database_url)
    try:
        assert mode(path) == 0o600
        migrate(database)  # still a working database
    finally:
        database.dispose()


def test_data_dir_and_session_secret_are_private_and_an_open_data_dir_is_tightened(
        usual_umask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("COUNTERWATCH_SESSION_SECRET", raising=False)
    config = hall_config(base_dir=tmp_path / "configs")
    settings = api_settings(config, cookie_secure=False, expect_cameras=False)
    data_dir = settings.data_dir
    assert data_dir == (tmp_path / "configs" / config.storage.data_dir).resolve()
    assert mode(data_dir) == 0o700
    assert mode(data_dir / ".session-secret") == 0o600
    assert mode(data_dir.parent) == 0o700  # folders made on the way are private too

    other = hall_config(base_dir=tmp_path / "old")
    old_data_dir = (tmp_path / "old" / other.storage.data_dir).resolve()
    old_data_dir.mkdir(parents=True)
    os.chmod(old_data_dir, 0o755)  # what earlier versions created
    api_settings(other, cookie_secure=False, expect_cameras=False)
    assert mode(old_data_dir) == 0o700


def test_monthly_report_files_are_private(usual_umask, sqlite_database_url: str, tmp_path: Path) -> None:
    database = Database(sqlite_database_url)
    try:
        with database.write() as session:
            sync_hall(session, hall_config())
        data_dir = tmp_path / "data"
        shutil.rmtree(data_dir, ignore_errors=True)
        written = generate_closed_months(database, data_dir, datetime(2026, 4, 2, 4, tzinfo=UTC))
    finally:
        database.dispose()
    assert {p.name for p in written} == {"hall-a.pdf", "hall-a.xlsx"}
    found = {p.relative_to(data_dir).as_posix(): oct(mode(p)) for p in data_dir.rglob("*")}
    assert found == {"reports": "0o700", "reports/2026-03": "0o700", "reports/2026-03/hall-a.pdf": "0o600",
                     "reports/2026-03/hall-a.xlsx": "0o600"}
