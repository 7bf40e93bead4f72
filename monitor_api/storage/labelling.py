"""The labelling queue's storage: frames the runner sampled, and the labels supervisors give them."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.storage._sql import insert_ignore
from monitor_api.storage.incidents import ensure_references
from monitor_api.storage.models import LabelSampleRow

Score = tuple[str, float, float]  # (behaviour, probability, threshold)


class LabelSampleLike(Protocol):
    """What the runner sends for one stored sample (structural: storage does not import the pipeline)."""

    camera_id: str
    window_id: str
    captured_at: datetime  # UTC, aware
    path: str  # relative to DATA_DIR, POSIX separators
    scores: tuple[Score, ...]
    uncertainty: float  # 0..1, 1 = the current model is at its threshold


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
