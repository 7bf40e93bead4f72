"""What the service does with its database on start-up, in order: migrate, sync the hall config, recover."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from monitor_api.storage.db import Database, database_url
from monitor_api.storage.halls import HallSyncReport, sync_hall
from monitor_api.storage.incidents import recover_open_incidents
from monitor_api.storage.migrate import migrate
from monitor_api.storage.pauses import recover_open_pause_periods
from monitor_api.storage.types import utcnow

if TYPE_CHECKING:
    from counterwatch.config import HallConfig

logger = logging.getLogger("counterwatch.api.storage")


@dataclass(frozen=True)
class StartupReport:
    revision: str | None
    hall: HallSyncReport
    recovered_incidents: tuple[str, ...]
    recovered_pause_periods: int


def open_hall_database(config: HallConfig, *, now: datetime | None = None) -> tuple[Database, StartupReport]:
    """Open the hall's database (storage.url, relative SQLite paths resolved against the config file), migrate it
    to head, sync the hall config, and close what a crash left open (incidents: closed_by_recovery; pauses)."""
    now = now or utcnow()
    database = Database(database_url(config))
    revision = migrate(database)
    with database.write() as session:
        hall = sync_hall(session, config)
        recovered = recover_open_incidents(session, now, hall_id=config.hall.id)
        pauses = recover_open_pause_periods(session, now, hall_id=config.hall.id)
    return database, StartupReport(revision, hall, tuple(recovered), pauses)


def open_county_database(url: str, halls: tuple[HallConfig, ...]) -> tuple[Database, str | None]:
    """The county centre's database: migrated to head and every accepted hall's config synced. Open incidents are
    left alone: they belong to edges that are running, and their own closed events end them."""
    database = Database(url)
    revision = migrate(database)
    with database.write() as session:
        for config in halls:
            sync_hall(session, config)
    return database, revision
