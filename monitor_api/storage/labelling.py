"""The labelling queue's storage: frames the runner sampled, and the labels supervisors give them.

A label is written with its audit entry in the same transaction (like a review), so a label without its record
cannot be committed. Role and hall-scope checks belong to the API layer and run before these functions.

The queue's order: a hall needs about `learning.label_target_per_behaviour` (LABEL_TARGET, 50) labelled frames per
behaviour (`counterwatch models adapt-curve`), so unlabelled frames whose most likely behaviour (the highest
probability among the scores stored with the sample) is still below that target in its hall come first; within
each group the frame the current model is least sure about comes first, then the newest.
"""
from __future__ import annotations

import logging
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol

from sqlalchemy import ColumnElement, Float, and_, case, cast, func, not_, or_, select
from sqlalchemy.orm import Session

from counterwatch.behaviours import LABELLED_BEHAVIOURS
from counterwatch.config.schema import LABEL_TARGET
from monitor_api.storage._sql import insert_ignore
from monitor_api.storage.audit import Actor, record_audit
from monitor_api.storage.evidence import purge_rows
from monitor_api.storage.incidents import ensure_references
from monitor_api.storage.models import LabelSampleRow
from monitor_api.storage.reviews import InvalidTransition, NotFound

Score = tuple[str, float, float]  # (behaviour, probability, threshold)
NO_VIOLATION = "none"  # nothing forbidden in the frame: a negative sample for every head
SKIP = "skip"  # an unusable frame: kept out of the dataset
# Every behaviour with a labelling key, also those no learned head scores yet (smoking): the labels build their data.
BEHAVIOURS: tuple[str, ...] = LABELLED_BEHAVIOURS
LABELS: tuple[str, ...] = (*BEHAVIOURS, NO_VIOLATION, SKIP)
LABEL_ACTION = "label_sample.label"

logger = logging.getLogger("counterwatch.api.storage")


class LabelSampleLike(Protocol):
    """What the runner sends for one stored sample (structural: storage does not import the pipeline)."""

    @property
    def camera_id(self) -> str: ...
    @property
    def window_id(self) -> str: ...
    @property
    def captured_at(self) -> datetime: ...  # UTC, aware
    @property
    def path(self) -> str: ...  # relative to DATA_DIR, POSIX separators
    @property
    def scores(self) -> tuple[Score, ...]: ...
    @property
    def uncertainty(self) -> float: ...  # 0..1, 1 = the current model is at its threshold


def record_label_sample(session: Session, hall_id: str, sample: LabelSampleLike) -> LabelSampleRow:
    """Queue a stored sample for labelling. Idempotent on the path: a re-delivery changes nothing (not even a label
    already given)."""
    if sample.captured_at.tzinfo is None:
        raise ValueError(f"label sample {sample.path}: captured_at must be timezone-aware")
    if not 0.0 <= sample.uncertainty <= 1.0:
        raise ValueError(f"label sample {sample.path}: uncertainty {sample.uncertainty} is not within 0..1")
    if sample.path.startswith("/") or ".." in sample.path.split("/"):
        raise ValueError(f"label sample path {sample.path!r} must be relative to the data directory")
    ensure_references(session, hall_id, window_id=sample.window_id, camera_id=sample.camera_id)
    insert_ignore(session, LabelSampleRow,
                  {"hall_id": hall_id, "camera_id": sample.camera_id, "window_id": sample.window_id,
                   "captured_at": sample.captured_at, "path": sample.path,
                   "scores": [[name, float(p), float(t)] for name, p, t in sample.scores],
                   "uncertainty": float(sample.uncertainty)}, ["path"])
    row = session.execute(select(LabelSampleRow).where(LabelSampleRow.path == sample.path)).scalar_one()
    session.flush()
    return row


def labelled_samples(session: Session, hall_id: str, since: datetime | None = None,
                     labels: Sequence[str] | None = None) -> list[LabelSampleRow]:
    """Labelled, unpurged samples of a hall (oldest first), for the dataset export. `labels` narrows the labels."""
    query = (select(LabelSampleRow)
             .where(LabelSampleRow.hall_id == hall_id, LabelSampleRow.label.is_not(None),
                    LabelSampleRow.purged_at.is_(None))
             .order_by(LabelSampleRow.captured_at, LabelSampleRow.id))
    if since is not None:
        query = query.where(LabelSampleRow.captured_at >= since)
    if labels is not None:
        query = query.where(LabelSampleRow.label.in_(list(labels)))
    return list(session.scalars(query))


def _queue_condition(hall_ids: Collection[str] | None, window_id: str | None) -> ColumnElement[bool]:
    """Unlabelled, unpurged samples of the halls (None: every hall), optionally of one window."""
    conditions: list[ColumnElement[bool]] = [LabelSampleRow.label.is_(None), LabelSampleRow.purged_at.is_(None)]
    if hall_ids is not None:
        conditions.append(LabelSampleRow.hall_id.in_(sorted(hall_ids)))
    if window_id is not None:
        conditions.append(LabelSampleRow.window_id == window_id)
    return and_(*conditions)


def behaviour_counts(session: Session, hall_ids: Collection[str] | None) -> dict[str, dict[str, int]]:
    """hall -> behaviour -> unpurged samples labelled with it, for the halls (None: every hall); one grouped query.
    Only halls and behaviours with at least one such sample appear."""
    query = (select(LabelSampleRow.hall_id, LabelSampleRow.label, func.count())
             .where(LabelSampleRow.label.in_(BEHAVIOURS), LabelSampleRow.purged_at.is_(None))
             .group_by(LabelSampleRow.hall_id, LabelSampleRow.label))
    if hall_ids is not None:
        query = query.where(LabelSampleRow.hall_id.in_(sorted(hall_ids)))
    counts: dict[str, dict[str, int]] = {}
    for hall_id, label, count in session.execute(query).all():
        assert label is not None  # the query keeps labelled samples only
        counts.setdefault(hall_id, {})[label] = int(count)
    return counts


def top_behaviour(dialect: str) -> ColumnElement[str]:
    """A sample's most likely behaviour: the behaviour of the highest probability among its stored scores
    ([[behaviour, probability, threshold], ...]; on a tie the first listed), NULL when it has none. A subquery over
    the JSON array, correlated with label_samples."""
    if dialect == "postgresql":
        pg_score = (func.jsonb_array_elements(LabelSampleRow.scores)
                    .table_valued("value", with_ordinality="ordinal").render_derived(name="score"))
        return (select(pg_score.c.value.op("->>")(0))
                .order_by(cast(pg_score.c.value.op("->>")(1), Float).desc(), pg_score.c.ordinal)
                .limit(1).scalar_subquery())
    if dialect == "sqlite":
        sqlite_score = func.json_each(LabelSampleRow.scores).table_valued("key", "value").alias("score")
        return (select(func.json_extract(sqlite_score.c.value, "$[0]"))
                .order_by(func.json_extract(sqlite_score.c.value, "$[1]").desc(), sqlite_score.c.key)
                .limit(1).scalar_subquery())
    raise NotImplementedError(dialect)  # create_engine_for accepts only the two


def _reached_targets(session: Session, hall_ids: Collection[str] | None,
                     targets: Mapping[str, int]) -> dict[str, list[str]]:
    """hall -> the behaviours that have at least the hall's target of labelled samples (halls with none left out)."""
    reached: dict[str, list[str]] = {}
    for hall_id, per_behaviour in sorted(behaviour_counts(session, hall_ids).items()):
        target = targets.get(hall_id, LABEL_TARGET)
        done = [behaviour for behaviour, count in sorted(per_behaviour.items()) if count >= target]
        if done:
            reached[hall_id] = done
    return reached


def label_queue(session: Session, hall_ids: Collection[str] | None, *, window_id: str | None = None,
                limit: int = 50, targets: Mapping[str, int] | None = None) -> list[LabelSampleRow]:
    """The labelling queue: unlabelled, unpurged samples of the halls (None: every hall). First the samples whose
    most likely behaviour (top_behaviour) still has fewer labelled samples in its hall than the hall's target
    (`targets`: hall -> labelled samples per behaviour it aims for; a hall not named: LABEL_TARGET), then the rest
    (a behaviour that reached its target, or no scores); within each, the one the current model is least sure about
    first, then the newest."""
    if limit < 1:
        raise ValueError("limit must be >= 1")
    reached = _reached_targets(session, hall_ids, targets or {})
    ranked = (select(LabelSampleRow.id, LabelSampleRow.hall_id,
                     top_behaviour(session.get_bind().dialect.name).label("top"))
              .where(_queue_condition(hall_ids, window_id)).subquery("ranked"))
    below_target: ColumnElement[bool] = ranked.c.top.in_(BEHAVIOURS)
    if reached:
        below_target = and_(below_target, not_(or_(*(and_(ranked.c.hall_id == hall_id, ranked.c.top.in_(done))
                                                     for hall_id, done in reached.items()))))
    query = (select(LabelSampleRow).join(ranked, ranked.c.id == LabelSampleRow.id)
             .order_by(case((below_target, 0), else_=1), LabelSampleRow.uncertainty.desc(),
                       LabelSampleRow.captured_at.desc(), LabelSampleRow.id.desc())
             .limit(limit))
    return list(session.scalars(query))


def queue_remaining(session: Session, hall_ids: Collection[str] | None, *, window_id: str | None = None) -> int:
    """How many samples the queue holds (what label_queue would list without a limit)."""
    query = select(func.count()).select_from(LabelSampleRow).where(_queue_condition(hall_ids, window_id))
    return int(session.scalar(query) or 0)


def get_label_sample(session: Session, sample_id: int) -> LabelSampleRow | None:
    return session.get(LabelSampleRow, sample_id)


def label_sample(session: Session, sample_id: int, label: str, user_id: int, now: datetime) -> LabelSampleRow:
    """Give a sample its label (a head behaviour, "none" or "skip"). Relabelling is allowed; every label is audited
    (action label_sample.label, details {label, previous}). A sample whose image was purged cannot be labelled."""
    if label not in LABELS:
        raise ValueError(f"unknown label {label!r}: one of {', '.join(LABELS)}")
    row = session.execute(select(LabelSampleRow).where(LabelSampleRow.id == sample_id).with_for_update()
                          .execution_options(populate_existing=True)).scalar_one_or_none()
    if row is None:
        raise NotFound(f"label sample {sample_id} not found")
    if row.purged_at is not None:
        raise InvalidTransition(f"label sample {sample_id}: its image was purged by retention")
    previous = row.label
    row.label, row.labelled_by, row.labelled_at = label, user_id, now
    record_audit(session, Actor.user(user_id), LABEL_ACTION, "label_sample", row.id, hall_id=row.hall_id,
                 details={"label": label, "previous": previous}, at=now)
    session.flush()
    return row


@dataclass(frozen=True)
class LabelCounts:
    remaining: int  # unlabelled, unpurged: still in the queue
    labelled: dict[str, int]  # label -> unpurged samples with it (what the dataset export can take); every label


def label_counts(session: Session, hall_id: str) -> LabelCounts:
    """Samples per label and the queue's length for one hall (purged samples are not counted)."""
    rows = session.execute(select(LabelSampleRow.label, func.count())
                           .where(LabelSampleRow.hall_id == hall_id, LabelSampleRow.purged_at.is_(None))
                           .group_by(LabelSampleRow.label)).all()
    found = {label: int(count) for label, count in rows}
    return LabelCounts(remaining=found.pop(None, 0),
                       labelled={label: found.get(label, 0) for label in LABELS})


@dataclass(frozen=True)
class SamplePurgeReport:
    purged_ids: tuple[int, ...]
    bytes_freed: int
    files_already_gone: int
    failed: tuple[int, ...]  # images that could not be deleted (left unpurged, retried next time)


def _expired_samples(hall_id: str, cutoff: datetime) -> ColumnElement[bool]:
    return and_(LabelSampleRow.hall_id == hall_id, LabelSampleRow.purged_at.is_(None),
                LabelSampleRow.captured_at < cutoff)


def expired_label_samples(session: Session, now: datetime, days: float, *, hall_id: str) -> int:
    """How many samples purge_label_samples would purge with the same arguments (a dry run); reads only."""
    if days < 0:
        raise ValueError(f"sample retention must be >= 0 days, got {days}")
    query = select(func.count()).select_from(LabelSampleRow).where(
        _expired_samples(hall_id, now - timedelta(days=days)))
    return int(session.scalar(query) or 0)


def purge_label_samples(session: Session, data_dir: Path, now: datetime, days: float, *,
                        hall_id: str) -> SamplePurgeReport:
    """Delete the images of a hall's samples captured more than `days` before now and mark the rows purged (rows
    stay, labels included; purged samples leave the queue and the dataset export).

    An image already gone counts as gone and its row is marked; an image that cannot be deleted leaves its row
    unpurged, so the next run tries again. A stored path that would leave data_dir is marked purged without touching
    the disk. Files are deleted before the transaction commits (as in purge_evidence).
    """
    if days < 0:
        raise ValueError(f"sample retention must be >= 0 days, got {days}")
    rows = session.scalars(select(LabelSampleRow).where(_expired_samples(hall_id, now - timedelta(days=days)))
                           .order_by(LabelSampleRow.id).with_for_update(skip_locked=True)).all()
    done = purge_rows(rows, data_dir, now, "label sample")
    if done.purged:
        logger.info("purged %d label sample(s) of hall %s, %d bytes freed", len(done.purged), hall_id, done.freed)
    return SamplePurgeReport(done.purged, done.freed, done.gone, done.failed)
