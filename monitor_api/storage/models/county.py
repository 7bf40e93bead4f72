"""The county deployment's tables: an edge's outbox, and the centre's commands and review pushes to edges.

`outbox` (edge): every message for the county centre is written here first, in the same transaction as the local
record when there is one, and deleted only after the JetStream server acknowledged it (counterwatch.county.uplink).
`id` orders delivery; `msg_id` is the de-duplication id the server sees (Nats-Msg-Id).

`county_commands` (centre): commands sent to an edge (a queue pause or resume) and when the edge acknowledged them.
`county_review_pushes` (centre): the review state last sent to the incident's edge, so that each change is pushed
once and a restarted centre sends what it had not.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor_api.storage.models.base import ID_LENGTH, INCIDENT_ID_LENGTH, Base
from monitor_api.storage.types import JSONDocument, UTCDateTime


class OutboxRow(Base):
    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_kind_id", "kind", "id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    msg_id: Mapped[str] = mapped_column(String(200), unique=True)
    subject: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # counterwatch.county.wire: incident, pause, status, ...
    payload: Mapped[str] = mapped_column(Text)  # the JSON document sent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class CountyCommandRow(Base):
    __tablename__ = "county_commands"
    __table_args__ = (Index("ix_county_commands_hall_created", "hall_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    kind: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(String(200))  # what the edge answered ("applied", or why not)


class CountyReviewPushRow(Base):
    __tablename__ = "county_review_pushes"

    incident_id: Mapped[str] = mapped_column(String(INCIDENT_ID_LENGTH), primary_key=True)
    review_state: Mapped[str] = mapped_column(String(16))
    pushed_at: Mapped[datetime] = mapped_column(UTCDateTime())
