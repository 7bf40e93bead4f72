"""`counterwatch purge` end to end: a hall config pointing at a migrated SQLite database and a data directory with
real evidence files and sampled frames; --dry-run deletes nothing, a real run deletes exactly the expired files."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from counterwatch.cli import main
from monitor_api.storage import Database, EvidenceStore, file_appeal, ingest_event, review_incident
from monitor_api.storage.access import create_user
from monitor_api.storage.models import ReviewDecision, Role
from tests.api.http.label_samples import seed_sample
from tests.api.storage.helpers import HALL_YAML, event

NOW = datetime.now(UTC)
OLD, RECENT = NOW - timedelta(days=400), NOW - timedelta(days=1)
RETENTION = "{snapshot: 30, clip: 30, confirmed: 365, samples: 30}"


def _write_config(tmp_path: Path, database_url: str, data_dir: Path, retention: str | None) -> Path:
    text = HALL_YAML.replace("  url: sqlite:///var/counterwatch.db\n",
                             f"  url: {database_url}\n  data_dir: {data_dir}\n")
    if retention is not None:
        text += f"  retention_days: {retention}\n"
    path = tmp_path / "hall.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _files(data_dir: Path) -> set[str]:
    return {path.relative_to(data_dir).as_posix() for path in data_dir.rglob("*") if path.is_file()}


@pytest.fixture
def hall(sqlite_database_url: str, tmp_path: Path) -> tuple[str, Path, dict[str, str]]:
    """A migrated database and data directory for hall-a: (url, data_dir, name -> evidence or sample path)."""
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    store = EvidenceStore(data_dir, min_free_bytes=0)
    database = Database(sqlite_database_url)
    paths: dict[str, str] = {}
    try:
        for name, when, kind in (("old-snap", OLD, "snapshot"), ("old-clip", OLD, "clip"),
                                 ("recent-snap", RECENT, "snapshot"), ("confirmed", OLD, "snapshot"),
                                 ("appealed", OLD, "snapshot"), ("appealed-later", OLD, "snapshot")):
            relative = f"evidence/{name}/{kind}.bin"
            (data_dir / relative).parent.mkdir(parents=True)
            (data_dir / relative).write_bytes(name.encode() * 100)
            incident = "old" if name.startswith("old") else name
            files = {"snapshot": relative} if kind == "snapshot" else {"clip": relative}
            with database.write() as session:
                ingest_event(session, event("opened" if kind == "snapshot" else "closed", incident,
                                            ts=10.0 if kind == "snapshot" else 60.0, **files),
                             evidence_store=store, now=when)
            paths[name] = relative
        with database.write() as session:
            reviewer = create_user(session, "reviewer", Role.SUPERVISOR)
            for incident in ("confirmed", "appealed", "appealed-later"):
                review_incident(session, incident, reviewer.id, ReviewDecision.CONFIRM, "phone", "", OLD)
            file_appeal(session, "appealed", reviewer.id, "I was calling the citizen back", OLD)
        # "appealed-later" was confirmed 400 days ago: class confirmed (365 d), no appeal -> purged.
        for name, when in (("old-sample", OLD), ("recent-sample", RECENT)):
            seed_sample(database, data_dir, "hall-a", "cam1", "w01", when, 0.5)
            paths[name] = f"samples/cam1/w01/{when:%Y%m%dT%H%M%S%fZ}.jpg"
    finally:
        database.dispose()
    return sqlite_database_url, data_dir, paths


def _invoke(*args: str):
    return CliRunner().invoke(main, ["purge", *args])


def test_dry_run_then_purge(hall: tuple[str, Path, dict[str, str]], tmp_path: Path) -> None:
    url, data_dir, paths = hall
    config = _write_config(tmp_path, url, data_dir, RETENTION)
    before = _files(data_dir)
    assert before == set(paths.values())

    dry = _invoke("--config", str(config), "--dry-run", "--json")
    assert dry.exit_code == 0, dry.output
    preview = json.loads(dry.output)
    assert preview["dry_run"] is True and preview["hall"] == "hall-a"
    assert preview["evidence"] == {"snapshot": 1, "clip": 1, "confirmed": 2}
    assert (preview["held_for_appeal"], preview["samples"]) == (1, 1)
    text = _invoke("--config", str(config), "--dry-run")
    assert text.exit_code == 0, text.output
    assert "dry run, nothing deleted" in text.output
    assert "would purge 4 file(s) (snapshot 1, clip 1, confirmed 2), 1 held for appeal" in text.output
    assert "samples: would purge 1" in text.output
    assert _files(data_dir) == before  # the dry runs deleted nothing

    result = _invoke("--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    expired = {paths[name] for name in ("old-snap", "old-clip", "confirmed", "appealed-later", "old-sample")}
    assert _files(data_dir) == before - expired
    assert report["evidence"]["purged"] == 4 and report["evidence"]["held_for_appeal"] == 1
    assert report["evidence"]["bytes_freed"] == sum(len(name.encode()) * 100 for name in
                                                    ("old-snap", "old-clip", "confirmed", "appealed-later"))
    assert report["evidence"]["failed"] == 0 and report["samples"]["purged"] == 1
    assert report["samples"]["bytes_freed"] > 0

    again = _invoke("--config", str(config))
    assert again.exit_code == 0, again.output
    assert "evidence: 0 purged, 0 bytes freed, 0 already gone, 1 held for appeal, 0 failed" in again.output
    assert "samples: 0 purged" in again.output
    assert _files(data_dir) == before - expired


def test_empty_retention_deletes_nothing(hall: tuple[str, Path, dict[str, str]], tmp_path: Path) -> None:
    url, data_dir, _ = hall
    before = _files(data_dir)
    for retention in (None, "{}"):
        config = _write_config(tmp_path, url, data_dir, retention)
        for args in ((), ("--dry-run",)):
            result = _invoke("--config", str(config), *args)
            assert result.exit_code == 0, result.output
            assert "retention is not configured" in result.output and "nothing is deleted" in result.output
        result = _invoke("--config", str(config), "--json")
        assert json.loads(result.output) == {"hall": "hall-a", "configured": False, "dry_run": False}
    assert _files(data_dir) == before


def test_bad_config_and_missing_database_fail_clearly(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    bad = _write_config(tmp_path, f"sqlite:///{tmp_path / 'cw.db'}", data_dir, "{snapshot: -1, audio: 3}")
    result = _invoke("--config", str(bad))
    assert result.exit_code == 2
    assert "storage.retention_days" in result.output
    missing = _write_config(tmp_path, f"sqlite:///{tmp_path / 'nope.db'}", data_dir, "{snapshot: 30}")
    result = _invoke("--config", str(missing))
    assert result.exit_code == 1 and "no database at" in result.output
    assert not (tmp_path / "nope.db").exists()  # purge never creates a database
    empty = tmp_path / "empty.db"
    unmigrated = Database(f"sqlite:///{empty}")
    unmigrated.engine.connect().close()  # the file exists, but was never migrated
    unmigrated.dispose()
    result = _invoke("--config", str(_write_config(tmp_path, f"sqlite:///{empty}", data_dir, "{snapshot: 30}")))
    assert result.exit_code == 1 and "schema revision None" in result.output and "migrate it" in result.output
