"""sweep_orphans: files under DATA_DIR/evidence and DATA_DIR/samples that no row references, last modified before the
cutoff, are deleted; referenced files (purged rows included), younger files, links and other folders stay. Real
migrated databases and real files."""
from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor_api.retention import schedule_orphan_sweep, sweep_orphans
from monitor_api.storage import Database, EvidenceStore, ingest_event
from tests.api.http.label_samples import seed_sample
from tests.api.storage.helpers import T0, event
from tests.support.waiting import wait_until

HOUR = 3600.0


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def _write(path: Path, *, age_s: float, body: bytes = b"jpeg") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(body)
    when = time.time() - age_s
    os.utime(path, (when, when))
    return path


def _age(path: Path, age_s: float) -> None:
    when = time.time() - age_s
    os.utime(path, (when, when))


def test_sweep_deletes_only_old_unreferenced_evidence_and_samples(database: Database, data_dir: Path,
                                                                  tmp_path: Path) -> None:
    snapshot = _write(data_dir / "evidence/inc-1/snapshot.jpg", age_s=HOUR)
    with database.write() as session:
        ingest_event(session, event("opened", "inc-1", snapshot="evidence/inc-1/snapshot.jpg"),
                     evidence_store=EvidenceStore(data_dir, min_free_bytes=0), now=T0)
    seed_sample(database, data_dir, "hall-a", "cam1", "w01", T0, 0.5)
    sample = next((data_dir / "samples/cam1/w01").iterdir())
    _age(sample, HOUR)
    lost = [_write(data_dir / "evidence/inc-2/snapshot.jpg", age_s=HOUR, body=b"12345"),
            _write(data_dir / "evidence/inc-2/clip.mp4", age_s=HOUR, body=b"123"),
            _write(data_dir / "evidence/inc-1/clip.mp4", age_s=HOUR),  # its incident has a row, the clip has none
            _write(data_dir / "samples/cam1/w02/20260302T013000000000Z.jpg", age_s=HOUR)]
    young = _write(data_dir / "evidence/inc-3/snapshot.jpg", age_s=10)
    others = [_write(data_dir / "incidents.jsonl", age_s=HOUR), _write(data_dir / "shadow/eating.jsonl", age_s=HOUR),
              _write(data_dir / "reports/2026-02.pdf", age_s=HOUR)]
    outside = _write(tmp_path / "elsewhere/photo.jpg", age_s=HOUR)
    (data_dir / "evidence/inc-4").mkdir()
    (data_dir / "evidence/inc-4/snapshot.jpg").symlink_to(outside)

    report = sweep_orphans(database, data_dir, datetime.now(UTC) - timedelta(seconds=60))

    assert (report.removed, report.bytes_freed, report.failed) == (4, 5 + 3 + 4 + 4, 0)
    assert [path for path in lost if path.exists()] == []
    assert not (data_dir / "evidence/inc-2").exists()  # the emptied incident folder goes too
    assert (data_dir / "samples/cam1/w02").is_dir()  # a window's sample folder stays: it is written to again
    assert snapshot.exists() and sample.exists() and young.exists() and outside.exists()
    assert all(path.exists() for path in others)
    assert (data_dir / "evidence/inc-4/snapshot.jpg").is_symlink()
    assert sweep_orphans(database, data_dir, datetime.now(UTC)).removed == 1  # now the young one too
    assert not young.exists() and snapshot.exists() and sample.exists()


def test_a_purged_row_still_references_its_path(database: Database, data_dir: Path) -> None:
    from monitor_api.storage import purge_evidence

    path = _write(data_dir / "evidence/inc-1/snapshot.jpg", age_s=HOUR)
    with database.write() as session:
        ingest_event(session, event("opened", "inc-1", snapshot="evidence/inc-1/snapshot.jpg"),
                     evidence_store=EvidenceStore(data_dir, min_free_bytes=0), now=T0)
    with database.write() as session:
        assert purge_evidence(session, data_dir, T0 + timedelta(days=40), {"snapshot": 30}).purged_ids
    _write(path, age_s=HOUR)  # the file came back (restored from a backup): retention's business, not the sweep's
    assert sweep_orphans(database, data_dir, datetime.now(UTC)).removed == 0
    assert path.exists()


def test_scheduled_sweep_takes_what_was_written_before_the_start(database: Database, data_dir: Path) -> None:
    started = datetime.now(UTC)
    before = _write(data_dir / "evidence/inc-1/snapshot.jpg", age_s=5)  # a crash just before this start
    after = _write(data_dir / "evidence/inc-2/snapshot.jpg", age_s=-5)  # this run's, its row still on its way
    timer = schedule_orphan_sweep(database, data_dir, started, delay_s=0.2)
    try:
        wait_until(lambda: not before.exists(), 10, "the scheduled sweep")
        assert after.exists()
    finally:
        timer.cancel()
