"""Start-up: migrate, sync the hall, close what a crash left open; in that order, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from counterwatch.config.schema import StorageConfig
from monitor_api.storage import Database, head_revision, ingest_event, open_hall_database, record_pause_period
from monitor_api.storage.models import HallRow, IncidentRow, IncidentState, PausePeriodRow
from tests.api.storage.helpers import T0, event, hall_config
from tests.api.storage.test_halls_pauses_access import Period


def test_open_hall_database_recovers_what_a_crash_left_open(database_url: str) -> None:
    config = hall_config().model_copy(update={"storage": StorageConfig(url=database_url)})
    before_crash = Database(database_url)
    with before_crash.write() as session:  # the previous run stored these, then died
        ingest_event(session, event("opened", "inc-open"))
        record_pause_period(session, "hall-a", Period("w01", "sign", T0))
    before_crash.dispose()

    restart = T0 + timedelta(hours=1)
    database, report = open_hall_database(config, now=restart)
    try:
        assert report.revision == head_revision()
        assert report.recovered_incidents == ("inc-open",) and report.recovered_pause_periods == 1
        with database.read() as session:
            assert session.get(HallRow, "hall-a").configured is True
            incident = session.get(IncidentRow, "inc-open")
            assert (incident.state, incident.ended_at) == (IncidentState.CLOSED_BY_RECOVERY, restart)
            assert session.scalars(select(PausePeriodRow.ended_at)).one() == restart
        _, again = open_hall_database(config, now=restart + timedelta(minutes=5))
        assert again.recovered_incidents == () and again.recovered_pause_periods == 0
    finally:
        database.dispose()


def test_nested_write_transactions_fail_fast(sqlite_database_url: str) -> None:
    database = Database(sqlite_database_url)
    with pytest.raises(RuntimeError, match="inside another write transaction"):
        with database.write():
            with database.write():
                pass
    with database.write() as session:  # the lock was released: writing still works
        ingest_event(session, event("opened", "inc-1"))
    database.dispose()
