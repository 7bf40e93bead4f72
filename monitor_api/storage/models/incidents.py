"""Incidents as delivered by the rules, the log of every delivered event, evidence files, pauses, complaints."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from counterwatch.incidents.reasons import decode_stored
from monitor_api.storage.models.base import (
    ID_LENGTH,
    INCIDENT_ID_LENGTH,
    Base,
    EventKindValue,
    EvidenceKind,
    IncidentState,
    PauseSource,
    ReviewState,
)
from monitor_api.storage.types import JSONDocument, UTCDateTime, enum_column, utcnow


class IncidentRow(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "window_id"], ["windows.hall_id", "windows.id"]),
        ForeignKeyConstraint(["hall_id", "camera_id"], ["cameras.hall_id", "cameras.id"]),
        ForeignKeyConstraint(["hall_id", "staff_id"], ["staff.hall_id", "staff.id"]),
        # The list endpoints page by (started_at, id) within a hall, optionally narrowed to a window or a person.
        Index("ix_incidents_hall_started", "hall_id", "started_at", "id"),
        Index("ix_incidents_window_started", "hall_id", "window_id", "started_at"),
        Index("ix_incidents_staff_started", "hall_id", "staff_id", "started_at"),
        Index("ix_incidents_state", "state"),
        Index("ix_incidents_review_state", "review_state"),
    )

    id: Mapped[str] = mapped_column(String(INCIDENT_ID_LENGTH), primary_key=True)  # the event's incident_id
    type: Mapped[str] = mapped_column(String(32))
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id"))
    window_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    camera_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    staff_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    state: Mapped[IncidentState] = mapped_column(enum_column(IncidentState, "incident_state"),
                                                 default=IncidentState.OPEN)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    start_ts: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)  # as of the latest event (by stream time)
    peak_confidence: Mapped[float] = mapped_column(Float)
    # The structured reason as JSON with its English text, or text alone (older incidents): read it through
    # `reason_text` or counterwatch.incidents.reasons.decode_stored, never as it is.
    reason: Mapped[str] = mapped_column(Text, default="")
    attributes: Mapped[dict[str, Any]] = mapped_column(JSONDocument, default=dict)
    # Stream time and kind of the latest applied event: reason/confidence/attributes come from that event, whatever
    # order the events arrived in.
    last_event_ts: Mapped[float] = mapped_column(Float)
    last_event_kind: Mapped[EventKindValue] = mapped_column(enum_column(EventKindValue, "incident_last_event_kind"))
    review_state: Mapped[ReviewState] = mapped_column(enum_column(ReviewState, "incident_review_state"),
                                                      default=ReviewState.PENDING)
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The event named evidence that is not kept (disk nearly full, or the file never arrived): the row survives.
    evidence_missing: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    events: Mapped[list[IncidentEventRow]] = relationship(back_populates="incident", order_by="IncidentEventRow.id",
                                                          passive_deletes=True)
    evidence: Mapped[list[EvidenceRow]] = relationship(back_populates="incident", order_by="EvidenceRow.id",
                                                       passive_deletes=True)

    @property
    def reason_text(self) -> str:
        """The reason in plain English, whichever form it was stored in."""
        return decode_stored(self.reason)[0]


class IncidentEventRow(Base):
    """Each delivered event once. The unique key is the dedup gate that makes a repeated delivery a no-op."""

    __tablename__ = "incident_events"
    __table_args__ = (UniqueConstraint("incident_id", "kind", "ts"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    kind: Mapped[EventKindValue] = mapped_column(enum_column(EventKindValue, "incident_event_kind"))
    ts: Mapped[float] = mapped_column(Float)  # stream seconds of the event
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    payload: Mapped[dict[str, Any]] = mapped_column(JSONDocument)  # the event as delivered, for audit and replay

    incident: Mapped[IncidentRow] = relationship(back_populates="events")


class EvidenceRow(Base):
    __tablename__ = "evidence"
    __table_args__ = (
        UniqueConstraint("incident_id", "path"),
        Index("ix_evidence_purge", "purged_at", "retention_class", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), index=True)
    kind: Mapped[EvidenceKind] = mapped_column(enum_column(EvidenceKind, "evidence_kind"))
    path: Mapped[str] = mapped_column(String(512))  # relative to the data directory, '/'-separated
    bytes: Mapped[int | None] = mapped_column(BigInteger)  # null when the file was not at hand when recorded
    sha256: Mapped[str | None] = mapped_column(String(64))
    # A key of the retention table (days per class). Starts as the kind; a review moves it to confirmed/dismissed.
    retention_class: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    incident: Mapped[IncidentRow] = relationship(back_populates="evidence")


class PausePeriodRow(Base):
    """A period in which a window counted as paused, and who said so (the sign, the queue system, the schedule)."""

    __tablename__ = "pause_periods"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "window_id"], ["windows.hall_id", "windows.id"]),
        # A period is delivered when it opens and again when it ends: the start identifies it.
        UniqueConstraint("hall_id", "window_id", "source", "started_at"),
        Index("ix_pause_periods_window_time", "hall_id", "window_id", "started_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    window_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    source: Mapped[PauseSource] = mapped_column(enum_column(PauseSource, "pause_source"))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComplaintRow(Base):
    """A citizen complaint (投诉问责制 第二至六条): intake by channel, acceptance or rejection as invalid, resolution on
    the spot or by a supervision opinion with a deadline, the reply to the complainant. An upheld complaint against a
    staff member counts in scoring (monitor_api.scoring). The workflow lives in monitor_api.complaints."""

    __tablename__ = "complaints"
    __table_args__ = (
        ForeignKeyConstraint(["hall_id", "window_id"], ["windows.hall_id", "windows.id"]),
        ForeignKeyConstraint(["hall_id", "staff_id"], ["staff.hall_id", "staff.id"]),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    hall_id: Mapped[str] = mapped_column(ForeignKey("halls.id"), index=True)
    window_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    staff_id: Mapped[str | None] = mapped_column(String(ID_LENGTH))
    incident_id: Mapped[str | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    channel: Mapped[str] = mapped_column(String(32), default="")
    summary: Mapped[str] = mapped_column(Text, default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Added by revision 0002 (nullable or with a server default: rows of the placeholder table stay valid).
    status: Mapped[str] = mapped_column(String(16), default="received", server_default="received")
    complainant_name: Mapped[str | None] = mapped_column(String(64))  # real name optional (第四条 提倡实名)
    complainant_contact: Mapped[str | None] = mapped_column(String(128))
    filed_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    resolution: Mapped[str | None] = mapped_column(String(16))  # on_spot | supervision (第六条 一/二)
    supervision_opinion: Mapped[str | None] = mapped_column(Text)
    deadline: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(String(16))  # upheld | not_upheld
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ComplaintIncidentRow(Base):
    """Incidents a complaint refers to (any number; `complaints.incident_id` is the first, kept for old rows)."""

    __tablename__ = "complaint_incidents"

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True)
    incident_id: Mapped[str] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"), primary_key=True)


class WebhookDeliveryRow(Base):
    """The delivery log of the appraisal webhook: one row per logical delivery, retried by the worker until it
    succeeds or runs out of attempts. The body is fixed when enqueued so every attempt sends the same bytes under
    the same Idempotency-Key."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                    autoincrement=True)
    idempotency_key: Mapped[str] = mapped_column(String(64), unique=True)
    event: Mapped[str] = mapped_column(String(32))
    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH))
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | delivered | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ScoreSnapshotRow(Base):
    """The hash of the scores last pushed for a hall and period: only tells the webhook whether a recomputation
    changed anything. Never read as a score (scores are always recomputed from the record)."""

    __tablename__ = "score_snapshots"

    hall_id: Mapped[str] = mapped_column(String(ID_LENGTH), primary_key=True)
    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
