"""kill -9 durability on SQLite: 4 x 25 = 100 SIGKILLs at random moments in this file.

A writer process stores incidents and reports each id only after its commit returned; after every kill the database
is reopened with the plain sqlite3 module and checked (monitor_api.storage.durability.check_database): every reported
id present, nothing stored twice, integrity_check ok, foreign keys consistent.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from monitor_api.storage import migrate
from monitor_api.storage.durability import check_database, run_durability

KILLS_PER_TEST = 25


@pytest.mark.parametrize(("seed", "max_run_s"), [(1, 0.05), (2, 0.1), (3, 0.2), (4, 0.3)])
def test_reported_incidents_survive_kill_9(tmp_path: Path, seed: int, max_run_s: float) -> None:
    # Half of the kills are timed from the spawn and land in start-up (the first writer migrates an empty file), the
    # others from the end of start-up and land in the writing loop, mid-commit more often than not.
    db_path = tmp_path / "durability.db"
    reported: set[str] = set()
    report = run_durability(db_path, KILLS_PER_TEST, seed=seed, max_run_s=max_run_s, reported=reported)
    assert report.problems == []
    assert report.kills == KILLS_PER_TEST
    assert report.reported == len(reported) > 0, "the writers must have stored something to check"
    assert report.stored >= report.reported
    with sqlite3.connect(db_path) as connection:
        stored = {row[0] for row in connection.execute("SELECT id FROM incidents")}
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert reported <= stored


def test_the_check_detects_a_lost_incident(tmp_path: Path) -> None:
    db_path = tmp_path / "durability.db"
    migrate(f"sqlite:///{db_path}")
    assert check_database(db_path, set())[0] == []
    problems, _, _ = check_database(db_path, {"reported-but-never-stored"})
    assert any("missing" in problem for problem in problems)
