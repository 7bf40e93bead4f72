"""Incidents, evidence, reviews and appeals as the API shows and accepts them."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from pydantic import Field

from monitor_api.schemas.common import InputModel, PublicModel
from monitor_api.storage.models import AppealDecision, EvidenceKind, IncidentState, ReviewDecision, ReviewState


class ReasonCode(str, enum.Enum):
    """Why a reviewer confirmed or dismissed: a fixed list, so reports can count reasons."""

    CONFIRMED_AS_DETECTED = "confirmed_as_detected"
    CONFIRMED_OTHER_BEHAVIOUR = "confirmed_other_behaviour"
    DISMISSED_FALSE_DETECTION = "dismissed_false_detection"
    DISMISSED_AUTHORISED_ABSENCE = "dismissed_authorised_absence"
    DISMISSED_PAUSE_NOT_SEEN = "dismissed_pause_not_seen"
    DISMISSED_WRONG_PERSON = "dismissed_wrong_person"
    DISMISSED_WORK_RELATED = "dismissed_work_related"
    DISMISSED_OTHER = "dismissed_other"


class EvidencePublic(PublicModel):
    id: int
    kind: EvidenceKind
    bytes: int | None
    sha256: str | None
    created_at: datetime
    purged: bool = Field(description="The file was deleted by retention; the row stays as a record.")
    url: str | None = Field(description="Where to fetch the file (each view is written to the audit log).")


class ReasonClausePublic(PublicModel):
    code: str = Field(description="What was seen, e.g. absent.no_staff (counterwatch.incidents.reasons.CODES).")
    params: dict[str, Any] = Field(description="The numbers behind it, e.g. {\"absent_s\": 60.0, \"dwell_s\": "
                                               "30.0}: *_s seconds, share fractions 0..1, *_at local times.")


class ReasonDetailPublic(ReasonClausePublic):
    notes: list[ReasonClausePublic] = Field(default_factory=list, description="Details added to it.")
    closed: ReasonClausePublic | None = Field(default=None, description="Why the incident closed, once it has.")


class IncidentPublic(PublicModel):
    id: str
    type: str
    hall_id: str
    window_id: str
    camera_id: str
    staff_id: str | None
    state: IncidentState
    review_state: ReviewState
    started_at: datetime
    ended_at: datetime | None
    confidence: float
    peak_confidence: float
    reason: str = Field(description="Why the system raised it, in plain English.")
    reason_detail: ReasonDetailPublic | None = Field(
        default=None, description="The same as a code and its numbers; null for incidents stored with text only.")
    attributes: dict[str, Any]
    evidence_missing: bool
    acknowledged_by: int | None
    acknowledged_at: datetime | None
    updated_at: datetime
    window_name: str | None = Field(default=None, description="The window's name as the hall calls it (1号窗口).")
    staff_name: str | None = Field(default=None, description="The staff member's name, when the hall's roster has it.")
    acknowledged_by_name: str | None = Field(
        default=None, description="Display name of who acknowledged it (detail only; null: none set).")


class ReviewPublic(PublicModel):
    id: int
    reviewer_id: int
    reviewer: str | None = Field(description="Username of the reviewer.")
    reviewer_name: str | None = Field(default=None, description="Display name of the reviewer (null: none set).")
    decision: ReviewDecision
    reason_code: str
    note: str
    at: datetime


class AppealPublic(PublicModel):
    id: int
    incident_id: str
    filed_by: int
    filed_at: datetime
    reason: str
    decided_by: int | None
    decision: AppealDecision | None
    decision_note: str
    decided_at: datetime | None
    filed_by_name: str | None = Field(default=None, description="Display name of the appellant (incident detail only).")
    decided_by_name: str | None = Field(default=None, description="Display name of the decider (incident detail only).")


class IncidentDetailPublic(IncidentPublic):
    review: ReviewPublic | None
    appeals: list[AppealPublic]
    evidence: list[EvidencePublic]


class ReviewCreate(InputModel):
    decision: ReviewDecision
    reason_code: ReasonCode
    note: str = Field(default="", max_length=2000)


class AppealCreate(InputModel):
    reason: str = Field(min_length=1, max_length=4000, description="Why the confirmation is wrong.")


class AppealDecisionCreate(InputModel):
    decision: AppealDecision
    note: str = Field(default="", max_length=2000)
