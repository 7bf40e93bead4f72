"""The edge's outbox on a real database: messages kept in order with the local record, bounded by dropping the
least valuable kinds first and never incidents; what the envelopes carry round-trips."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from cameras.health import CameraHealth, CameraState
from counterwatch.county import wire
from counterwatch.county.edge import EdgeOutbox
from counterwatch.rules.pause import PausePeriod
from counterwatch.runtime.messages import CameraStats, WindowStatus
from monitor_api.ingest import DatabaseSink
from monitor_api.storage import Database, EvidenceStore
from monitor_api.storage.models import IncidentRow, OutboxRow
from monitor_api.storage.outbox import next_batch, outbox_depth, trim_outbox
from tests.api.conftest import _sqlite_template, sqlite_database_url  # noqa: F401 (an edge's SQLite database)
from tests.api.storage.helpers import T0, lifecycle


@pytest.fixture
def database(sqlite_database_url: str):  # noqa: F811
    db = Database(sqlite_database_url)
    yield db
    db.dispose()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _status(present: bool, window: str = "w01") -> WindowStatus:
    return WindowStatus(window, "cam1", present, False, None, 1.0, T0)


def test_incidents_go_into_the_outbox_in_the_same_transaction(database: Database, tmp_path: Path) -> None:
    outbox = EdgeOutbox("hall-a", tmp_path)
    (tmp_path / "inc-1").mkdir()
    (tmp_path / "inc-1" / "snap-0.jpg").write_bytes(b"jpeg")
    sink = DatabaseSink(database, evidence_store=EvidenceStore(tmp_path), outbox=outbox)
    events = lifecycle("inc-1")
    for event in events + events:  # the repeated delivery adds nothing
        sink.deliver(event)
    with database.read() as session:
        rows = next_batch(session, 100)
        assert session.get(IncidentRow, "inc-1") is not None
    assert [row.kind for row in rows] == ["incident"] * 4
    first = wire.decode(rows[0].payload.encode(), rows[0].subject)
    assert rows[0].subject == "cw.up.hall-a.incident"
    assert wire.incident_of(first.body) == events[0]
    import hashlib
    assert first.files == (wire.FileRef("inc-1/snap-0.jpg", hashlib.sha256(b"jpeg").hexdigest()),)
    missing = wire.decode(rows[3].payload.encode(), rows[3].subject).files
    assert missing == (wire.FileRef("inc-1/clip.mp4", None),)  # the clip was never written


def test_statuses_are_sent_on_change_and_at_least_every_interval(database: Database, tmp_path: Path) -> None:
    clock = Clock()
    outbox = EdgeOutbox("hall-a", tmp_path, status_every_s=30, clock=clock)
    for now, present in ((0, True), (5, True), (10, False), (20, False), (41, False), (42, True)):
        clock.now = now
        with database.write() as session:
            outbox(session, _status(present))
    with database.read() as session:
        bodies = [wire.status_of(wire.decode(r.payload.encode(), r.subject).body) for r in next_batch(session, 100)]
    assert [b.present for b in bodies] == [True, False, False, True]  # 0 (new), 10 (change), 41 (30 s), 42 (change)


def test_camera_statistics_are_summed_over_the_interval(database: Database, tmp_path: Path) -> None:
    clock = Clock()
    outbox = EdgeOutbox("hall-a", tmp_path, stats_every_s=10, clock=clock)
    for now in (0, 2, 4, 6, 8, 10, 12):
        clock.now = now
        with database.write() as session:
            outbox(session, CameraStats("cam1", 4, T0 + timedelta(seconds=now), (("yolox", 20.0 + now, 4),)))
    with database.read() as session:
        sent = [wire.stats_of(wire.decode(r.payload.encode(), r.subject).body) for r in next_batch(session, 100)]
    # the first at once; then 2..10 s summed and sent at 10 s; 12 s waits for the next interval
    assert [(s.frames, s.last_frame_wall_time, s.timings_ms) for s in sent] == [
        (4, T0, (("yolox", 20.0, 4),)), (20, T0 + timedelta(seconds=10), (("yolox", 30.0, 4),))]


def test_a_full_outbox_drops_statistics_first_and_never_incidents(database: Database, tmp_path: Path) -> None:
    outbox = EdgeOutbox("hall-a", tmp_path, status_every_s=1, stats_every_s=0, clock=Clock())
    with database.write() as session:
        for event in lifecycle("inc-1"):
            outbox(session, event)
        outbox(session, PausePeriod("w01", "sign", T0, T0 + timedelta(minutes=2)))
        for n in range(5):
            outbox(session, CameraStats("cam1", 10, T0 + timedelta(seconds=n)))
            outbox(session, _status(n % 2 == 0, window=f"w{n:02d}"))
        outbox(session, CameraHealth("cam1", CameraState.ONLINE, "", 1, 0, 0, 0, T0, 0.1))
    with database.write() as session:
        assert outbox_depth(session)[0] == 4 + 1 + 5 + 5 + 1
        dropped = trim_outbox(session, 9)
        assert dropped == {"stats": 5, "status": 2}
        left = [row.kind for row in session.scalars(select(OutboxRow).order_by(OutboxRow.id))]
        assert left.count("incident") == 4 and left.count("pause") == 1 and left.count("status") == 3
        assert trim_outbox(session, 0) == {"status": 3, "health": 1}
        assert outbox_depth(session)[0] == 5  # incidents and the pause stay, even over the bound


@pytest.mark.parametrize("message", [
    PausePeriod("w01", "schedule", T0, None),
    CameraStats("cam1", 12, T0, (("yolox", 21.5, 12),)),
    CameraHealth("cam1", CameraState.STALLED, "no frame for 10 s", 100, 3, 1, 2, T0, 10.5),
])
def test_envelopes_round_trip(message) -> None:
    encode, decode_body = {PausePeriod: (wire.pause_body, wire.pause_of), CameraStats: (wire.stats_body, wire.stats_of),
                           CameraHealth: (wire.health_body, wire.health_of)}[type(message)]
    kind = {PausePeriod: "pause", CameraStats: "stats", CameraHealth: "health"}[type(message)]
    data = wire.Envelope(kind, "hall-a", encode(message)).encode()
    assert decode_body(wire.decode(data, f"cw.up.hall-a.{kind}").body) == message


@pytest.mark.parametrize(("subject", "data", "error"), [
    ("cw.up.hall-b.incident", wire.Envelope("incident", "hall-a", {}).encode(), "does not match the subject"),
    ("cw.up.hall-a.pause", wire.Envelope("incident", "hall-a", {}).encode(), "kind 'incident'"),
    ("cw.up.hall-a.incident", b"{not json", "not JSON"),
    ("cw.down.hall-a.incident", b"{}", "is not cw.up"),
])
def test_documents_that_do_not_match_their_subject_are_refused(subject: str, data: bytes, error: str) -> None:
    with pytest.raises(wire.WireError, match=error):
        wire.decode(data, subject)


def test_a_wrong_time_is_refused() -> None:
    body = wire.pause_body(PausePeriod("w01", "sign", T0))
    body["started_at"] = datetime(2026, 1, 1).isoformat()  # no offset
    with pytest.raises(wire.WireError, match="UTC offset"):
        wire.pause_of(body)
    assert wire.pause_of(wire.pause_body(PausePeriod("w01", "sign", T0.astimezone(UTC)))).started_at == T0
