"""Observed time: spans in which a camera's frames were analysed, the record that tells a report's unknown time.

The pipeline bridge (monitor_api.ingest) writes them from the runner's per-camera stats and camera states
(monitor_api.storage.observed): a span opens when a camera's frames are analysed, its end moves on every ~10 s, and a
gap or an offline, stalled or stopped camera closes it. There is no "open" flag: `ended_at` is always the end as far
as it was written, so a process killed mid-span leaves a span that ends at its last write, which is all it knows.
Times are frame wall times (UTC), the same clock incidents are stored in.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKeyConstraint, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from monitor_api.storage.models.base import ID_LENGTH, Base
from monitor_api.storage.types import UTCDateTime


class ObservedSpanRow(Base):
    __tablename__ = "observed_spans"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "camera_id"], ["cameras.hall_id", "cameras.id"]),
        # A span is written when it opens and again as it goes on: its start identifies it (a re-delivered start, e.g.
        # after a failed commit, finds the row instead of adding one). Also the index of per-camera reads.
        UniqueConstraint("hall_id", "camera_id", "started_at"),
        # Reports read a hall's spans over a period, and when the hall's record began.
        Index("ix_observed_spans_hall_time", "hall_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    camera_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the first analysed frame of the span
    ended_at: Mapped[datetime] = mapped_column(UTCDateTime())  # the last analysed frame, as far as written
