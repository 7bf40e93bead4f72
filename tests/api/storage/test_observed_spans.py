"""Observed time (observed_spans) as the pipeline bridge records it from scripted "stats" and "camera" messages, with
a fake bridge clock, on SQLite and PostgreSQL: frames extend a span with sparing writes, a gap or an offline camera
closes it, a restart opens a new one and a killed process leaves its span at its last write; and StoredCoverage
reads the record back as unobserved time per window."""
from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cameras.health import CameraHealth, CameraState
from counterwatch.runtime.messages import CameraStats
from monitor_api.app import build_services
from monitor_api.ingest import PipelineBridge
from monitor_api.reports.presence import StoredCoverage
from monitor_api.services import Services
from monitor_api.settings import ApiSettings
from monitor_api.storage import Database, sync_hall
from monitor_api.storage.models import ObservedSpanRow
from monitor_api.storage.observed import open_span
from tests.api.storage.helpers import hall_config

T = datetime(2026, 11, 5, 0, 0, tzinfo=UTC)  # 08:00 in the hall


class Clock:
    """The bridge's monotonic clock, in seconds."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def services(database: Database, tmp_path: Path) -> Services:
    settings = ApiSettings(database_url=str(database.url.render_as_string(hide_password=False)),
                           data_dir=tmp_path / "data", halls=(hall_config(),),
                           session_secret=secrets.token_urlsafe(40), min_free_bytes=0)
    with database.write() as session:
        sync_hall(session, settings.halls[0])
    return build_services(settings, database=database)


def _spans(services: Services) -> list[tuple[str, float, float]]:
    """(camera, start, end) in seconds after T."""
    with services.database.read() as session:
        rows = session.scalars(select(ObservedSpanRow).order_by(ObservedSpanRow.camera_id,
                                                                 ObservedSpanRow.started_at)).all()
    return [(row.camera_id, (row.started_at - T).total_seconds(), (row.ended_at - T).total_seconds()) for row in rows]


def _frames(bridge: PipelineBridge, clock: Clock, seconds: range, *, camera: str = "cam1") -> None:
    """A stats report every step of `seconds`, on the bridge clock and the frames' clock alike."""
    for second in seconds:
        clock.now = float(second)
        bridge.handle(CameraStats(camera, 4, T + timedelta(seconds=second)))


def _state(bridge: PipelineBridge, state: CameraState, last_frame: float | None, *, camera: str = "cam1") -> None:
    bridge.handle(CameraHealth(camera, state, "test", 0, 0, 0, 0,
                                         None if last_frame is None else T + timedelta(seconds=last_frame), None))


def test_frames_extend_a_span_written_sparingly(services: Services) -> None:
    clock = Clock()
    bridge = PipelineBridge(services, "hall-a", clock=clock)
    assert bridge.observed.tolerance_s == 60.0  # window_status_stale_s
    _frames(bridge, clock, range(2, 61, 2))  # 30 reports over a minute
    # Opened at once, then its end at most every 10 s: the last 8 s are not written yet.
    assert _spans(services) == [("cam1", 2.0, 52.0)] and bridge.observed.writes == 6
    clock.now = 62.0
    bridge.handle(CameraStats("cam1", 0, T + timedelta(seconds=60)))  # frames stopped: the end is stored
    assert _spans(services) == [("cam1", 2.0, 60.0)]
    clock.now = 64.0
    writes = bridge.observed.writes
    bridge.handle(CameraStats("cam1", 0, T + timedelta(seconds=60)))  # nothing new: no write
    assert bridge.observed.writes == writes


def test_gap_offline_and_restart_close_spans(services: Services) -> None:
    clock = Clock()
    bridge = PipelineBridge(services, "hall-a", clock=clock)
    _frames(bridge, clock, range(0, 61, 2))
    _frames(bridge, clock, range(180, 201, 2))  # two minutes without a report: a gap, the first span ends at 60
    assert _spans(services) == [("cam1", 0.0, 60.0), ("cam1", 180.0, 200.0)]

    clock.now = 202.0
    _state(bridge, CameraState.OFFLINE, last_frame=201.0)  # the reader had read a frame at 201 before it broke
    clock.now = 203.0
    bridge.handle(CameraStats("cam1", 1, T + timedelta(seconds=201)))  # ... analysed and reported late
    assert _spans(services)[-1] == ("cam1", 180.0, 201.0)
    clock.now = 226.0
    _state(bridge, CameraState.ONLINE, last_frame=226.0)  # back, with its first frame read at 226
    _frames(bridge, clock, range(230, 251, 2))  # 25 s after the last frame, but after an outage: a new span, from
    assert _spans(services)[-2:] == [("cam1", 180.0, 201.0), ("cam1", 226.0, 250.0)]  # the first frame read

    _frames(bridge, clock, range(252, 257, 2))  # then the process is killed: the span ends at its last write
    restarted_clock = Clock()
    restarted = PipelineBridge(services, "hall-a", clock=restarted_clock)
    _frames(restarted, restarted_clock, range(400, 411, 2))
    _state(restarted, CameraState.STALLED, last_frame=410.0)
    _frames(restarted, restarted_clock, range(412, 421, 2))  # frames again after the stall
    restarted.close()  # an orderly stop writes the last frames
    assert _spans(services) == [("cam1", 0.0, 60.0), ("cam1", 180.0, 201.0), ("cam1", 226.0, 250.0),
                                ("cam1", 400.0, 410.0), ("cam1", 412.0, 420.0)]


def test_a_late_pump_or_a_fast_replay_is_not_a_gap(services: Services) -> None:
    clock = Clock()
    bridge = PipelineBridge(services, "hall-a", clock=clock)
    _frames(bridge, clock, range(0, 21, 2))
    for step in range(5):  # the pump was blocked for two minutes: reports of continuous frames arrive at once
        clock.now = 150.0
        bridge.handle(CameraStats("cam1", 4, T + timedelta(seconds=22 + 2 * step)))
    for step in range(5):  # a file paced "fast": every 2 s, frames minutes apart in stream time
        clock.now = 152.0 + 2 * step
        bridge.handle(CameraStats("cam1", 400, T + timedelta(seconds=30 + 200 * (step + 1))))
    bridge.close()
    assert _spans(services) == [("cam1", 0.0, 1030.0)]


def test_a_failed_write_is_retried_later_without_stopping_the_pump(services: Services) -> None:
    from contextlib import contextmanager

    from sqlalchemy.exc import OperationalError

    class Busy:
        """The database, locked for the first write."""

        failures = 1

        @contextmanager
        def write(self):
            if self.failures:
                self.failures -= 1
                raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
            with services.database.write() as session:
                yield session

    clock = Clock()
    bridge = PipelineBridge(services, "hall-a", clock=clock)
    bridge.observed._database = Busy()  # type: ignore[assignment]
    _frames(bridge, clock, range(0, 9, 2))  # the start is not stored; no retry before the next due time
    assert _spans(services) == [] and bridge.observed.writes == 0
    _frames(bridge, clock, range(10, 13, 2))
    assert _spans(services) == [("cam1", 0.0, 10.0)]


def test_opening_a_span_again_finds_it(services: Services) -> None:
    with services.database.write() as session:
        first = open_span(session, "hall-a", "cam1", T, T + timedelta(seconds=30))
        again = open_span(session, "hall-a", "cam1", T, T + timedelta(seconds=10))  # re-delivered, older end
    assert first == again and _spans(services) == [("cam1", 0.0, 30.0)]


def test_stored_coverage_is_the_time_no_camera_of_the_window_observed(services: Services) -> None:
    clock = Clock()
    bridge = PipelineBridge(services, "hall-a", clock=clock)
    with services.database.read() as session:
        assert StoredCoverage.for_hall(session, "hall-a") is None  # no record yet: not told apart
    _frames(bridge, clock, range(0, 3601, 60))  # 08:00-09:00
    clock.now = 3660.0
    _state(bridge, CameraState.OFFLINE, last_frame=3600.0)
    _frames(bridge, clock, range(7200, 9001, 60))  # 10:00-10:30, then nothing more was written
    hour = timedelta(hours=1)
    now = T + timedelta(seconds=9000) + timedelta(minutes=5)  # the camera stopped reporting five minutes ago
    with services.database.read() as session:
        coverage = StoredCoverage.for_hall(session, "hall-a")
        assert coverage is not None and coverage.recording_since == T
        for window in ("w01", "w02"):  # cam1 views both
            assert coverage.unobserved(window, T - hour, now) == [(T + hour, T + 2 * hour),
                                                                  (T + timedelta(seconds=9000), now)]
        assert coverage.unobserved("w01", T - hour, T) == []  # before the record began: not told apart
        # A window no camera views is unobserved all along; the config's views take precedence over the database's.
        assert coverage.unobserved("w09", T, T + hour) == [(T, T + hour)]
        blind = StoredCoverage.for_hall(session, "hall-a", {"w01": {"cam-other"}})
        assert blind is not None and blind.unobserved("w01", T, now) == [(T, now)]
        assert StoredCoverage.for_hall(session, "hall-b") is None
