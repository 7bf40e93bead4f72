"""Frames the runner sampled during service hours, queued for supervisors to label (the labelling queue).

A row is written when the runner stores a sampled, privacy-masked frame under DATA_DIR/samples/; `uncertainty`
(0..1, 1 = the current model is exactly at its decision threshold) orders the queue. A label given in the dashboard
or the API is kept on the row and audited like a review; `counterwatch dataset export` takes labelled frames as
samples of their label.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Float, ForeignKey, ForeignKeyConstraint, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from monitor_api.storage.models.base import ID_LENGTH, Base
from monitor_api.storage.types import JSONDocument, UTCDateTime

LABEL_LENGTH = 32


class LabelSampleRow(Base):
    __tablename__ = "label_samples"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "window_id"], ["windows.hall_id", "windows.id"]),
        ForeignKeyConstraint(["hall_id", "camera_id"], ["cameras.hall_id", "cameras.id"]),
        # The queue: unlabelled frames of a hall, least sure first.
        Index("ix_label_samples_queue", "hall_id", "label", "uncertainty"),
        Index("ix_label_samples_captured", "hall_id", "captured_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id"))
    camera_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    window_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    captured_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Relative to DATA_DIR, POSIX separators: samples/<camera>/<window>/<UTC stamp>.jpg. Unique: re-delivery of the
    # same stored frame does not queue it twice.
    path: Mapped[str] = mapped_column(String(512), unique=True)
    # [[behaviour, probability, threshold], ...]: what the current model said about this frame when it was sampled.
    scores: Mapped[list] = mapped_column(JSONDocument, default=list)
    uncertainty: Mapped[float] = mapped_column(Float)
    # A behaviour name, "none" (nothing forbidden) or "skip" (unusable frame: not exported); NULL while unlabelled.
    label: Mapped[str | None] = mapped_column(String(LABEL_LENGTH))
    labelled_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    labelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # the image was removed by retention
