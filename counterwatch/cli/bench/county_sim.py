"""The simulated edges of `counterwatch bench county`: one per hall, in the benchmark's process, each with what a
real edge has on the way to the centre (its own SQLite hall database, the EdgeOutbox, the DatabaseSink that stores
incidents and writes them to the outbox in one transaction, and its own Uplink thread with the hall's NATS user),
fed by a traffic schedule instead of cameras and workers.

Traffic per hall, on its own thread (as each real edge runs alone):
- incidents: a Poisson process per window at `incident_rate_per_h`. Each one is `opened` with a snapshot (a JPEG of
  `snapshot_bytes`), `updated` when its clip is written `clip_after_s` later (an MP4 of `clip_bytes`), and `closed`
  after `incident_s` (carrying both files, as the EvidenceRecorder's events do). The files are random bytes (they
  compress like real JPEG and H.264) behind the formats' magic numbers. Absences make the window's staff absent.
- window status: every `status_every_s` per window (the workers' heartbeat) and on every presence change (staff
  leaving and coming back every `presence_change_s` on average, and the absences); the EdgeOutbox lets through what
  its `status_every_s` allows, as on a real edge.
- camera stats every `stats_every_s` per camera (the runner's STATS_INTERVAL_S); camera health when a camera comes
  online and on a rare reconnect (offline, then online again 3 s later; one per camera per `reconnect_every_s`).

Every incident event carries its send time (`bench_sent_at`, this machine's wall clock, taken after its files were
written and before the edge stores it) in its attributes: the centre's live message shows the attributes of the
incident's newest event, so the feed subscriber reads each event's end-to-end latency from it.
"""
from __future__ import annotations

import heapq
import itertools
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

from cameras.health import CameraHealth, CameraState
from counterwatch.behaviours import INCIDENT_TYPES
from counterwatch.config import load_config
from counterwatch.county.edge import EdgeCommands, EdgeOutbox
from counterwatch.county.uplink import Uplink
from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent
from counterwatch.runtime.messages import CameraStats, WindowStatus, WorkerMessage
from monitor_api.ingest import DatabaseSink
from monitor_api.storage import EvidenceStore, open_hall_database

SENT_AT = "bench_sent_at"  # the attribute holding an event's send time (seconds since the epoch)
ABSENCES = ("absent_without_pause", "left_during_service")
_JPEG = (b"\xff\xd8\xff\xe0\x00\x10JFIF\x00", b"\xff\xd9")
_MP4 = (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", b"")
_TIMINGS = (("people", 38.0, 2), ("pose", 21.0, 2), ("hands_area", 9.0, 2), ("heads", 3.0, 4))


@dataclass(frozen=True)
class TrafficProfile:
    incident_rate_per_h: float = 6.0
    status_every_s: float = 10.0
    stats_every_s: float = 2.0
    presence_change_s: float = 600.0
    reconnect_every_s: float = 3600.0
    snapshot_bytes: int = 60_000
    clip_bytes: int = 1_500_000
    clip_after_s: float = 10.0
    incident_s: tuple[float, float] = (15.0, 45.0)
    dwell_s: float = 120.0


@dataclass(frozen=True)
class Raised:
    incident_id: str
    kind: str
    sent_at: float  # seconds since the epoch


@dataclass
class Counts:
    incidents: int = 0
    statuses: int = 0
    stats: int = 0
    health: int = 0
    evidence_files: int = 0
    evidence_bytes: int = 0
    late_s: float = 0.0  # the most an action ran behind its schedule (the simulator's own lag)


@dataclass
class _Open:
    incident_id: str
    incident_type: str
    window_id: str
    camera_id: str
    started_at: datetime
    start_ts: float
    snapshot: str
    clip: str | None = None


@dataclass
class SimEdge:
    """One hall's edge; `start()` starts its uplink and its traffic thread, `finish()` closes its open incidents
    and stops the traffic, `close()` stops the uplink (call it once its outbox is empty)."""

    hall_yaml: Path
    profile: TrafficProfile
    seed: int
    raised: list[Raised] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)

    def __post_init__(self) -> None:
        self.config = load_config(self.hall_yaml)
        self.hall_id = self.config.hall.id
        uplink = self.config.uplink
        assert uplink is not None, f"{self.hall_yaml} has no uplink section"
        self.data_dir = (self.config.base_dir / "data").resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.database, _ = open_hall_database(self.config)
        self.outbox = EdgeOutbox(self.hall_id, self.data_dir, status_every_s=uplink.status_every_s,
                    stats_every_s=uplink.stats_every_s)
        self.sink = DatabaseSink(self.database, evidence_store=EvidenceStore(self.data_dir), outbox=self.outbox)
        self.cameras = {view.window: camera.id for camera in self.config.cameras for view in camera.views}
        self.uplink: Uplink | None = None
        self._rng = random.Random(self.seed)
        self._present = dict.fromkeys(self.cameras, True)
        self._open: dict[str, _Open] = {}  # window id -> its open incident
        self._numbers = itertools.count(1)
        self._schedule: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._origin = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    # ---- life -----------------------------------------------------------------------------------------------------

    def start(self) -> SimEdge:
        assert self.config.uplink is not None
        commands = EdgeCommands(self.hall_id, self.database, self.outbox)
        self.uplink = Uplink(self.config.uplink, self.config.base_dir, self.hall_id, self.database, self.data_dir,
                             commands=commands).start()
        self._plan()
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.hall_id}", daemon=True)
        self._thread.start()
        return self

    def finish(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        for window_id in list(self._open):
            self._close(window_id)

    def outbox_depth(self) -> int:
        return self.uplink.depth()[0] if self.uplink is not None else 0

    def close(self) -> None:
        if self.uplink is not None:
            self.uplink.stop()
        self.database.dispose()

    def raised_events(self) -> list[Raised]:
        with self._lock:
            return list(self.raised)

    # ---- schedule -------------------------------------------------------------------------------------------------

    def _at(self, delay_s: float, action: Callable[[], None]) -> None:
        heapq.heappush(self._schedule, (time.monotonic() + delay_s, next(self._order), action))

    def _every(self, period_s: float, action: Callable[[], None], first_s: float) -> None:
        def tick() -> None:
            action()
            self._at(period_s, tick)

        self._at(first_s, tick)

    def _plan(self) -> None:
        profile, rng = self.profile, self._rng
        for camera in self.config.cameras:
            self._at(0.0, partial(self._health, camera.id, CameraState.ONLINE))
            self._every(profile.stats_every_s, partial(self._stats, camera.id), rng.uniform(0, profile.stats_every_s))
            self._at(rng.expovariate(1 / profile.reconnect_every_s), partial(self._reconnect, camera.id))
        for window_id in self.cameras:
            self._every(profile.status_every_s, partial(self._status, window_id),
                        rng.uniform(0, profile.status_every_s))
            self._at(rng.expovariate(1 / profile.presence_change_s), partial(self._presence_change, window_id))
        if profile.incident_rate_per_h > 0:
            self._at(self._next_incident_s(), self._incident)

    def _run(self) -> None:
        while not self._stop.is_set():
            due, _, action = self._schedule[0]
            wait = due - time.monotonic()
            if wait > 0:
                self._stop.wait(min(wait, 0.5))
                continue
            heapq.heappop(self._schedule)
            self.counts.late_s = max(self.counts.late_s, -wait)
            action()

    def _ts(self) -> float:
        return 1000.0 + time.monotonic() - self._origin  # stream seconds

    # ---- incidents ------------------------------------------------------------------------------------------------

    def _next_incident_s(self) -> float:
        return self._rng.expovariate(len(self.cameras) * self.profile.incident_rate_per_h / 3600.0)

    def _incident(self) -> None:
        self._at(self._next_incident_s(), self._incident)
        free = [window for window in self.cameras if window not in self._open]
        if not free:
            return
        window_id = self._rng.choice(free)
        number = next(self._numbers)
        incident_id = f"bench-{self.hall_id}-{number:06d}"
        now, ts = datetime.now(UTC), self._ts()
        incident = _Open(incident_id, self._rng.choice(INCIDENT_TYPES), window_id, self.cameras[window_id],
                         now - timedelta(seconds=self.profile.dwell_s), ts - self.profile.dwell_s,
                         self._write(f"evidence/{incident_id}/snapshot.jpg", self.profile.snapshot_bytes, _JPEG))
        self._open[window_id] = incident
        self._deliver(incident, EventKind.OPENED, ts, 0.8)
        if incident.incident_type in ABSENCES:
            self._set_present(window_id, False)
        duration = self._rng.uniform(*self.profile.incident_s)
        if duration > self.profile.clip_after_s:
            self._at(self.profile.clip_after_s, lambda: self._clip(incident))
        self._at(duration, lambda: self._close(window_id, incident_id))

    def _clip(self, incident: _Open) -> None:
        if self._open.get(incident.window_id) is not incident:
            return
        incident.clip = self._write(f"evidence/{incident.incident_id}/clip.mp4", self.profile.clip_bytes, _MP4)
        self._deliver(incident, EventKind.UPDATED, self._ts(), 0.9)

    def _close(self, window_id: str, incident_id: str | None = None) -> None:
        incident = self._open.get(window_id)
        if incident is None or (incident_id is not None and incident.incident_id != incident_id):
            return
        if incident.clip is None:  # a clip still pending is finished at once on close
            incident.clip = self._write(f"evidence/{incident.incident_id}/clip.mp4", self.profile.clip_bytes, _MP4)
        del self._open[window_id]
        self._deliver(incident, EventKind.CLOSED, self._ts(), 0.5)
        if incident.incident_type in ABSENCES:
            self._set_present(window_id, True)

    def _deliver(self, incident: _Open, kind: EventKind, ts: float, confidence: float) -> None:
        sent_at = time.time()
        event = IncidentEvent(
            kind=kind, incident_id=incident.incident_id, incident_type=incident.incident_type, hall_id=self.hall_id,
            window_id=incident.window_id, camera_id=incident.camera_id, staff_id=None,
            started_at=incident.started_at, ended_at=datetime.now(UTC) if kind is EventKind.CLOSED else None,
            start_ts=incident.start_ts, ts=ts, confidence=confidence, peak_confidence=0.9 if kind is not
            EventKind.OPENED else confidence, reason=f"bench county: {incident.incident_type} {kind.value}",
            attributes=((SENT_AT, sent_at),), evidence=Evidence(snapshot=incident.snapshot, clip=incident.clip))
        self.sink.deliver(event)  # stored locally and written to the outbox in one transaction
        with self._lock:
            self.raised.append(Raised(incident.incident_id, kind.value, sent_at))
        self.counts.incidents += 1

    def _write(self, relative: str, size: int, magic: tuple[bytes, bytes]) -> str:
        path = self.data_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        head, tail = magic
        path.write_bytes(head + self._rng.randbytes(max(0, size - len(head) - len(tail))) + tail)
        self.counts.evidence_files += 1
        self.counts.evidence_bytes += size
        return relative

    # ---- window status, camera stats and health --------------------------------------------------------------------

    def _presence_change(self, window_id: str) -> None:
        self._at(self._rng.expovariate(1 / self.profile.presence_change_s), lambda: self._presence_change(window_id))
        if window_id not in self._open:
            self._set_present(window_id, not self._present[window_id])

    def _set_present(self, window_id: str, present: bool) -> None:
        self._present[window_id] = present
        self._status(window_id)

    def _status(self, window_id: str) -> None:
        self._forward(WindowStatus(window_id, self.cameras[window_id], self._present[window_id], False, None,
                                   self._ts(), datetime.now(UTC)))
        self.counts.statuses += 1

    def _stats(self, camera_id: str) -> None:
        frames = round(2.0 * self.profile.stats_every_s)  # analysed at 2 fps
        self._forward(CameraStats(camera_id, frames, datetime.now(UTC), _TIMINGS))
        self.counts.stats += 1

    def _health(self, camera_id: str, state: CameraState) -> None:
        now = datetime.now(UTC)
        reason = "" if state is CameraState.ONLINE else "stream broke: reconnecting"
        frames = round(2.0 * (time.monotonic() - self._origin))
        self._forward(CameraHealth(camera_id, state, reason, frames, 0, 0, 0, now, 0.5))
        self.counts.health += 1

    def _reconnect(self, camera_id: str) -> None:
        self._health(camera_id, CameraState.OFFLINE)
        self._at(3.0, lambda: self._health(camera_id, CameraState.ONLINE))
        self._at(self._rng.expovariate(1 / self.profile.reconnect_every_s), lambda: self._reconnect(camera_id))

    def _forward(self, message: WorkerMessage) -> None:
        """As the edge's bridge does for messages without a local row: the outbox write is a transaction alone."""
        with self.database.write() as session:
            self.outbox(session, message)
