"""Edges to the centre through a real NATS JetStream server into a real PostgreSQL: incidents and their evidence
arrive once with their sha256, commands go back, and a hall cannot speak for another."""
from __future__ import annotations

import asyncio
import hashlib

from sqlalchemy import func, select

from counterwatch.county import wire
from counterwatch.county.loopback import LoopbackCounty
from counterwatch.county.nats_link import connect_options, edge_inbox, open_connection
from monitor_api.storage.models import AuditLogRow, EvidenceRow, IncidentEventRow, IncidentRow, PausePeriodRow
from tests.api.storage.helpers import lifecycle
from tests.county.conftest import CentreUnderTest, Edge, wait_for


def _incident_files(edge: Edge, incident_id: str) -> dict[str, str]:
    files = {}
    for name in ("snap-0.jpg", "snap-1.jpg", "snap-2.jpg", "clip.mp4"):
        content = f"{edge.hall_id}/{incident_id}/{name}".encode() * 500
        edge.write_file(f"{incident_id}/{name}", content)
        files[f"{incident_id}/{name}"] = hashlib.sha256(content).hexdigest()
    return files


def test_incidents_and_evidence_arrive_once_per_hall(county: LoopbackCounty) -> None:
    centre = CentreUnderTest(county.county_yaml).start()
    edges = [Edge(county.hall_yaml(hall)).start() for hall in ("hall-a", "hall-b")]
    try:
        expected: dict[str, str] = {}
        for edge in edges:
            for n in range(3):
                incident_id = f"{edge.hall_id}-inc-{n}"
                expected |= {f"{path}": sha for path, sha in _incident_files(edge, incident_id).items()}
                for event in lifecycle(incident_id, hall=edge.hall_id):
                    edge.deliver(event)
        wait_for(lambda: _count(centre, IncidentEventRow) == 6 * 4, what="24 events at the centre")
        wait_for(lambda: all(edge.outbox_depth() == 0 for edge in edges), what="empty outboxes")
        with centre.database.read() as session:
            incidents = session.scalars(select(IncidentRow)).all()
            assert sorted(i.hall_id for i in incidents) == ["hall-a"] * 3 + ["hall-b"] * 3
            assert all(i.state.value == "closed" and not i.evidence_missing for i in incidents)
            stored = dict(session.execute(select(EvidenceRow.path, EvidenceRow.sha256)).all())
        assert stored == expected
        for path, sha in expected.items():
            assert hashlib.sha256((centre.data_dir / path).read_bytes()).hexdigest() == sha
    finally:
        for edge in edges:
            edge.close()
        centre.close()


def test_pause_command_round_trip_and_review_reaches_the_edge(county: LoopbackCounty) -> None:
    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-b")).start()
    try:
        centre.services.queue_control("hall-b", "w02", True)
        wait_for(lambda: edge.queue_commands == [("w02", True)], what="the pause at the edge")
        with edge.database.read() as session:
            assert session.scalars(select(PausePeriodRow.window_id).where(PausePeriodRow.source == "queue")).all() \
                == ["w02"]
        from monitor_api.storage.models import CountyCommandRow

        def acked() -> bool:
            with centre.database.read() as session:
                row = session.scalars(select(CountyCommandRow)).one()
                return row.acked_at is not None and row.result == "applied"
        wait_for(acked, what="the edge's acknowledgement")

        for event in lifecycle("inc-review", hall="hall-b"):
            edge.deliver(event)
        wait_for(lambda: _count(centre, IncidentRow) == 1, what="the incident at the centre")
        from monitor_api.accounts import add_user
        from monitor_api.storage import Actor, review_incident
        from monitor_api.storage.models import ReviewDecision, Role
        from monitor_api.storage.types import utcnow
        with centre.database.write() as session:
            user = add_user(session, centre.services.passwords, Actor.system("test"), username="reviewer",
                            password="reviewer-password-1", role=Role.SUPERVISOR, halls=("hall-b",))
            review_incident(session, "inc-review", user.id, ReviewDecision.CONFIRM, "seen", "", utcnow())

        def reviewed_at_edge() -> bool:
            with edge.database.read() as session:
                incident = session.get(IncidentRow, "inc-review")
                return incident is not None and incident.review_state.value == "confirmed"
        wait_for(reviewed_at_edge, what="the review at the edge")
    finally:
        edge.close()
        centre.close()


def test_a_hall_cannot_publish_for_another(county: LoopbackCounty) -> None:
    centre = CentreUnderTest(county.county_yaml).start()
    try:
        wait_for(lambda: centre.centre.stored == 0 and centre.services.live.link() is not None
                 and centre.services.live.link().connected, what="the centre connected")
        hall_a = Edge(county.hall_yaml("hall-a"))
        options = connect_options(hall_a.config.uplink, hall_a.config.base_dir, name="forger",
                                  inbox_prefix=edge_inbox("hall-a"))
        forged = lifecycle("forged", hall="hall-b")[0]
        envelope = wire.Envelope("incident", "hall-b", wire.incident_body(forged)).encode()
        own_subject_other_hall = wire.Envelope("incident", "hall-a", wire.incident_body(forged)).encode()

        async def attempt() -> tuple[bool, bool]:
            client = await open_connection(options)
            js = client.jetstream(timeout=3)
            refused_by_server = False
            try:
                await js.publish(wire.up_subject("hall-b", "incident"), envelope)
            except Exception:
                refused_by_server = True  # permissions violation: no acknowledgement comes back
            await js.publish(wire.up_subject("hall-a", "incident"), own_subject_other_hall)
            other_bucket_refused = False
            try:
                await js.object_store(wire.evidence_bucket("hall-b"))
            except Exception:
                other_bucket_refused = True  # no permission on another hall's bucket
            await client.close()
            return refused_by_server, other_bucket_refused

        refused, other_bucket_refused = asyncio.run(attempt())
        assert refused and other_bucket_refused
        wait_for(lambda: centre.centre.rejected == 1, what="the centre's refusal")
        assert _count(centre, IncidentRow) == 0
        with centre.database.read() as session:
            audit = session.scalars(select(AuditLogRow).where(AuditLogRow.action == "county.message_refused")).one()
        assert audit.details["reason"] == "hall_mismatch"
        hall_a.database.dispose()
    finally:
        centre.close()


def _count(centre: CentreUnderTest, model) -> int:
    with centre.database.read() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_a_queue_change_received_at_the_edge_reaches_the_centre(county: LoopbackCounty) -> None:
    from counterwatch.cli.run import EdgeLink

    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-a")).start()
    try:
        paused: list[tuple[str, bool]] = []
        link = EdgeLink(edge.config, edge.database, edge.data_dir, lambda window, on: paused.append((window, on)))
        control = link.wrap_queue_control(lambda hall, window, on: paused.append((window, on)))
        control("hall-a", "w01", True)
        control("hall-b", "w01", True)  # another hall's: not this edge's to report

        def period() -> list[tuple[str, str, bool]]:
            with centre.database.read() as session:
                rows = session.scalars(select(PausePeriodRow).where(PausePeriodRow.source == "queue")).all()
                return [(row.hall_id, row.window_id, row.ended_at is None) for row in rows]
        wait_for(lambda: period() == [("hall-a", "w01", True)], what="the open queue pause at the centre")
        assert centre.services.live.queue_paused("hall-a", "w01")
        control("hall-a", "w01", False)
        wait_for(lambda: period() == [("hall-a", "w01", False)], what="the queue pause closed at the centre")
    finally:
        edge.close()
        centre.close()


def test_a_promoted_head_is_pushed_to_an_edge_and_acknowledged(county: LoopbackCounty, tmp_path) -> None:
    import json
    import subprocess
    import sys
    from pathlib import Path

    from counterwatch.county.edge import EdgeCommands
    from counterwatch.learning.registry import BUILTIN_ROOT, Registry
    from monitor_api.storage.models import CountyCommandRow

    shipped = Registry(tmp_path / "none", builtin=BUILTIN_ROOT)
    version = shipped.active("sleeping")
    assert version is not None
    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-a"))
    heads_root = tmp_path / "edge-heads"
    edge.commands = EdgeCommands(edge.hall_id, edge.database, edge.outbox, heads_root=heads_root)
    edge.start()
    try:
        wait_for(lambda: centre.services.live.link() is not None and centre.services.live.link().connected,
                 what="the centre's layout")
        pushed = subprocess.run([str(Path(sys.executable).parent / "counterwatch"), "push-head", "--config",
                                 str(county.county_yaml), "--behaviour", "sleeping", "--version", version,
                                 "--hall", "hall-a"], capture_output=True, text=True, timeout=120)
        assert pushed.returncode == 0, pushed.stderr

        def acknowledged() -> str | None:
            with centre.database.read() as session:
                row = session.scalars(select(CountyCommandRow).where(CountyCommandRow.kind == "head")).one()
                return row.result if row.acked_at is not None else None
        wait_for(lambda: acknowledged() is not None, timeout=60, what="the edge's acknowledgement of the head")
        assert acknowledged() == "installed and active"
        installed = heads_root / "sleeping" / version
        original = shipped.folder("sleeping", version)
        for name in ("model.joblib", "card.json"):
            assert (installed / name).read_bytes() == (original / name).read_bytes()
        assert json.loads((heads_root / "sleeping" / "active.json").read_text())["version"] == version
        assert Registry(heads_root).load("sleeping")["behaviour"] == "sleeping"
    finally:
        edge.close()
        centre.close()


def test_incidents_an_edge_recovered_after_a_crash_are_marked_at_the_centre(county: LoopbackCounty) -> None:
    from datetime import UTC, datetime

    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-a")).start()
    try:
        open_only, still_open = lifecycle("crashed", hall="hall-a")[0], lifecycle("other", hall="hall-a")[0]
        edge.deliver(open_only)
        edge.deliver(still_open)
        wait_for(lambda: _count(centre, IncidentRow) == 2, what="two open incidents at the centre")
        with edge.database.write() as session:  # what `counterwatch run` does after its start-up recovery
            edge.outbox.recovered(session, ("crashed",), datetime.now(UTC))

        def states() -> dict[str, str]:
            with centre.database.read() as session:
                return {row.id: row.state.value for row in session.scalars(select(IncidentRow))}
        wait_for(lambda: states() == {"crashed": "closed_by_recovery", "other": "open"}, what="the recovery")
    finally:
        edge.close()
        centre.close()


def test_camera_health_of_halls_with_the_same_camera_ids_stays_apart(county: LoopbackCounty) -> None:
    from datetime import UTC, datetime

    from cameras.health import CameraHealth, CameraState
    from counterwatch.runtime.messages import CameraStats

    centre = CentreUnderTest(county.county_yaml).start()
    edges = [Edge(county.hall_yaml(hall)).start() for hall in ("hall-a", "hall-b")]
    try:
        now = datetime.now(UTC)
        for edge, state in zip(edges, (CameraState.ONLINE, CameraState.OFFLINE), strict=True):
            with edge.database.write() as session:  # both halls call their camera cam1
                edge.outbox(session, CameraHealth("cam1", state, state.value, 5, 0, 0, 0, now, 0.2))
                edge.outbox(session, CameraStats("cam1", 4 if state is CameraState.ONLINE else 0, now))
        wait_for(lambda: len(centre.services.live.cameras()) == 2, what="both halls' cameras")
        cameras = centre.services.live.cameras()
        assert cameras[("hall-a", "cam1")].state == "online" and cameras[("hall-a", "cam1")].frames_processed == 4
        assert cameras[("hall-b", "cam1")].state == "offline" and cameras[("hall-b", "cam1")].hall_id == "hall-b"
    finally:
        for edge in edges:
            edge.close()
        centre.close()


def test_a_malformed_document_is_refused_and_the_centre_goes_on(county: LoopbackCounty) -> None:
    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-a")).start()
    try:
        wait_for(lambda: centre.services.live.link() is not None and centre.services.live.link().connected,
                 what="the centre connected")
        with edge.database.write() as session:  # a queue change without its window, then a real incident
            edge.outbox._add(session, "queue", None, {"paused": True, "at": "2026-12-03T08:00:00+00:00"})
        for event in lifecycle("after-bad", hall="hall-a"):
            edge.deliver(event)
        wait_for(lambda: _count(centre, IncidentEventRow) == 4, what="the incident after the bad document")
        assert centre.centre.rejected == 1
        with centre.database.read() as session:
            audit = session.scalars(select(AuditLogRow).where(AuditLogRow.action == "county.message_refused")).one()
        assert audit.details["reason"] == "bad_document" and "window_id" in audit.details["detail"]
    finally:
        edge.close()
        centre.close()


def test_a_file_named_again_by_later_events_is_sent_once(county: LoopbackCounty) -> None:
    from tests.api.storage.helpers import event

    centre = CentreUnderTest(county.county_yaml).start()
    edge = Edge(county.hall_yaml("hall-a")).start()
    try:
        edge.write_file("evidence/inc-x/snapshot.jpg", b"jpeg" * 1000)
        edge.write_file("evidence/inc-x/clip.mp4", b"mp4" * 5000)
        snapshot, clip = "evidence/inc-x/snapshot.jpg", "evidence/inc-x/clip.mp4"
        for incident_event in (event("opened", "inc-x", ts=30, snapshot=snapshot, hall="hall-a"),
                               event("updated", "inc-x", ts=40, snapshot=snapshot, clip=clip, hall="hall-a"),
                               event("closed", "inc-x", ts=50, snapshot=snapshot, clip=clip, hall="hall-a")):
            edge.deliver(incident_event)
            wait_for(lambda: edge.outbox_depth() == 0, what="the event sent")
        assert edge.uplink is not None and edge.uplink.files_sent == 2
        wait_for(lambda: _count(centre, IncidentEventRow) == 3, what="the three events at the centre")
        with centre.database.read() as session:
            rows = session.execute(select(EvidenceRow.path, EvidenceRow.sha256)).all()
            incident = session.get(IncidentRow, "inc-x")
            assert incident is not None and not incident.evidence_missing
        assert sorted(path for path, _ in rows) == [clip, snapshot]
    finally:
        edge.close()
        centre.close()
