"""The ORM models. Importing this package registers every table on `Base.metadata` (Alembic's target)."""
from monitor_api.storage.models.access import ApiKeyRow, AuditLogRow, UserHallScopeRow, UserRow
from monitor_api.storage.models.base import (
    AppealDecision,
    Base,
    EventKindValue,
    EvidenceKind,
    IncidentState,
    PauseSource,
    ReviewDecision,
    ReviewState,
    Role,
)
from monitor_api.storage.models.county import CountyCommandRow, CountyReviewPushRow, OutboxRow
from monitor_api.storage.models.hall import CameraRow, CameraWindowRow, HallRow, RosterEntryRow, StaffRow, WindowRow
from monitor_api.storage.models.incidents import (
    ComplaintIncidentRow,
    ComplaintRow,
    EvidenceRow,
    IncidentEventRow,
    IncidentRow,
    PausePeriodRow,
    ScoreSnapshotRow,
    WebhookDeliveryRow,
)
from monitor_api.storage.models.labelling import LabelSampleRow
from monitor_api.storage.models.observed import ObservedSpanRow
from monitor_api.storage.models.review import AppealRow, ReviewRow

__all__ = [
    "ApiKeyRow", "AppealDecision", "AppealRow", "AuditLogRow", "Base", "CameraRow", "CameraWindowRow",
    "ComplaintIncidentRow", "ComplaintRow", "CountyCommandRow", "CountyReviewPushRow", "EventKindValue",
    "EvidenceKind", "EvidenceRow", "HallRow", "IncidentEventRow", "IncidentRow", "IncidentState", "LabelSampleRow",
    "ObservedSpanRow", "OutboxRow", "PausePeriodRow", "PauseSource", "ReviewDecision", "ReviewRow", "ReviewState",
    "Role", "RosterEntryRow", "ScoreSnapshotRow", "StaffRow", "UserHallScopeRow", "UserRow", "WebhookDeliveryRow",
    "WindowRow",
]
