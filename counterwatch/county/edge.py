"""An edge's side of the county link, apart from the network: what goes into the outbox, and the centre's commands.

`EdgeOutbox` is the bridge's outbox writer (monitor_api.ingest.OutboxWriter): called inside the transaction that
stores a message locally, it writes the message's envelope to the outbox, so the local record and the message to the
centre are committed together. Window statuses are sent when they change and at least every `status_every_s`;
evidence and sampled frames are named with their sha256 (the uplink puts the files into the hall's Object Store
bucket before it publishes the message).

`EdgeCommands` applies what the centre sends: a queue pause or resume (recorded locally, handed to the workers,
acknowledged through the outbox) and review decisions about this hall's incidents (so the hall dashboard shows them).
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from cameras.health import CameraHealth
from counterwatch.county import wire
from counterwatch.incidents.events import IncidentEvent
from counterwatch.learning.sampling import SampledFrame
from counterwatch.rules.pause import PausePeriod
from counterwatch.runtime.messages import CameraStats, WindowStatus, WorkerMessage
from monitor_api.storage import Actor, Database, record_audit
from monitor_api.storage.evidence import EvidencePathError, resolve_evidence_path, sha256_of_file
from monitor_api.storage.models import EvidenceRow, IncidentRow, ReviewState
from monitor_api.storage.outbox import add_outbox
from monitor_api.storage.pauses import apply_queue_change
from monitor_api.storage.types import utcnow

logger = logging.getLogger("counterwatch.county")


class EdgeOutbox:
    def __init__(self, hall_id: str, data_dir: Path, *, status_every_s: float = 30.0, stats_every_s: float = 10.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.hall_id = wire.check_hall(hall_id)
        self._data_dir = data_dir
        self._status_every_s = status_every_s
        self._clock = clock
        self._lock = threading.Lock()
        self._last_status: dict[str, tuple[tuple[Any, ...], float]] = {}
        self._stats_every_s = stats_every_s
        self._stats: dict[str, tuple[CameraStats, float]] = {}  # camera -> (summed since it was sent, first clock)

    def __call__(self, session: Session, message: WorkerMessage) -> None:
        match message:
            case IncidentEvent():
                self._add(session, "incident", f"incident:{message.incident_id}:{message.kind.value}:{message.ts!r}",
                          wire.incident_body(message), self._incident_files(session, message))
            case PausePeriod():
                ended = message.ended_at.isoformat() if message.ended_at else "open"
                self._add(session, "pause", f"pause:{message.window_id}:{message.source}:"
                          f"{message.started_at.isoformat()}:{ended}", wire.pause_body(message))
            case WindowStatus():
                if self._status_due(message):
                    self._add(session, "status", None, wire.status_body(message))
            case CameraHealth():
                self._add(session, "health", None, wire.health_body(message))
            case CameraStats():
                due = self._stats_due(message)
                if due is not None:
                    self._add(session, "stats", None, wire.stats_body(due))
            case SampledFrame():
                self._add(session, "sample", f"sample:{message.path}", wire.sample_body(message),
                          (wire.FileRef(message.path, self._sha_of(message.path)),))
            case _:
                pass

    def queue_change(self, session: Session, window_id: str, paused: bool, at: datetime) -> None:
        """A pause or resume the hall's queue system sent to this edge's API."""
        self._add(session, "queue", None, {"window_id": window_id, "paused": paused, "at": at.isoformat()})

    def recovered(self, session: Session, incident_ids: tuple[str, ...], at: datetime) -> None:
        """Incidents this edge found open at start-up (a crash) and closed as recovered: the centre marks them too."""
        if incident_ids:
            self._add(session, "recovered", f"recovered:{at.isoformat()}",
                      {"incident_ids": list(incident_ids), "at": at.isoformat()})

    def command_ack(self, session: Session, command_id: str, result: str) -> None:
        self._add(session, "ack", f"ack:{command_id}", {"command_id": command_id, "result": result})

    def _add(self, session: Session, kind: str, key: str | None, body: dict[str, Any],
             files: tuple[wire.FileRef, ...] = ()) -> None:
        envelope = wire.Envelope(kind, self.hall_id, body, files)
        msg_id = f"{self.hall_id}:{key if key is not None else f'{kind}:{uuid.uuid4().hex}'}"
        add_outbox(session, msg_id=msg_id[:200], subject=wire.up_subject(self.hall_id, kind), kind=kind,
                   payload=envelope.encode().decode(), now=utcnow())

    def _status_due(self, status: WindowStatus) -> bool:
        key = (status.present, status.paused, status.pause_source)
        now = self._clock()
        with self._lock:
            last = self._last_status.get(status.window_id)
            if last is not None and last[0] == key and now - last[1] < self._status_every_s:
                return False
            self._last_status[status.window_id] = (key, now)
        return True

    def _stats_due(self, stats: CameraStats) -> CameraStats | None:
        """The camera's statistics summed since the last ones sent, once `stats_every_s` has passed (None before;
        the first report goes at once): frames add up, the latest frame time and timings stand."""
        now = self._clock()
        with self._lock:
            pending = self._stats.pop(stats.camera_id, None)
            since = None
            if pending is not None:
                summed, since = pending
                stats = CameraStats(stats.camera_id, summed.frames + stats.frames,
                                    stats.last_frame_wall_time or summed.last_frame_wall_time,
                                    stats.timings_ms or summed.timings_ms)
            if since is not None and now - since < self._stats_every_s:
                self._stats[stats.camera_id] = (stats, since)
                return None
            self._stats[stats.camera_id] = (CameraStats(stats.camera_id, 0, stats.last_frame_wall_time), now)
            return stats

    def _incident_files(self, session: Session, event: IncidentEvent) -> tuple[wire.FileRef, ...]:
        paths = [path for path in (event.evidence.snapshot, event.evidence.clip) if path]
        if not paths:
            return ()
        stored = dict(session.execute(select(EvidenceRow.path, EvidenceRow.sha256)
                                      .where(EvidenceRow.incident_id == event.incident_id)).all())
        return tuple(wire.FileRef(path, stored.get(path) or self._sha_of(path)) for path in paths)

    def _sha_of(self, relative: str) -> str | None:
        try:
            return sha256_of_file(resolve_evidence_path(self._data_dir, relative))
        except (EvidencePathError, FileNotFoundError):
            return None


class EdgeCommands:
    """Applies the centre's commands to this hall; `set_queue_pause` reaches the workers (Runner.set_queue_pause)."""

    def __init__(self, hall_id: str, database: Database, outbox: EdgeOutbox,
                 set_queue_pause: Callable[[str, bool], None] | None = None,
                 on_queue_change: Callable[[str, bool], None] | None = None, heads_root: Path | None = None) -> None:
        self._hall_id = hall_id
        self._heads_root = heads_root
        self._database = database
        self._outbox = outbox
        self._set_queue_pause = set_queue_pause
        self._on_queue_change = on_queue_change
        self.applied = 0

    def apply(self, kind: str, body: dict[str, Any]) -> None:
        if kind == "queue":
            self._queue(body)
        elif kind == "review":
            self._review(body)
        else:
            logger.warning("ignoring an unknown command %r from the centre", kind)

    def _queue(self, body: dict[str, Any]) -> None:
        command_id, window_id, paused = str(body["command_id"]), str(body["window_id"]), bool(body["paused"])
        at = datetime.fromisoformat(str(body["at"]))
        from monitor_api.storage.models import WindowRow

        with self._database.write() as session:
            window = session.get(WindowRow, (self._hall_id, window_id))
            if window is None or not window.active:
                result = f"unknown window {window_id}"
            else:
                apply_queue_change(session, self._hall_id, window_id, paused, at)
                record_audit(session, Actor.system("centre"), "window.pause" if paused else "window.resume",
                             "window", f"{self._hall_id}/{window_id}", hall_id=self._hall_id,
                             details={"command_id": command_id})
                result = "applied"
            self._outbox.command_ack(session, command_id, result)
        if result == "applied":
            if self._set_queue_pause is not None:
                self._set_queue_pause(window_id, paused)
            if self._on_queue_change is not None:
                self._on_queue_change(window_id, paused)
        self.applied += 1
        logger.info("centre command %s: queue %s of window %s: %s", command_id, "pause" if paused else "resume",
                    window_id, result)

    def install_head(self, body: dict[str, Any], files: dict[str, bytes]) -> str:
        """A head the centre promoted: its files (fetched from the hall's bucket) are checked against the sha256s
        the command names, written into this hall's registry and made active; running workers switch to it within
        RELOAD_INTERVAL_S (counterwatch.learning.runtime) where the hall config runs that behaviour's 'active' head.
        Acknowledged with the outcome."""
        command_id = str(body["command_id"])
        result = self._write_head(str(body["behaviour"]), str(body["version"]), dict(body["files"]), files)
        with self._database.write() as session:
            record_audit(session, Actor.system("centre"), "head.pushed", "head",
                         f"{body['behaviour']}/{body['version']}", hall_id=self._hall_id,
                         details={"command_id": command_id, "result": result})
            self._outbox.command_ack(session, command_id, result)
        self.applied += 1
        logger.info("centre command %s: head %s %s: %s", command_id, body["behaviour"], body["version"], result)
        return result

    def _write_head(self, behaviour: str, version: str, expected: dict[str, str], files: dict[str, bytes]) -> str:
        import hashlib

        from counterwatch.learning.registry import Registry, RegistryError

        if self._heads_root is None:
            return "refused: this edge has no heads registry"
        if set(expected) != {"model.joblib", "card.json"} or set(files) != set(expected):
            return "refused: a head is model.joblib and card.json"
        for name, data in files.items():
            if hashlib.sha256(data).hexdigest() != expected[name]:
                return f"refused: {name} does not match its sha256"
        if "/" in behaviour or "/" in version or version.startswith("."):
            return "refused: bad behaviour or version name"
        folder = self._heads_root / behaviour / version
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("model.joblib", "card.json"):  # the card last: a folder with a card is complete
            temporary = folder / f".{name}.part"
            temporary.write_bytes(files[name])
            temporary.replace(folder / name)
        try:
            Registry(self._heads_root).set_active(behaviour, version)
        except RegistryError as error:
            return f"refused: {error}"
        return "installed and active"

    def _review(self, body: dict[str, Any]) -> None:
        incident_id, state = str(body["incident_id"]), ReviewState(body["review_state"])
        with self._database.write() as session:
            incident = session.get(IncidentRow, incident_id)
            if incident is None or incident.hall_id != self._hall_id:
                logger.warning("review of unknown incident %s from the centre ignored", incident_id)
                return
            if incident.review_state is not state:
                incident.review_state = state
                incident.updated_at = utcnow()
                record_audit(session, Actor.system("centre"), "incident.review_synced", "incident", incident_id,
                             hall_id=self._hall_id, details={"review_state": state.value})
        self.applied += 1
