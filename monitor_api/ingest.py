"""From the pipeline into the API: the database incident sink, and the bridge that routes every runner message.

`DatabaseSink` is an IncidentSink (type "database"): each event is stored with ingest_event (idempotent by
incident id, kind and stream time) and only then reported, so a retried delivery never duplicates. The bridge
publishes what was stored to the live feed and keeps the camera and window registries current, and records the
time each camera observed (observed_spans, from the camera stats and health messages: monitor_api.storage.observed) so
that reports can count unobserved time as unknown.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from cameras.health import CameraHealth
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.sink import IncidentSink, register_sink
from counterwatch.learning.sampling import SampledFrame
from counterwatch.rules.pause import PausePeriod
from counterwatch.runtime.messages import CameraStats, WindowStatus, WorkerMessage
from counterwatch.runtime.runner import STATS_INTERVAL_S
from monitor_api.incident_access import incident_message
from monitor_api.services import Services
from monitor_api.storage import (
    Database,
    EvidencePathError,
    EvidenceStore,
    ingest_event,
    record_pause_period,
    resolve_evidence_path,
)
from monitor_api.storage.labelling import record_label_sample
from monitor_api.storage.models import IncidentRow
from monitor_api.storage.observed import ObservedTimeRecorder
from monitor_api.window_status import window_live_message

logger = logging.getLogger("counterwatch.api")

# (event, live-feed message about the stored incident); called after the commit, only for new events.
StoredCallback = Callable[[IncidentEvent, dict[str, Any]], None]
# Writes a message to the county outbox inside the transaction that stores it locally (counterwatch.county.edge).
OutboxWriter = Callable[[Session, WorkerMessage], None]


@register_sink
class DatabaseSink(IncidentSink):
    """Stores incident events in the hall database; durable when deliver() returns (the commit has returned)."""

    type = "database"

    def __init__(self, database: Database, *, evidence_store: EvidenceStore | None = None,
                 on_stored: StoredCallback | None = None, retries: int = 3,
                 outbox: OutboxWriter | None = None) -> None:
        if retries < 0:
            raise ValueError("DatabaseSink.retries must be >= 0")
        self._database = database
        self._evidence = evidence_store
        self._on_stored = on_stored
        self._retries = retries
        self._outbox = outbox
        self._closed = False

    def deliver(self, event: IncidentEvent) -> None:
        if self._closed:
            raise RuntimeError("DatabaseSink is closed")
        for attempt in range(self._retries + 1):
            try:
                with self._database.write() as session:
                    new = ingest_event(session, event, evidence_store=self._evidence)
                    message = None
                    if new:
                        if self._outbox is not None:
                            self._outbox(session, event)  # committed with the event, or not at all
                        incident = session.get(IncidentRow, event.incident_id)
                        assert incident is not None
                        message = incident_message(event.kind.value, incident)
                break
            except OperationalError:
                # A busy database (another writer past busy_timeout) or a dropped PostgreSQL connection: the
                # delivery is idempotent, so trying again is safe.
                if attempt == self._retries:
                    raise
                logger.warning("incident %s: storing failed, retrying", event.incident_id, exc_info=True)
                time.sleep(0.2 * (attempt + 1))
        if message is not None and self._on_stored is not None:
            self._on_stored(event, message)

    def close(self) -> None:
        self._closed = True


class PipelineBridge:
    """Handles every message the runner pumps (counterwatch.runtime.messages), for one hall (the runner's)."""

    def __init__(self, services: Services, hall_id: str, *, extra_sinks: tuple[IncidentSink, ...] = (),
                 clock: Callable[[], float] = time.monotonic, outbox: OutboxWriter | None = None) -> None:
        self._services = services
        self._hall_id = hall_id
        self._extra_sinks = extra_sinks
        self._outbox = outbox  # an edge of a county: everything stored here also goes to the centre
        self.sink = DatabaseSink(services.database, evidence_store=services.evidence, on_stored=self._stored,
                                 outbox=outbox)
        # A camera counts as observed across a pause in its analysed frames as long as a window status would still
        # read fresh (window_status_stale_s, at least three stats reports); an outage the camera reports itself
        # (offline, stalled) ends its span at once. `clock` (monotonic seconds) paces the writes.
        self.observed = ObservedTimeRecorder(
            services.database, hall_id, clock=clock,
            tolerance_s=max(services.settings.window_status_stale_s, 3 * STATS_INTERVAL_S))
        self.stored_events = 0
        self.stored_samples = 0  # "sample" messages handled (a re-delivered path is counted but not queued twice)
        self.dropped_samples = 0  # sampled frames deleted instead of queued: the disk guard refused them

    def _stored(self, event: IncidentEvent, message: dict[str, Any]) -> None:
        self.stored_events += 1
        self._services.live.metrics.incident_events.labels(event.incident_type, event.kind.value).inc()
        self._services.hub.publish_threadsafe(message)

    def handle(self, message: WorkerMessage) -> None:
        try:
            self._handle(message)
        except Exception:
            # One bad message must not stop the pump (and with it every camera); incidents are re-delivered by a
            # retrying sink, the registries are refreshed by the next message.
            logger.exception("could not handle a %s message from the pipeline", type(message).__name__)

    def _handle(self, message: WorkerMessage) -> None:
        services = self._services
        match message:
            case IncidentEvent():
                self.sink.deliver(message)  # the database first: it is what the API and due process rely on
                for sink in self._extra_sinks:
                    sink.deliver(message)
            case PausePeriod():
                if message.source == "queue":
                    return  # the API recorded the queue system's pause when it received it (routes/windows.py)
                with services.database.write() as session:
                    record_pause_period(session, self._hall_id, message)
                    self._forward(session, message)
            case CameraHealth():
                status = services.live.update_camera(message, self._hall_id)
                services.hub.publish_threadsafe({
                    "type": "camera.state", "hall_id": status.hall_id or self._hall_id,
                    "camera_id": status.camera_id, "state": status.state, "reason": status.reason})
                self.observed.camera_state(status.camera_id, status.state, message.last_frame_wall_time)
                self._forward_alone(message)
            case WindowStatus():
                live = services.live.update_window(self._hall_id, message)
                services.hub.publish_threadsafe(window_live_message(self._hall_id, live))
                self._forward_alone(message)
            case CameraStats():
                services.live.record_stats(message, self._hall_id)
                self.observed.stats(message.camera_id, message.frames, message.last_frame_wall_time)
                self._forward_alone(message)
            case SampledFrame():
                # A frame the runner stored under DATA_DIR/samples/ joins the labelling queue (idempotent on its
                # path), unless the disk is nearly full: then, as with evidence, the file is deleted (incidents
                # come first).
                if not services.evidence.allowed():
                    self._drop_sample(message.path)
                    return
                with services.database.write() as session:
                    record_label_sample(session, self._hall_id, message)
                    self._forward(session, message)
                self.stored_samples += 1
            case _:
                logger.warning("ignoring a message of unknown type %s", type(message).__name__)

    def _forward(self, session: Session, message: WorkerMessage) -> None:
        if self._outbox is not None:
            self._outbox(session, message)

    def _forward_alone(self, message: WorkerMessage) -> None:
        """Status and health have no local row: their outbox write is a transaction of its own."""
        if self._outbox is not None:
            with self._services.database.write() as session:
                self._outbox(session, message)

    def _drop_sample(self, path: str) -> None:
        self.dropped_samples += 1
        try:
            resolve_evidence_path(self._services.evidence.data_dir, path).unlink(missing_ok=True)
        except (EvidencePathError, OSError) as error:
            logger.error("sampled frame %s not queued (disk guard) and not deleted: %s", path, error)
            return
        logger.warning("sampled frame %s dropped: the disk guard keeps the free space for evidence", path)

    def close(self) -> None:
        try:
            self.observed.close()  # the open spans' last frames
        except Exception:
            logger.exception("could not store the cameras' last observed time")
        self.sink.close()
        for sink in self._extra_sinks:
            sink.close()
