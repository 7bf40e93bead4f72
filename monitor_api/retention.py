"""Retention: each hall's `storage.retention_days` applied to its evidence and labelling samples.

`run_retention(database, data_dir, halls, now)` is the whole logic (tested with a fixed `now`): for every hall with
retention configured, its evidence (classes snapshot, clip, confirmed, dismissed) and its sampled frames ("samples")
past their retention are deleted from disk and marked purged, one write transaction per hall. A hall with empty
`retention_days` is skipped: nothing is deleted unless an operator configured it. `preview_retention` counts what a
run would purge without deleting anything (`counterwatch purge --dry-run`). `RetentionScheduler` runs it hourly from
a daemon thread while `counterwatch run` or `serve` runs.

Orphans: evidence and sampled frames are written by the workers before the parent stores the row that names them,
so a service killed in between leaves files no row references: outside retention, audit and the dashboard.
`sweep_orphans` deletes the files under DATA_DIR/evidence and DATA_DIR/samples that no row references and that were
last modified before a cutoff; `counterwatch run` sweeps on start (cutoff: ORPHAN_GRACE_S ago, time enough for a
file's row to arrive) and once more ORPHAN_GRACE_S later (cutoff: its start, which takes what a crash just before
the start left). The data directory's files are assumed to belong to this database's halls.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from sqlalchemy import select

from counterwatch.config.schema import EVIDENCE_RETENTION_CLASSES, SAMPLES_RETENTION_CLASS, HallConfig
from monitor_api.storage.db import Database
from monitor_api.storage.evidence import (
    ExpiredEvidence,
    PurgeReport,
    expired_evidence,
    purge_evidence,
    remove_data_file,
)
from monitor_api.storage.labelling import SamplePurgeReport, expired_label_samples, purge_label_samples
from monitor_api.storage.models import EvidenceRow, LabelSampleRow

logger = logging.getLogger("counterwatch.api.retention")

ORPHAN_GRACE_S = 120.0  # a file younger than this may still be on its way to the database: never an orphan yet
_PATHS_PER_QUERY = 500


def evidence_retention(config: HallConfig) -> dict[str, float]:
    """The evidence classes of a hall's retention_days (what purge_evidence takes)."""
    return {name: days for name, days in config.storage.retention_days.items() if name in EVIDENCE_RETENTION_CLASSES}


@dataclass(frozen=True)
class HallRetentionReport:
    hall_id: str
    evidence: PurgeReport
    samples: SamplePurgeReport | None  # None: "samples" is not configured, sampled frames are kept


@dataclass(frozen=True)
class HallRetentionPreview:
    hall_id: str
    evidence: ExpiredEvidence
    samples: int | None  # samples that would be purged; None: "samples" is not configured


def _configured(halls: Iterable[HallConfig]) -> Iterator[tuple[HallConfig, float | None]]:
    """The halls with retention configured, each with its samples' retention (None: samples are kept)."""
    for config in halls:
        if config.storage.retention_days:
            yield config, config.storage.retention_days.get(SAMPLES_RETENTION_CLASS)


def run_retention(database: Database, data_dir: Path, halls: Iterable[HallConfig],
                  now: dt.datetime) -> dict[str, HallRetentionReport]:
    """Purge each configured hall's expired evidence and samples; hall id -> report (halls without retention are
    left out). Each hall is its own write transaction, so one hall's failure does not undo another's purge."""
    reports: dict[str, HallRetentionReport] = {}
    for config, sample_days in _configured(halls):
        hall_id = config.hall.id
        with database.write() as session:
            evidence = purge_evidence(session, data_dir, now, evidence_retention(config), hall_id=hall_id)
            samples = (purge_label_samples(session, data_dir, now, sample_days, hall_id=hall_id)
                       if sample_days is not None else None)
        reports[hall_id] = HallRetentionReport(hall_id, evidence, samples)
    return reports


def preview_retention(database: Database, halls: Iterable[HallConfig],
                      now: dt.datetime) -> dict[str, HallRetentionPreview]:
    """What run_retention would purge now, per configured hall; deletes and writes nothing."""
    previews: dict[str, HallRetentionPreview] = {}
    for config, sample_days in _configured(halls):
        hall_id = config.hall.id
        with database.read() as session:
            evidence = expired_evidence(session, now, evidence_retention(config), hall_id=hall_id)
            samples = (expired_label_samples(session, now, sample_days, hall_id=hall_id)
                       if sample_days is not None else None)
        previews[hall_id] = HallRetentionPreview(hall_id, evidence, samples)
    return previews


class RetentionScheduler:
    """Runs `run_retention` after `first_delay_s` and then every `interval_s` (hourly by default). A failed run
    (database busy, disk error) is logged and tried again at the next tick."""

    def __init__(self, database: Database, data_dir: Path, halls: Iterable[HallConfig], *,
                 interval_s: float = 3600.0, first_delay_s: float = 120.0,
                 clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)) -> None:
        if interval_s <= 0 or first_delay_s < 0:
            raise ValueError("interval_s must be > 0 and first_delay_s >= 0")
        self._database, self._data_dir, self._halls = database, data_dir, tuple(halls)
        self._interval_s, self._first_delay_s, self._clock = interval_s, first_delay_s, clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        unconfigured = [config.hall.id for config in self._halls if not config.storage.retention_days]
        if unconfigured:
            logger.info("retention not configured for hall(s) %s: their evidence and samples are kept",
                        ", ".join(unconfigured))
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="retention", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def run_once(self, now: dt.datetime) -> Mapping[str, HallRetentionReport] | None:
        """One tick: the reports, or None when the run failed (logged; the next tick tries again)."""
        try:
            reports = run_retention(self._database, self._data_dir, self._halls, now)
        except Exception:  # retried at the next tick; the app keeps running
            logger.exception("retention run failed")
            return None
        for report in reports.values():
            failed = len(report.evidence.failed) + (len(report.samples.failed) if report.samples else 0)
            if failed:
                logger.warning("retention, hall %s: %d file(s) could not be deleted; retried next run",
                               report.hall_id, failed)
        return reports

    def _run(self) -> None:
        delay = self._first_delay_s
        while not self._stop.wait(delay):
            delay = self._interval_s
            self.run_once(self._clock())


@dataclass(frozen=True)
class OrphanReport:
    removed: int
    bytes_freed: int
    failed: int  # orphans that could not be deleted (logged; tried again at the next sweep)


def _files_before(data_dir: Path, folder: str, cutoff: float) -> Iterator[str]:
    """Regular files under data_dir/folder last modified before `cutoff` (epoch seconds), relative to data_dir and
    '/'-separated as rows store them. Links are neither followed nor returned."""
    for directory, folders, files in os.walk(data_dir / folder):
        folders.sort()
        for name in sorted(files):
            path = Path(directory) / name
            try:
                info = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISREG(info.st_mode) and info.st_mtime < cutoff:
                yield path.relative_to(data_dir).as_posix()


def _referenced(database: Database, paths: Sequence[str]) -> set[str]:
    """The paths among `paths` that an evidence or label-sample row names (purged rows included)."""
    found: set[str] = set()
    with database.read() as session:
        for start in range(0, len(paths), _PATHS_PER_QUERY):
            chunk = paths[start:start + _PATHS_PER_QUERY]
            found.update(session.scalars(select(EvidenceRow.path).where(EvidenceRow.path.in_(chunk))))
            found.update(session.scalars(select(LabelSampleRow.path).where(LabelSampleRow.path.in_(chunk))))
    return found


def sweep_orphans(database: Database, data_dir: Path, older_than: dt.datetime) -> OrphanReport:
    """Delete the files under data_dir/evidence and data_dir/samples that no row references and that were last
    modified before `older_than`; an incident folder left empty goes too. Other files of data_dir (incident and
    shadow logs, reports) are not looked at."""
    from counterwatch.dataset.sampler import SAMPLES_DIR
    from counterwatch.incidents.evidence import EVIDENCE_DIR

    cutoff = older_than.timestamp()
    candidates = [path for folder in (EVIDENCE_DIR, SAMPLES_DIR) for path in _files_before(data_dir, folder, cutoff)]
    referenced = _referenced(database, candidates) if candidates else set()
    removed = freed = failed = 0
    for relative in candidates:
        if relative in referenced:
            continue
        removal = remove_data_file(data_dir, relative, "orphaned file")
        if not removal.purge:
            failed += 1
            continue
        removed += not removal.gone
        freed += removal.freed
        parent = PurePosixPath(relative).parent
        if parent.parent == PurePosixPath(EVIDENCE_DIR):  # evidence/<incident id>/: one incident's folder
            try:
                (data_dir / parent).rmdir()
            except OSError:  # not empty: a referenced file is still there
                pass
    return OrphanReport(removed, freed, failed)


def sweep_orphans_logged(database: Database, data_dir: Path, older_than: dt.datetime) -> OrphanReport | None:
    """sweep_orphans with its outcome logged; None when it failed (logged; the next start sweeps again)."""
    try:
        report = sweep_orphans(database, data_dir, older_than)
    except Exception:  # a busy or unreachable database must not stop the service
        logger.exception("sweep of orphaned evidence files failed")
        return None
    if report.removed:
        logger.warning("removed %d orphaned evidence file(s) (%d bytes) that no database row references",
                       report.removed, report.bytes_freed)
    if report.failed:
        logger.warning("%d orphaned evidence file(s) could not be deleted", report.failed)
    return report


def schedule_orphan_sweep(database: Database, data_dir: Path, started: dt.datetime, *,
                          delay_s: float = ORPHAN_GRACE_S) -> threading.Timer:
    """After `delay_s`, sweep the orphans last modified before `started` (a daemon timer, started; cancel() it on
    shutdown)."""
    timer = threading.Timer(delay_s, sweep_orphans_logged, args=(database, data_dir, started))
    timer.name, timer.daemon = "orphan-sweep", True
    timer.start()
    return timer
