"""Retention wired to the hall configs: purge_evidence per hall, the labelling samples' purge, run_retention over
several halls, and the hourly scheduler's tick. Real migrated databases (SQLite and PostgreSQL where the fixture is
`database`), real files under a temporary data directory."""
from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from counterwatch.config import HallConfig
from monitor_api.retention import RetentionScheduler, preview_retention, run_retention
from monitor_api.storage import (
    Database,
    EvidenceStore,
    expired_evidence,
    expired_label_samples,
    ingest_event,
    purge_evidence,
    purge_label_samples,
)
from monitor_api.storage.access import create_user
from monitor_api.storage.labelling import label_counts, label_queue, label_sample, labelled_samples
from monitor_api.storage.models import EvidenceRow, LabelSampleRow, Role
from tests.api.http.label_samples import seed_sample
from tests.api.storage.helpers import HALL_YAML, T0, event, hall_config

OLD, RECENT = T0 - timedelta(days=40), T0 - timedelta(days=2)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def _evidence(database: Database, data_dir: Path, hall: str, incident_id: str, when: datetime) -> list[Path]:
    """An incident of `hall` with a snapshot and a clip written `when`; returns the two files."""
    store = EvidenceStore(data_dir, min_free_bytes=0)
    files = []
    for _kind, relative in (("snapshot", f"{hall}/{incident_id}/snap.jpg"), ("clip", f"{hall}/{incident_id}/clip.mp4")):
        path = data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(relative.encode() * 7)
        files.append(path)
    with database.write() as session:
        snapshot, clip = (path.relative_to(data_dir).as_posix() for path in files)
        ingest_event(session, event("opened", incident_id, hall=hall, snapshot=snapshot), evidence_store=store,
                     now=when)
        ingest_event(session, event("closed", incident_id, hall=hall, ts=60.0, clip=clip), evidence_store=store,
                     now=when)
    return files


def _config(hall_id: str, retention: str) -> HallConfig:
    text = HALL_YAML.replace("hall: {id: hall-a,", f"hall: {{id: {hall_id},")
    return hall_config(text + (f"  retention_days: {retention}\n" if retention else ""))


def test_purge_evidence_of_one_hall_leaves_the_other_halls(database: Database, data_dir: Path) -> None:
    a_old = _evidence(database, data_dir, "hall-a", "a-old", OLD)
    a_recent = _evidence(database, data_dir, "hall-a", "a-recent", RECENT)
    b_old = _evidence(database, data_dir, "hall-b", "b-old", OLD)
    retention = {"snapshot": 30, "clip": 30}
    with database.read() as session:
        assert expired_evidence(session, T0, retention, hall_id="hall-a").by_class == {"snapshot": 1, "clip": 1}
        assert expired_evidence(session, T0, retention).by_class == {"snapshot": 2, "clip": 2}
    with database.write() as session:
        report = purge_evidence(session, data_dir, T0, retention, hall_id="hall-a")
    assert len(report.purged_ids) == 2
    assert report.bytes_freed == sum(len(path.relative_to(data_dir).as_posix().encode()) * 7 for path in a_old)
    assert not any(path.exists() for path in a_old)
    assert all(path.exists() for path in (*a_recent, *b_old))
    with database.read() as session:
        purged = {row.path for row in session.scalars(select(EvidenceRow).where(EvidenceRow.purged_at.is_not(None)))}
        assert expired_evidence(session, T0, retention, hall_id="hall-a").by_class == {"snapshot": 0, "clip": 0}
    assert purged == {path.relative_to(data_dir).as_posix() for path in a_old}
    with database.write() as session:  # without a hall, every hall's evidence (the behaviour before the filter)
        everyone = purge_evidence(session, data_dir, T0, retention)
    assert len(everyone.purged_ids) == 2 and not any(path.exists() for path in b_old)
    assert all(path.exists() for path in a_recent)


def _label(database: Database, sample_id: int, label: str) -> None:
    with database.write() as session:
        supervisor = create_user(session, f"sup-{sample_id}", Role.SUPERVISOR)
        label_sample(session, sample_id, label, supervisor.id, T0)


def _sample_file(database: Database, data_dir: Path, sample_id: int) -> Path:
    with database.read() as session:
        return data_dir / session.get(LabelSampleRow, sample_id).path


def test_purge_label_samples(database: Database, data_dir: Path) -> None:
    old_labelled, _ = seed_sample(database, data_dir, "hall-a", "cam1", "w01", OLD, 0.9)
    old_open, _ = seed_sample(database, data_dir, "hall-a", "cam1", "w01", OLD + timedelta(minutes=1), 0.8)
    old_gone, _ = seed_sample(database, data_dir, "hall-a", "cam1", "w02", OLD + timedelta(minutes=2), 0.7)
    stuck, _ = seed_sample(database, data_dir, "hall-a", "cam1", "w02", OLD + timedelta(minutes=3), 0.6)
    recent, _ = seed_sample(database, data_dir, "hall-a", "cam1", "w01", RECENT, 0.5)
    other_hall, _ = seed_sample(database, data_dir, "hall-b", "cam1", "w01", OLD + timedelta(seconds=5), 0.9)
    _label(database, old_labelled, "phone_use")
    _label(database, recent, "none")
    files = {sample_id: _sample_file(database, data_dir, sample_id)
             for sample_id in (old_labelled, old_open, old_gone, stuck, recent, other_hall)}
    files[old_gone].unlink()  # removed by hand meanwhile: counts as gone, the row is marked
    files[stuck].unlink()
    files[stuck].mkdir()  # a path that cannot be unlinked: the row stays unpurged and is retried
    sizes = {sample_id: path.stat().st_size for sample_id, path in files.items() if path.is_file()}
    with database.read() as session:
        assert {row.id for row in label_queue(session, {"hall-a"})} == {old_open, old_gone, stuck}
        assert [row.id for row in labelled_samples(session, "hall-a")] == [old_labelled, recent]
        assert expired_label_samples(session, T0, 30, hall_id="hall-a") == 4
        assert expired_label_samples(session, T0, 30, hall_id="hall-b") == 1
    with database.write() as session:
        report = purge_label_samples(session, data_dir, T0, 30, hall_id="hall-a")
    assert set(report.purged_ids) == {old_labelled, old_open, old_gone}
    assert report.bytes_freed == sizes[old_labelled] + sizes[old_open]
    assert (report.files_already_gone, report.failed) == (1, (stuck,))
    assert not files[old_labelled].exists() and not files[old_open].exists()
    assert files[recent].exists() and files[other_hall].exists() and files[stuck].is_dir()
    with database.read() as session:
        rows = {row.id: row for row in session.scalars(select(LabelSampleRow))}
        assert {sample_id for sample_id, row in rows.items() if row.purged_at == T0} == set(report.purged_ids)
        assert rows[old_labelled].label == "phone_use"  # the row and its label stay, as a record
        # Purged samples leave the queue, the export's list and the counts.
        assert {row.id for row in label_queue(session, {"hall-a"})} == {stuck}
        assert [row.id for row in labelled_samples(session, "hall-a")] == [recent]
        counts = label_counts(session, "hall-a")
        assert counts.remaining == 1 and counts.labelled["phone_use"] == 0 and counts.labelled["none"] == 1
        assert expired_label_samples(session, T0, 30, hall_id="hall-a") == 1  # the stuck one, retried
    files[stuck].rmdir()
    with database.write() as session:
        retry = purge_label_samples(session, data_dir, T0, 30, hall_id="hall-a")
    assert (retry.purged_ids, retry.files_already_gone, retry.failed) == ((stuck,), 1, ())
    with pytest.raises(ValueError, match=">= 0 days"):
        with database.write() as session:
            purge_label_samples(session, data_dir, T0, -1, hall_id="hall-a")


def test_run_retention_applies_each_halls_config(sqlite_database_url: str, data_dir: Path) -> None:
    database = Database(sqlite_database_url)
    try:
        a_files = _evidence(database, data_dir, "hall-a", "a-old", OLD)
        b_files = _evidence(database, data_dir, "hall-b", "b-old", OLD)
        c_files = _evidence(database, data_dir, "hall-c", "c-old", OLD)
        a_sample, _ = seed_sample(database, data_dir, "hall-a", "cam1", "w01", OLD, 0.5)
        b_sample, _ = seed_sample(database, data_dir, "hall-b", "cam1", "w01", OLD + timedelta(seconds=5), 0.5)
        a_sample_file = _sample_file(database, data_dir, a_sample)
        b_sample_file = _sample_file(database, data_dir, b_sample)
        halls = (_config("hall-a", "{snapshot: 30, clip: 30, samples: 30}"),
                 _config("hall-b", "{clip: 60}"),  # snapshots and samples of hall B are kept
                 _config("hall-c", ""))  # not configured: nothing of hall C is touched
        preview = preview_retention(database, halls, T0)
        assert set(preview) == {"hall-a", "hall-b"}
        assert preview["hall-a"].evidence.by_class == {"snapshot": 1, "clip": 1} and preview["hall-a"].samples == 1
        assert preview["hall-b"].evidence.by_class == {"clip": 0} and preview["hall-b"].samples is None
        assert all(path.exists() for path in (*a_files, *b_files, *c_files, a_sample_file))
        reports = run_retention(database, data_dir, halls, T0 + timedelta(days=30))
        assert set(reports) == {"hall-a", "hall-b"}
        assert len(reports["hall-a"].evidence.purged_ids) == 2 and reports["hall-a"].samples.purged_ids == (a_sample,)
        assert len(reports["hall-b"].evidence.purged_ids) == 1 and reports["hall-b"].samples is None
        assert not any(path.exists() for path in (*a_files, a_sample_file))
        assert b_files[0].exists() and not b_files[1].exists()  # hall B: the clip only
        assert all(path.exists() for path in (*c_files, b_sample_file))
    finally:
        database.dispose()


def test_scheduler_tick_purges_and_a_failed_tick_is_logged(sqlite_database_url: str, data_dir: Path,
                                                           tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    database = Database(sqlite_database_url)
    halls = (_config("hall-a", "{snapshot: 30, clip: 30}"),)
    try:
        files = _evidence(database, data_dir, "hall-a", "a-old", OLD)
        scheduler = RetentionScheduler(database, data_dir, halls)
        reports = scheduler.run_once(T0)
        assert reports is not None and len(reports["hall-a"].evidence.purged_ids) == 2
        assert not any(path.exists() for path in files)
        assert scheduler.run_once(T0)["hall-a"].evidence.purged_ids == ()  # nothing left to purge
    finally:
        database.dispose()
    unmigrated = Database(f"sqlite:///{tmp_path / 'empty.db'}")  # no tables: the run fails, the app goes on
    try:
        with caplog.at_level(logging.ERROR, logger="counterwatch.api.retention"):
            assert RetentionScheduler(unmigrated, data_dir, halls).run_once(T0) is None
        assert "retention run failed" in caplog.text
    finally:
        unmigrated.dispose()


def test_scheduler_runs_in_its_thread_and_stops_promptly(sqlite_database_url: str, data_dir: Path) -> None:
    database = Database(sqlite_database_url)
    halls = (_config("hall-a", "{snapshot: 30, clip: 30}"),)
    try:
        files = _evidence(database, data_dir, "hall-a", "a-old", OLD)
        idle = RetentionScheduler(database, data_dir, halls, first_delay_s=3600)
        idle.start()
        assert idle.running
        idle.stop()  # must not wait for the hour
        assert not idle.running and all(path.exists() for path in files)

        ticked = threading.Event()

        def clock() -> datetime:
            ticked.set()
            return T0

        scheduler = RetentionScheduler(database, data_dir, halls, first_delay_s=0, interval_s=3600, clock=clock)
        scheduler.start()
        assert ticked.wait(timeout=10)
        scheduler.stop()  # joins the thread, so the tick that read the clock has finished
        assert not scheduler.running
        assert not any(path.exists() for path in files)
    finally:
        database.dispose()
    with pytest.raises(ValueError):
        RetentionScheduler(database, data_dir, halls, interval_s=0)
