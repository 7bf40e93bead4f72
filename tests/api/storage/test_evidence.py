"""Evidence files: size and hash at ingest, the free-disk guard (rows survive, flagged evidence_missing), per-class
retention purge, paths that try to leave the data directory. SQLite and PostgreSQL."""
from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from monitor_api.storage import (
    Database,
    EvidencePathError,
    EvidenceStore,
    evidence_allowed,
    file_appeal,
    ingest_event,
    purge_evidence,
    resolve_evidence_path,
    review_incident,
)
from monitor_api.storage.access import create_user
from monitor_api.storage.evidence import free_bytes
from monitor_api.storage.models import EvidenceKind, EvidenceRow, IncidentRow, ReviewDecision, Role
from tests.api.storage.helpers import T0, event


def _write(data_dir: Path, relative: str, payload: bytes) -> Path:
    path = data_dir / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(payload)
    return path


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    path = tmp_path / "data"
    path.mkdir()
    return path


def test_ingest_records_size_and_sha256(database: Database, data_dir: Path) -> None:
    jpeg = b"\xff\xd8 snapshot \xff\xd9"
    _write(data_dir, "hall-a/inc-1/snap.jpg", jpeg)
    store = EvidenceStore(data_dir, min_free_bytes=0)
    with database.write() as session:
        ingest_event(session, event("opened", "inc-1", snapshot="hall-a/inc-1/snap.jpg"), evidence_store=store)
    with database.read() as session:
        row = session.scalars(select(EvidenceRow)).one()
        assert (row.kind, row.path, row.bytes, row.sha256, row.retention_class, row.purged_at) == (
            EvidenceKind.SNAPSHOT, "hall-a/inc-1/snap.jpg", len(jpeg), hashlib.sha256(jpeg).hexdigest(), "snapshot",
            None)
        assert session.get(IncidentRow, "inc-1").evidence_missing is False


def test_a_file_that_never_arrived_flags_the_incident(database: Database, data_dir: Path) -> None:
    with database.write() as session:
        ingest_event(session, event("opened", "inc-1", snapshot="hall-a/inc-1/snap.jpg"),
                     evidence_store=EvidenceStore(data_dir, min_free_bytes=0))
    with database.read() as session:
        assert session.get(IncidentRow, "inc-1").evidence_missing is True
        assert session.scalars(select(EvidenceRow)).all() == []


def test_disk_guard(data_dir: Path) -> None:
    assert evidence_allowed(data_dir, 0) is True
    assert evidence_allowed(data_dir, free_bytes(data_dir) + 10**12) is False
    assert evidence_allowed(data_dir / "not-yet-created", 0) is True  # measured on the nearest existing parent
    with pytest.raises(ValueError):
        evidence_allowed(data_dir, -1)


def test_disk_nearly_full_keeps_the_incident_and_drops_the_files(database: Database, data_dir: Path) -> None:
    snapshot = _write(data_dir, "inc-1/snap.jpg", b"jpeg")
    clip = _write(data_dir, "inc-1/clip.mp4", b"mp4" * 1000)
    full = EvidenceStore(data_dir, min_free_bytes=free_bytes(data_dir) + 10**12)
    with database.write() as session:
        assert ingest_event(session, event("opened", "inc-1", snapshot="inc-1/snap.jpg"), evidence_store=full)
        assert ingest_event(session, event("closed", "inc-1", ts=60.0, clip="inc-1/clip.mp4"), evidence_store=full)
    with database.read() as session:
        incident = session.get(IncidentRow, "inc-1")
        assert incident is not None and incident.evidence_missing is True and incident.ended_at is not None
        assert session.scalars(select(EvidenceRow)).all() == []
    assert not snapshot.exists() and not clip.exists()  # dropped to leave the space to the database


def test_paths_outside_the_data_directory_are_never_recorded(database: Database, data_dir: Path) -> None:
    outside = _write(data_dir.parent, "secret.txt", b"not evidence")
    store = EvidenceStore(data_dir, min_free_bytes=10**18)  # the guard would delete whatever it accepted
    with database.write() as session:
        ingest_event(session, event("opened", "inc-1", snapshot="../secret.txt", clip=str(outside)),
                     evidence_store=store)
    assert outside.exists()
    with database.read() as session:
        assert session.get(IncidentRow, "inc-1").evidence_missing is True
        assert session.scalars(select(EvidenceRow)).all() == []
    (data_dir / "link").symlink_to(data_dir.parent)
    with pytest.raises(EvidencePathError):
        resolve_evidence_path(data_dir, "link/secret.txt")


def test_purge_by_retention_class(database: Database, data_dir: Path) -> None:
    store = EvidenceStore(data_dir, min_free_bytes=0)
    old, recent = T0 - timedelta(days=40), T0 - timedelta(days=2)
    files = {
        "old/snap.jpg": (event("opened", "old", snapshot="old/snap.jpg"), old),
        "old/clip.mp4": (event("closed", "old", ts=60.0, clip="old/clip.mp4"), old),
        "recent/snap.jpg": (event("opened", "recent", snapshot="recent/snap.jpg"), recent),
        "confirmed/snap.jpg": (event("opened", "confirmed", snapshot="confirmed/snap.jpg"), old),
        "appealed/snap.jpg": (event("opened", "appealed", snapshot="appealed/snap.jpg"), old),
        "gone/snap.jpg": (event("opened", "gone", snapshot="gone/snap.jpg"), old),
    }
    for relative, (item, when) in files.items():
        _write(data_dir, relative, relative.encode() * 10)
        with database.write() as session:
            ingest_event(session, item, evidence_store=store, now=when)
    (data_dir / "gone/snap.jpg").unlink()  # deleted by hand meanwhile: still marked purged
    with database.write() as session:
        reviewer = create_user(session, "reviewer", Role.SUPERVISOR)
        review_incident(session, "confirmed", reviewer.id, ReviewDecision.CONFIRM, "phone", "", T0)
        review_incident(session, "appealed", reviewer.id, ReviewDecision.CONFIRM, "phone", "", T0)
        file_appeal(session, "appealed", reviewer.id, "I was calling the citizen back", T0)
    retention = {"snapshot": 30, "clip": 30, "confirmed": 365}
    with database.write() as session:
        report = purge_evidence(session, data_dir, T0, retention)
    with database.read() as session:
        rows = {row.path: row for row in session.scalars(select(EvidenceRow))}
    purged = sorted(path for path, row in rows.items() if row.purged_at is not None)
    assert purged == ["gone/snap.jpg", "old/clip.mp4", "old/snap.jpg"]
    assert all(rows[path].purged_at == T0 for path in purged)
    assert report.bytes_freed == len(b"old/clip.mp4" * 10) + len(b"old/snap.jpg" * 10)
    assert (report.files_already_gone, report.failed) == (1, ())
    # Confirmed evidence has a longer retention class than unreviewed evidence.
    assert report.held_for_appeal == 0 and rows["appealed/snap.jpg"].retention_class == "confirmed"
    for path in ("recent/snap.jpg", "confirmed/snap.jpg", "appealed/snap.jpg"):
        assert (data_dir / path).exists() and rows[path].purged_at is None
    assert not (data_dir / "old/snap.jpg").exists() and not (data_dir / "old/clip.mp4").exists()
    # With a short class for confirmed evidence too, the appealed incident's evidence still waits for the decision.
    with database.write() as session:
        shorter = purge_evidence(session, data_dir, T0, {**retention, "confirmed": 30})
    assert shorter.held_for_appeal == 1 and len(shorter.purged_ids) == 1
    assert not (data_dir / "confirmed/snap.jpg").exists() and (data_dir / "appealed/snap.jpg").exists()
    with database.write() as session:
        again = purge_evidence(session, data_dir, T0, {**retention, "confirmed": 30})
    assert again.purged_ids == () and again.held_for_appeal == 1
    with database.write() as session:  # a class missing from the table is kept, whatever its age
        assert purge_evidence(session, data_dir, T0 + timedelta(days=3650), {"clip": 1}).purged_ids == ()
    assert (data_dir / "recent/snap.jpg").exists()
