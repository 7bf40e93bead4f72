"""Evidence files under the data directory: recording them, the free-disk guard, and per-class retention purge.

Files are named in the database relative to the data directory, so the directory can move (or be mounted elsewhere
on a central node) without rewriting rows. A path that would leave the data directory is never recorded, read or
deleted.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from monitor_api.storage.models import AppealRow, EvidenceKind, EvidenceRow, IncidentRow, ReviewState

logger = logging.getLogger("counterwatch.api.storage")

DEFAULT_MIN_FREE_BYTES = 2 * 1024**3  # below this, new evidence is dropped; rows still go to the database
# A review moves evidence to the class named after its outcome, so a hall can keep confirmed evidence (appeals,
# appraisal, the training set) longer than evidence nobody looked at.
RETENTION_CLASS_BY_REVIEW = {ReviewState.CONFIRMED: "confirmed", ReviewState.DISMISSED: "dismissed"}


class EvidencePathError(ValueError):
    """An evidence path that is absolute or climbs out of the data directory."""


def relative_evidence_path(path: str) -> str:
    """Normalise an evidence path to the '/'-separated form stored in the database; refuse escapes."""
    pure = PurePosixPath(path.replace("\\", "/"))
    if not path or pure.is_absolute() or ".." in pure.parts or str(pure) in ("", "."):
        raise EvidencePathError(f"evidence path {path!r} must be relative to the data directory, without '..'")
    return str(pure)


def resolve_evidence_path(data_dir: Path, path: str) -> Path:
    """The absolute file of a stored evidence path; EvidencePathError if it would leave data_dir (also via links)."""
    base = data_dir.resolve()
    candidate = (base / relative_evidence_path(path)).resolve()
    if not candidate.is_relative_to(base):
        raise EvidencePathError(f"evidence path {path!r} resolves outside the data directory {base}")
    return candidate


def free_bytes(data_dir: Path) -> int:
    """Free bytes on the file system holding data_dir (or its nearest existing parent)."""
    probe = data_dir
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free


def evidence_allowed(data_dir: Path, min_free_bytes: int = DEFAULT_MIN_FREE_BYTES) -> bool:
    """The free-disk guard: may evidence files still be written (and kept)?

    Writers of snapshots and clips ask before writing; ingest asks again and drops files that arrived anyway, so the
    database (which needs a little space for every row) never runs out because of video.
    """
    if min_free_bytes < 0:
        raise ValueError("min_free_bytes must be >= 0")
    free = free_bytes(data_dir)
    if free < min_free_bytes:
        logger.warning("evidence refused: %d bytes free under %s, the guard needs %d", free, data_dir, min_free_bytes)
        return False
    return True


@dataclass(frozen=True)
class EvidenceStore:
    """Where evidence files live and how much free disk the guard keeps. Pass it to ingest_event."""

    data_dir: Path
    min_free_bytes: int = DEFAULT_MIN_FREE_BYTES

    def __post_init__(self) -> None:
        if not self.data_dir.is_absolute():
            raise ValueError(f"EvidenceStore.data_dir must be absolute (resolve it with HallConfig.resolve), "
                             f"got {self.data_dir}")
        if self.min_free_bytes < 0:
            raise ValueError("EvidenceStore.min_free_bytes must be >= 0")

    def allowed(self) -> bool:
        return evidence_allowed(self.data_dir, self.min_free_bytes)


def _sha256_of(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return size, digest.hexdigest()


def sha256_of_file(path: Path) -> str:
    """The hex sha256 of a file (FileNotFoundError when it is gone)."""
    return _sha256_of(path)[1]


def record_evidence(session: Session, incident: IncidentRow, files: list[tuple[EvidenceKind, str]],
                    store: EvidenceStore | None, now: datetime) -> None:
    """Attach the event's evidence files to the incident; set evidence_missing for any that cannot be kept.

    Without a store (a node that does not hold the files) only the paths are recorded. With a store, a file is kept
    with its size and sha256 when the guard allows it; when the disk is nearly full the file is deleted and the
    incident flagged, and a file that never arrived also flags it. The incident row itself is never refused.
    """
    if not files:
        return
    known = set(session.scalars(select(EvidenceRow.path).where(EvidenceRow.incident_id == incident.id)))
    disk_ok = store.allowed() if store is not None else True
    retention_class_override = RETENTION_CLASS_BY_REVIEW.get(incident.review_state)
    for kind, raw_path in files:
        try:
            path = relative_evidence_path(raw_path)
            absolute = resolve_evidence_path(store.data_dir, path) if store is not None else None
        except EvidencePathError as error:
            logger.warning("incident %s: %s; not recorded", incident.id, error)
            incident.evidence_missing = True
            continue
        if path in known:
            continue
        size: int | None = None
        sha256: str | None = None
        if absolute is not None:
            if not disk_ok:
                _drop_file(absolute, incident.id)
                incident.evidence_missing = True
                continue
            try:
                size, sha256 = _sha256_of(absolute)
            except FileNotFoundError:
                logger.warning("incident %s: evidence file %s is missing", incident.id, absolute)
                incident.evidence_missing = True
                continue
        session.add(EvidenceRow(incident_id=incident.id, kind=kind, path=path, bytes=size, sha256=sha256,
                                retention_class=retention_class_override or kind.value, created_at=now))
        known.add(path)


def _drop_file(path: Path, incident_id: str) -> None:
    try:
        path.unlink()
        logger.warning("incident %s: disk nearly full, evidence %s dropped", incident_id, path)
    except FileNotFoundError:
        pass
    except OSError as error:
        logger.error("incident %s: could not drop evidence %s: %s", incident_id, path, error)


def set_retention_class(session: Session, incident_id: str, retention_class: str) -> int:
    """Move an incident's unpurged evidence to another retention class (a review outcome); returns rows changed."""
    rows = session.scalars(select(EvidenceRow).where(EvidenceRow.incident_id == incident_id,
                                                     EvidenceRow.purged_at.is_(None))).all()
    for row in rows:
        row.retention_class = retention_class
    return len(rows)


@dataclass(frozen=True)
class PurgeReport:
    purged_ids: tuple[int, ...]
    bytes_freed: int
    files_already_gone: int
    held_for_appeal: int  # past retention but kept: the incident has an undecided appeal
    failed: tuple[int, ...]  # files that could not be deleted (left unpurged, retried next time)


def _check_retention(retention_days_by_class: Mapping[str, float]) -> None:
    for name, days in retention_days_by_class.items():
        if days < 0:
            raise ValueError(f"retention for class {name!r} must be >= 0 days, got {days}")


def _expired(retention_class: str, cutoff: datetime, hall_id: str | None) -> list[ColumnElement[bool]]:
    """Unpurged evidence of a class created before cutoff (of one hall's incidents, when hall_id is given)."""
    conditions = [EvidenceRow.purged_at.is_(None), EvidenceRow.retention_class == retention_class,
                  EvidenceRow.created_at < cutoff]
    if hall_id is not None:
        conditions.append(EvidenceRow.incident_id.in_(select(IncidentRow.id).where(IncidentRow.hall_id == hall_id)))
    return conditions


def _open_appeal() -> ColumnElement[bool]:
    return exists().where(AppealRow.incident_id == EvidenceRow.incident_id, AppealRow.decided_at.is_(None))


@dataclass(frozen=True)
class FileRemoval:
    purge: bool  # mark the row purged (deleted, already gone, or a path outside data_dir); False: retry next time
    freed: int  # bytes deleted
    gone: bool  # the file was already missing


def remove_data_file(data_dir: Path, relative: str, what: str) -> FileRemoval:
    """Delete a file kept under data_dir for retention (evidence, sampled frames). A path that would leave data_dir
    is never touched but counts as purged (the row points nowhere it may); a file that cannot be deleted is not."""
    try:
        path = resolve_evidence_path(data_dir, relative)
        size = path.stat().st_size
        path.unlink()
        return FileRemoval(True, size, False)
    except FileNotFoundError:
        return FileRemoval(True, 0, True)
    except EvidencePathError as error:
        logger.error("%s: %s; marked purged without touching the disk", what, error)
        return FileRemoval(True, 0, False)
    except OSError as error:
        logger.error("%s: cannot delete %s: %s", what, relative, error)
        return FileRemoval(False, 0, False)


@dataclass(frozen=True)
class RowsPurged:
    purged: tuple[int, ...]
    failed: tuple[int, ...]
    freed: int
    gone: int


def purge_rows(rows: Sequence[Any], data_dir: Path, now: datetime, what: str) -> RowsPurged:
    """Remove each row's file (`row.path` under data_dir) and mark the row `purged_at = now`; a row whose file
    cannot be deleted stays unpurged (the next run retries). `what` names a row in log lines ("evidence")."""
    purged: list[int] = []
    failed: list[int] = []
    freed = gone = 0
    for row in rows:
        removal = remove_data_file(data_dir, row.path, f"{what} {row.id}")
        if not removal.purge:
            failed.append(row.id)
            continue
        freed += removal.freed
        gone += removal.gone
        row.purged_at = now
        purged.append(row.id)
    return RowsPurged(tuple(purged), tuple(failed), freed, gone)


def purge_evidence(session: Session, data_dir: Path, now: datetime,
                   retention_days_by_class: Mapping[str, float], *, hall_id: str | None = None) -> PurgeReport:
    """Delete evidence files older than their class's retention and mark their rows purged (rows stay, as a record).

    A class missing from the table is kept: retention is opt-in per class, never a default that deletes. Evidence of
    an incident with an undecided appeal is kept until the appeal is decided (due process needs it). With hall_id,
    only evidence of that hall's incidents is considered (each hall's config governs its own evidence); None: every
    hall. Files are deleted before the transaction commits: if the commit fails, a later run finds the files gone and
    marks the rows then, whereas the other order could leave files on disk that no row points to.
    """
    _check_retention(retention_days_by_class)
    if not retention_days_by_class:
        return PurgeReport((), 0, 0, 0, ())
    open_appeal = _open_appeal()
    purged: list[int] = []
    failed: list[int] = []
    freed = gone = held = 0
    for retention_class, days in retention_days_by_class.items():
        expired = _expired(retention_class, now - timedelta(days=days), hall_id)
        held += len(session.scalars(select(EvidenceRow.id).where(*expired, open_appeal)).all())
        rows = session.scalars(select(EvidenceRow).where(*expired, ~open_appeal).order_by(EvidenceRow.id)
                               .with_for_update(skip_locked=True)).all()
        done = purge_rows(rows, data_dir, now, "evidence")
        purged.extend(done.purged)
        failed.extend(done.failed)
        freed += done.freed
        gone += done.gone
    if purged:
        logger.info("purged %d evidence file(s)%s, %d bytes freed", len(purged),
                    f" of hall {hall_id}" if hall_id is not None else "", freed)
    return PurgeReport(tuple(purged), freed, gone, held, tuple(failed))


@dataclass(frozen=True)
class ExpiredEvidence:
    """What purge_evidence would do now, without doing it (a dry run)."""

    by_class: Mapping[str, int]  # retention class -> unpurged rows past retention that would be purged
    held_for_appeal: int  # past retention but kept: the incident has an undecided appeal


def expired_evidence(session: Session, now: datetime, retention_days_by_class: Mapping[str, float], *,
                     hall_id: str | None = None) -> ExpiredEvidence:
    """Count the evidence purge_evidence would purge with the same arguments; reads only."""
    _check_retention(retention_days_by_class)
    open_appeal = _open_appeal()
    by_class: dict[str, int] = {}
    held = 0
    for retention_class, days in retention_days_by_class.items():
        expired = _expired(retention_class, now - timedelta(days=days), hall_id)
        by_class[retention_class] = int(session.scalar(
            select(func.count()).select_from(EvidenceRow).where(*expired, ~open_appeal)) or 0)
        held += int(session.scalar(select(func.count()).select_from(EvidenceRow).where(*expired, open_appeal)) or 0)
    return ExpiredEvidence(by_class, held)


def evidence_file_exists(data_dir: Path, row: EvidenceRow) -> bool:
    """For /readyz-style checks and the API: is this row's file still on disk?"""
    try:
        return row.purged_at is None and os.path.isfile(resolve_evidence_path(data_dir, row.path))
    except EvidencePathError:
        return False
