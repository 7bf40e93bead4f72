"""What the command-line tools read from a hall database, so that they hold no SQL of their own: the accounts and
API keys `counterwatch users list` / `keys list` print, whether any user exists (`run` / `serve` say how to get in),
the reviewed incidents `counterwatch dataset export` turns into samples, the review outcomes of
`counterwatch models shadow-report`, and the existing database `counterwatch purge` opens without migrating it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from monitor_api.storage.db import Database, database_url, normalise_url, sqlite_path
from monitor_api.storage.migrate import current_revision, head_revision
from monitor_api.storage.models import (
    ApiKeyRow,
    EvidenceKind,
    EvidenceRow,
    IncidentRow,
    ReviewRow,
    ReviewState,
    UserRow,
)

if TYPE_CHECKING:
    from counterwatch.config.schema import HallConfig

_DECIDED = (ReviewState.CONFIRMED, ReviewState.DISMISSED)


def users_by_id(session: Session) -> list[UserRow]:
    """Every user, in id order."""
    return list(session.scalars(select(UserRow).order_by(UserRow.id)))


def any_user(session: Session) -> bool:
    """Whether the database has at least one user."""
    return bool(session.scalar(select(func.count()).select_from(UserRow)))


def api_keys_by_id(session: Session) -> list[ApiKeyRow]:
    """Every API key (revoked ones included), in id order."""
    return list(session.scalars(select(ApiKeyRow).order_by(ApiKeyRow.id)))


@dataclass(frozen=True)
class ReviewedIncident:
    incident: IncidentRow
    review_id: int | None
    snapshot: str | None  # path of its latest unpurged snapshot, relative to DATA_DIR


def reviewed_incidents(session: Session, hall_id: str, since: datetime | None = None) -> list[ReviewedIncident]:
    """The hall's confirmed and dismissed incidents (oldest first; from `since` on), each with its review row (one
    per review: an incident reviewed twice comes twice) and its latest unpurged snapshot."""
    query = (select(IncidentRow, ReviewRow.id)
             .outerjoin(ReviewRow, ReviewRow.incident_id == IncidentRow.id)
             .where(IncidentRow.hall_id == hall_id, IncidentRow.review_state.in_(_DECIDED))
             .order_by(IncidentRow.started_at, IncidentRow.id))
    if since is not None:
        query = query.where(IncidentRow.started_at >= since)
    rows = session.execute(query).all()
    snapshots = dict(session.execute(
        select(EvidenceRow.incident_id, EvidenceRow.path)
        .where(EvidenceRow.kind == EvidenceKind.SNAPSHOT, EvidenceRow.purged_at.is_(None),
               EvidenceRow.incident_id.in_([incident.id for incident, _ in rows]))
        .order_by(EvidenceRow.id)).all())  # the latest snapshot row wins (a higher peak replaced it)
    return [ReviewedIncident(incident, review_id, snapshots.get(incident.id)) for incident, review_id in rows]


def review_outcomes(session: Session, hall_id: str) -> dict[str, bool]:
    """Incident id -> confirmed? for the hall's reviewed incidents (review_state confirmed / dismissed, so an upheld
    appeal's outcome is what counts)."""
    rows = session.execute(select(IncidentRow.id, IncidentRow.review_state)
                           .where(IncidentRow.hall_id == hall_id, IncidentRow.review_state.in_(_DECIDED))).all()
    return {incident_id: state is ReviewState.CONFIRMED for incident_id, state in rows}


def hall_review_outcomes(config: HallConfig) -> dict[str, bool] | None:
    """review_outcomes of the config's hall, read from its database; None when the hall's SQLite database file does
    not exist yet (nothing is created)."""
    url = database_url(config)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database and not Path(parsed.database).is_file():
        return None
    database = Database(url)
    try:
        with database.read() as session:
            return review_outcomes(session, config.hall.id)
    finally:
        database.dispose()


class DatabaseNotReady(RuntimeError):
    """The hall's database does not exist, cannot be opened or is not at the current schema; the message says
    which and what to do."""


def open_existing_database(config: HallConfig) -> Database:
    """The hall's database, which must exist and be at the current schema: never creates or migrates one (purge).
    StorageConfigError for a bad storage.url, DatabaseNotReady otherwise."""
    url = database_url(config)
    parsed = normalise_url(url)
    path = sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is not None and not path.exists():
        raise DatabaseNotReady(f"no database at {path} (storage.url): nothing to purge; `counterwatch run` or `serve` "
                               "creates it")
    database = Database(url)
    try:
        revision = current_revision(database.engine)
    except Exception as error:  # unreachable server, bad credentials, not a database
        database.dispose()
        raise DatabaseNotReady(f"cannot open {database!r}: {error}") from None
    if revision != head_revision():
        database.dispose()
        raise DatabaseNotReady(f"{database!r} is at schema revision {revision} but this version needs "
                               f"{head_revision()}: start `counterwatch run` or `serve` once to migrate it")
    return database


__all__ = ["DatabaseNotReady", "ReviewedIncident", "any_user", "api_keys_by_id", "open_existing_database",
           "hall_review_outcomes", "review_outcomes", "reviewed_incidents", "users_by_id"]
