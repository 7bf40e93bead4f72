"""Hall config sync, pause periods, users/keys/audit rows, on SQLite and PostgreSQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from monitor_api.storage import (
    Actor,
    Database,
    create_api_key,
    create_user,
    find_active_api_key,
    ingest_event,
    pause_periods,
    record_audit,
    record_pause_period,
    recover_open_pause_periods,
    revoke_api_key,
    set_user_halls,
    sync_hall,
    user_by_username,
    visible_hall_ids,
)
from monitor_api.storage.halls import redact_source
from monitor_api.storage.models import (
    AuditLogRow,
    CameraRow,
    CameraWindowRow,
    HallRow,
    PausePeriodRow,
    PauseSource,
    Role,
    RosterEntryRow,
    StaffRow,
    WindowRow,
)
from tests.api.storage.helpers import HALL_YAML, T0, event, hall_config


def test_sync_hall_stores_the_config_and_is_idempotent(database: Database) -> None:
    config = hall_config()
    for _ in range(2):
        with database.write() as session:
            report = sync_hall(session, config)
    assert (report.windows, report.cameras, report.staff, report.roster_entries) == (2, 1, 2, 2)
    with database.read() as session:
        hall = session.get(HallRow, "hall-a")
        assert (hall.name, hall.timezone, hall.configured) == ("演示大厅", "Asia/Shanghai", True)
        windows = session.scalars(select(WindowRow).order_by(WindowRow.id)).all()
        assert [(w.id, w.name, w.department, w.pause_marker_id) for w in windows] == [
            ("w01", "1号窗口", "不动产登记", 1), ("w02", "2号窗口", "社保医保", 2)]
        camera = session.get(CameraRow, ("hall-a", "cam1"))
        assert camera.source == "rtsp://10.0.0.5:554/stream1"  # the password stays in the config file
        assert len(session.scalars(select(CameraWindowRow)).all()) == 2
        roster = session.scalars(select(RosterEntryRow).order_by(RosterEntryRow.position)).all()
        assert [(r.window_id, r.staff_id, r.days, r.start_time, r.end_time) for r in roster] == [
            ("w01", "s001", "mon,tue,wed,thu,fri,sat,sun", None, None), ("w02", "s002", "sat", "09:00", "12:00")]


def test_sync_hall_fills_placeholders_and_deactivates_what_left_the_config(database: Database) -> None:
    with database.write() as session:  # an incident arrives before the config was ever synced
        ingest_event(session, event("opened", "inc-1", window="w02", staff="s002"))
    with database.read() as session:
        assert session.get(WindowRow, ("hall-a", "w02")).configured is False
    with database.write() as session:
        sync_hall(session, hall_config())
    smaller = HALL_YAML.replace("  - {id: s002, name: 李娜, department: 社保医保}\n", "").replace(
        "  - {window: w02, staff: s002, days: [sat], hours: {start: \"09:00\", end: \"12:00\"}}\n", "")
    with database.write() as session:
        report = sync_hall(session, hall_config(smaller))
    assert report.deactivated == ("staff:s002",)
    with database.read() as session:
        window = session.get(WindowRow, ("hall-a", "w02"))
        assert (window.name, window.configured, window.active) == ("2号窗口", True, True)
        staff = session.get(StaffRow, ("hall-a", "s002"))
        assert (staff.name, staff.active) == ("李娜", False)  # kept: incident inc-1 refers to it
        assert len(session.scalars(select(RosterEntryRow)).all()) == 1


def test_redact_source() -> None:
    assert redact_source("rtsp://user:pa%40ss@cam.local:8554/live") == "rtsp://cam.local:8554/live"
    assert redact_source("rtsp://cam.local/live") == "rtsp://cam.local/live"
    assert redact_source("../var/demo/scene.mp4") == "../var/demo/scene.mp4"
    assert redact_source(0) == "usb:0"


@dataclass(frozen=True)
class Period:  # shaped like counterwatch.rules.pause.PausePeriod
    window_id: str
    source: str
    started_at: datetime
    ended_at: datetime | None = None


def test_pause_periods_are_recorded_open_then_closed_idempotently(database: Database) -> None:
    start, end = T0, T0 + timedelta(minutes=12)
    with database.write() as session:
        record_pause_period(session, "hall-a", Period("w01", "sign", start))
        record_pause_period(session, "hall-a", Period("w01", "sign", start))
        record_pause_period(session, "hall-a", Period("w01", "queue", start + timedelta(minutes=1)))
        record_pause_period(session, "hall-a", Period("w01", "sign", start, end))
        record_pause_period(session, "hall-a", Period("w01", "sign", start))  # a late "open" does not reopen it
    with database.read() as session:
        periods = pause_periods(session, "hall-a", "w01", T0 - timedelta(hours=1), T0 + timedelta(hours=1))
    assert [(p.source, p.started_at, p.ended_at) for p in periods] == [
        (PauseSource.SIGN, start, end), (PauseSource.QUEUE, start + timedelta(minutes=1), None)]
    later = T0 + timedelta(hours=2)
    with database.write() as session:
        assert recover_open_pause_periods(session, later) == 1
    with database.read() as session:
        assert session.scalars(select(PausePeriodRow.ended_at).where(PausePeriodRow.source == PauseSource.QUEUE)
                               ).one() == later
    with pytest.raises(ValueError, match="'lunch' is not a valid PauseSource"):
        with database.write() as session:
            record_pause_period(session, "hall-a", Period("w01", "lunch", start))
    with pytest.raises(ValueError, match="ends"):
        with database.write() as session:
            record_pause_period(session, "hall-a", Period("w01", "sign", end, start))


def test_users_scopes_keys_and_audit(database: Database) -> None:
    with database.write() as session:
        sync_hall(session, hall_config())
        supervisor = create_user(session, "wang", Role.SUPERVISOR, display_name="王主任",
                                 password_hash="$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA", halls=["hall-a"])
        manager = create_user(session, "liu", Role.MANAGER)
        staff_user = create_user(session, "zhang", Role.SUPERVISOR, staff=("hall-a", "s001"))
        key = create_api_key(session, "queue system", "cwk_ab12", "sha256:feed", ["queue:pause", "queue:pause"],
                             hall_id="hall-a", expires_at=T0 + timedelta(days=90), created_by=manager.id)
        record_audit(session, Actor.user(supervisor.id), "evidence.view", "evidence", 17, hall_id="hall-a",
                     details={"kind": "clip", "range": [0, 1024]}, client_ip="127.0.0.1")
    with database.read() as session:
        assert visible_hall_ids(session, user_by_username(session, "wang")) == frozenset({"hall-a"})
        assert visible_hall_ids(session, user_by_username(session, "liu")) is None
        assert user_by_username(session, "zhang").staff_id == "s001" and staff_user.staff_hall_id == "hall-a"
        found = find_active_api_key(session, "sha256:feed", T0)
        assert found is not None and found.scopes == ["queue:pause"]
        assert find_active_api_key(session, "sha256:feed", T0 + timedelta(days=90)) is None  # expired
        assert find_active_api_key(session, "sha256:other", T0) is None
        audit = session.scalars(select(AuditLogRow)).one()
        assert (audit.actor_type, audit.actor_id, audit.object_id, audit.details) == (
            "user", str(supervisor.id), "17", {"kind": "clip", "range": [0, 1024]})
    with database.write() as session:
        revoke_api_key(session, key.id, T0 + timedelta(days=1))
    with database.read() as session:
        assert find_active_api_key(session, "sha256:feed", T0 + timedelta(days=2)) is None
    with pytest.raises(LookupError, match="hall-z"):
        with database.write() as session:
            set_user_halls(session, supervisor.id, ["hall-a", "hall-z"])
    with pytest.raises(IntegrityError):
        with database.write() as session:
            create_user(session, "wang", Role.AUDITOR)  # usernames are unique
