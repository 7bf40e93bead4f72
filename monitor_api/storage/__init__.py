"""Storage of the supervisory API: SQLAlchemy 2 models, engines (SQLite WAL / PostgreSQL), Alembic migrations, and
the repository functions the API, the pipeline sink and the CLI build on.

Typical start-up (single node):  database, report = open_hall_database(config)
Then every write goes through    with database.write() as session: ingest_event(session, event, evidence_store=...)
"""
from monitor_api.storage.access import (
    create_api_key,
    create_user,
    find_active_api_key,
    revoke_api_key,
    set_user_halls,
    user_by_username,
    visible_hall_ids,
)
from monitor_api.storage.audit import Actor, record_audit
from monitor_api.storage.db import Database, StorageConfigError, create_engine_for, database_url, normalise_url
from monitor_api.storage.evidence import (
    EvidencePathError,
    EvidenceStore,
    ExpiredEvidence,
    PurgeReport,
    evidence_allowed,
    expired_evidence,
    purge_evidence,
    resolve_evidence_path,
)
from monitor_api.storage.halls import HallSyncReport, sync_hall
from monitor_api.storage.incidents import event_payload, ingest_event, recover_open_incidents
from monitor_api.storage.labelling import SamplePurgeReport, expired_label_samples, purge_label_samples
from monitor_api.storage.migrate import current_revision, head_revision, migrate
from monitor_api.storage.pauses import pause_periods, record_pause_period, recover_open_pause_periods
from monitor_api.storage.reviews import (
    InvalidTransition,
    NotFound,
    ReviewError,
    SecondReviewerRequired,
    acknowledge_incident,
    decide_appeal,
    ensure_second_reviewer,
    file_appeal,
    review_incident,
)
from monitor_api.storage.startup import StartupReport, open_hall_database

__all__ = [
    "Actor", "Database", "EvidencePathError", "EvidenceStore", "ExpiredEvidence", "HallSyncReport",
    "InvalidTransition", "NotFound", "PurgeReport", "ReviewError", "SamplePurgeReport", "SecondReviewerRequired",
    "StartupReport", "StorageConfigError", "acknowledge_incident", "create_api_key", "create_engine_for",
    "create_user", "current_revision", "database_url", "decide_appeal", "ensure_second_reviewer", "event_payload",
    "evidence_allowed", "expired_evidence", "expired_label_samples", "file_appeal", "find_active_api_key",
    "head_revision", "ingest_event", "migrate", "normalise_url", "open_hall_database", "pause_periods",
    "purge_evidence", "purge_label_samples", "record_audit", "record_pause_period", "recover_open_incidents",
    "recover_open_pause_periods", "resolve_evidence_path", "review_incident", "revoke_api_key", "set_user_halls",
    "sync_hall", "user_by_username", "visible_hall_ids",
]
