"""Due process: a person's review of an incident, and appeals decided by a second reviewer."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from monitor_api.storage.models.base import AppealDecision, Base, ReviewDecision
from monitor_api.storage.types import UTCDateTime, enum_column


class ReviewRow(Base):
    """The review that confirmed or dismissed an incident. One per incident (unique): a later disagreement is an
    appeal, not a second review, so the first reviewer is always known."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), unique=True)
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"), index=True)
    decision: Mapped[ReviewDecision] = mapped_column(enum_column(ReviewDecision, "review_decision"))
    reason_code: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AppealRow(Base):
    __tablename__ = "appeals"
    __table_args__ = (Index("ix_appeals_incident", "incident_id", "filed_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    filed_by: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(Text)
    # The decider must differ from the first reviewer and from the appellant: monitor_api.storage.reviews.decide_appeal
    # enforces it (a CHECK cannot see the reviews table).
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="RESTRICT"))
    decision: Mapped[AppealDecision | None] = mapped_column(enum_column(AppealDecision, "appeal_decision"))
    decision_note: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
