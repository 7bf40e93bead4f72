"""The pipeline side: DatabaseSink stores each event once and reports only new ones; the bridge records sign
pauses (the queue's are recorded by the API itself) and survives a bad message; an unexpected error is a 500
problem document that leaks nothing."""
from __future__ import annotations

from datetime import timedelta

from counterwatch.rules.pause import PausePeriod
from monitor_api.ingest import DatabaseSink, PipelineBridge
from monitor_api.storage.models import IncidentEventRow, PausePeriodRow
from tests.api.http.world import World
from tests.api.storage.helpers import T0, lifecycle


def test_database_sink_is_idempotent_and_reports_new_events_only(sqlite_world: World) -> None:
    stored: list[tuple[str, str]] = []
    sink = DatabaseSink(sqlite_world.services.database, evidence_store=sqlite_world.services.evidence,
                        on_stored=lambda event, message: stored.append((event.kind.value, message["type"])))
    events = lifecycle("sink-1", start_ts=900.0)
    for event in events + events[:2]:  # a retry re-delivers the first two
        sink.deliver(event)
    assert stored == [("opened", "incident.opened"), ("updated", "incident.updated"), ("updated", "incident.updated"),
                      ("closed", "incident.closed")]
    with sqlite_world.services.database.read() as session:
        assert session.query(IncidentEventRow).filter_by(incident_id="sink-1").count() == len(events)


def test_bridge_records_sign_pauses_and_skips_queue_pauses(sqlite_world: World) -> None:
    bridge = PipelineBridge(sqlite_world.services, "hall-a")
    bridge.handle(PausePeriod("w01", "sign", T0, T0 + timedelta(minutes=3)))
    bridge.handle(PausePeriod("w01", "queue", T0, T0 + timedelta(minutes=1)))
    bridge.handle("not a pause period")  # logged, not raised: the pump goes on
    bridge.handle(object())
    with sqlite_world.services.database.read() as session:
        periods = [(row.window_id, row.source.value) for row in session.query(PausePeriodRow)]
    assert periods == [("w01", "sign")]


def test_unexpected_errors_are_problem_documents_without_internals(sqlite_world: World) -> None:
    headers = sqlite_world.headers("manager")

    def broken():
        raise RuntimeError("secret connection string postgres://user:pw@db")

    sqlite_world.services.database.read = broken  # type: ignore[method-assign]
    with sqlite_world.client() as client:
        response = client.get("/api/v1/halls", headers=headers)
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/problem+json")
    assert "reference" in response.json()["detail"] and "pw@db" not in response.text


def test_bridge_queues_sampled_frames_unless_the_disk_guard_refuses(sqlite_world: World) -> None:
    """A "sample" message joins the labelling queue once (idempotent on its path); when the disk is nearly full the
    file is deleted instead, exactly as evidence is, and nothing is queued."""
    import dataclasses

    from counterwatch.learning.sampling import SampledFrame
    from monitor_api.storage import EvidenceStore
    from monitor_api.storage.models import LabelSampleRow
    from tests.api.http.label_samples import render_jpeg

    data_dir = sqlite_world.services.evidence.data_dir

    def sample(second: int) -> SampledFrame:
        relative = f"samples/cam1/w01/20260302T0130{second:02d}000000Z.jpg"
        (data_dir / relative).parent.mkdir(parents=True, exist_ok=True)
        (data_dir / relative).write_bytes(render_jpeg(80))
        return SampledFrame("cam1", "w01", T0 + timedelta(seconds=second), relative, (("phone_use", 0.3, 0.3),), 1.0)

    kept = sample(1)
    bridge = PipelineBridge(sqlite_world.services, "hall-a")
    bridge.handle(kept)
    bridge.handle(kept)  # re-delivered
    full = dataclasses.replace(sqlite_world.services, evidence=EvidenceStore(data_dir, min_free_bytes=2**62))
    refused = sample(2)
    guarded = PipelineBridge(full, "hall-a")
    guarded.handle(refused)
    with sqlite_world.services.database.read() as session:
        assert [row.path for row in session.query(LabelSampleRow)] == [kept.path]
    assert (data_dir / kept.path).is_file() and not (data_dir / refused.path).exists()
    assert (bridge.stored_samples, guarded.stored_samples, guarded.dropped_samples) == (2, 0, 1)
