"""Observed time per camera (observed_spans): written from the pipeline, read by reports.

`ObservedTimeRecorder` turns the runner's messages into spans, for one hall:

- a "stats" message of a camera with frames > 0 (frames analysed since its last report, the last at
  `last_frame_wall_time`) extends the camera's open span to that frame, or opens a new span when there is none, when
  the camera went offline since, or after a gap: no analysed frame for longer than `tolerance_s`, both on the
  frames' clock and on the bridge's (a pump that fell behind delivers late reports of continuous frames; a fast file
  replay delivers frames minutes apart in stream time every 2 s: neither is a gap). A new span starts at the first
  frame the camera read when it came online (its "online" state message carries it), else at the report's last frame;
- a "camera" message in a closing state (offline, stalled, stopped) closes the open span at its last analysed frame
  (frames analysed before the outage but reported after it still extend it);
- writes are sparing: a span's row is inserted when it opens, its end is updated at most every `write_every_s` per
  camera (on the bridge's clock) and at once when it closes, each in one small transaction. A failed write is logged
  and tried again at the next due time; the pump never waits for more than one transaction.

A process killed mid-span leaves the span ending at its last written end: the time after it is unobserved as far as
the record knows. `observed_intervals` and `recording_started` are the reads reports use.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from monitor_api.storage._sql import insert_ignore
from monitor_api.storage.db import Database
from monitor_api.storage.incidents import ensure_references
from monitor_api.storage.models import ObservedSpanRow
from monitor_api.storage.types import utcnow

logger = logging.getLogger("counterwatch.api.storage")

WRITE_EVERY_S = 10.0  # the open span's end is written at most this often per camera (and whenever it closes)
CLOSING_STATES = frozenset({"offline", "stalled", "stopped"})


# ---- repository functions -------------------------------------------------------------------------------------------
def open_span(session: Session, hall_id: str, camera_id: str, started_at: datetime, ended_at: datetime) -> int:
    """Store a span (idempotent on its start) and return its id; its end only ever moves later."""
    ensure_references(session, hall_id, camera_id=camera_id)
    insert_ignore(session, ObservedSpanRow, {"hall_id": hall_id, "camera_id": camera_id, "started_at": started_at,
                                             "ended_at": max(started_at, ended_at)},
                  ["hall_id", "camera_id", "started_at"])
    span_id = session.scalar(select(ObservedSpanRow.id).filter_by(hall_id=hall_id, camera_id=camera_id,
                                                                  started_at=started_at))
    assert span_id is not None
    extend_span(session, span_id, ended_at)
    return span_id


def extend_span(session: Session, span_id: int, ended_at: datetime) -> None:
    session.execute(update(ObservedSpanRow)
                    .where(ObservedSpanRow.id == span_id, ObservedSpanRow.ended_at < ended_at)
                    .values(ended_at=ended_at))


def recording_started(session: Session, hall_id: str) -> datetime | None:
    """When the hall's record of observed time begins (its first span); None if it has none."""
    return session.scalar(select(func.min(ObservedSpanRow.started_at)).where(ObservedSpanRow.hall_id == hall_id))


def observed_intervals(session: Session, hall_id: str, camera_ids: Collection[str] | None, since: datetime,
                       until: datetime) -> dict[str, list[tuple[datetime, datetime]]]:
    """Spans overlapping [since, until) per camera (all of the hall's cameras when `camera_ids` is None)."""
    query = (select(ObservedSpanRow.camera_id, ObservedSpanRow.started_at, ObservedSpanRow.ended_at)
             .where(ObservedSpanRow.hall_id == hall_id, ObservedSpanRow.started_at < until,
                    ObservedSpanRow.ended_at > since)
             .order_by(ObservedSpanRow.started_at))
    if camera_ids is not None:
        query = query.where(ObservedSpanRow.camera_id.in_(sorted(camera_ids) or [""]))
    spans: dict[str, list[tuple[datetime, datetime]]] = {}
    for camera_id, started_at, ended_at in session.execute(query):
        spans.setdefault(camera_id, []).append((started_at, ended_at))
    return spans


# ---- the recorder ---------------------------------------------------------------------------------------------------
@dataclass
class _Span:
    started_at: datetime
    end: datetime  # the last analysed frame seen
    span_id: int | None = None  # once stored
    written_end: datetime | None = None
    open: bool = True  # False once the camera went offline, stalled or stopped
    barrier: datetime | None = None  # closed: frames up to this one (read before the outage) still belong here


@dataclass
class _Camera:
    camera_id: str
    span: _Span | None = None
    frames_at: float = 0.0  # bridge clock of the last report with frames
    online_at: datetime | None = None  # the first frame read since the camera last came online (the next start)
    next_write_at: float = 0.0  # bridge clock


class ObservedTimeRecorder:
    """Spans of observed time of one hall's cameras, from the runner's messages (see the module docstring).
    `clock` is the bridge's monotonic clock (seconds): it paces writes and tells a gap between reports."""

    def __init__(self, database: Database, hall_id: str, *, tolerance_s: float,
                 write_every_s: float = WRITE_EVERY_S, clock: Callable[[], float] = time.monotonic) -> None:
        if tolerance_s <= 0 or write_every_s < 0:
            raise ValueError("tolerance_s must be > 0 and write_every_s >= 0")
        self._database, self._hall_id = database, hall_id
        self.tolerance_s, self.write_every_s, self._clock = tolerance_s, write_every_s, clock
        self._cameras: dict[str, _Camera] = {}
        self.writes = 0  # transactions committed (tests, and a figure for the sparing-writes promise)

    def stats(self, camera_id: str, frames: int, last_frame_wall_time: datetime | None) -> None:
        now = self._clock()
        camera = self._cameras.setdefault(camera_id, _Camera(camera_id))
        late = False  # frames that extend a span closed by an outage: written at once
        if frames > 0:
            frame = last_frame_wall_time or utcnow()
            span = camera.span
            if span is not None and self._continues(camera, span, frame, now):
                span.end, late = max(span.end, frame), not span.open
            else:
                if span is not None:
                    self._flush(camera, final=True)  # the previous span's last frames
                camera.span, camera.online_at = _Span(self._start(camera, span, frame), frame), None
                camera.next_write_at = now  # store the new span's start at once
            camera.frames_at = now
        self._flush(camera, final=late)

    def camera_state(self, camera_id: str, state: str, last_frame_wall_time: datetime | None) -> None:
        if state == "online":
            # Reported with the session's first frame: where the span the next analysed frames open begins (a stats
            # report names only its last frame).
            self._cameras.setdefault(camera_id, _Camera(camera_id)).online_at = last_frame_wall_time
            return
        if state not in CLOSING_STATES:
            return  # starting: nothing observed yet
        camera = self._cameras.get(camera_id)
        if camera is None or camera.span is None:
            return
        span = camera.span
        span.open = False
        if last_frame_wall_time is not None:
            span.barrier = max(span.barrier or last_frame_wall_time, last_frame_wall_time)
        self._flush(camera, final=True)

    def close(self) -> None:
        """Write every open span's last frames (the runner stopped)."""
        for camera in self._cameras.values():
            self._flush(camera, final=True)

    @staticmethod
    def _start(camera: _Camera, previous: _Span | None, frame: datetime) -> datetime:
        """Where a new span begins: the first frame read since the camera came online, when it lies after the
        previous span and not after this report's last frame; else that last frame."""
        start = camera.online_at
        if start is None or start > frame:
            return frame
        if previous is not None and start <= max(previous.end, previous.barrier or previous.end):
            return frame
        return start

    def _continues(self, camera: _Camera, span: _Span, frame: datetime, now: float) -> bool:
        if not span.open and (span.barrier is None or frame > span.barrier):
            return False  # frames from after the outage: a new span
        stream_gap = (frame - span.end).total_seconds() > self.tolerance_s
        report_gap = now - camera.frames_at > self.tolerance_s
        return not (stream_gap and report_gap)

    def _flush(self, camera: _Camera, *, final: bool) -> None:
        span = camera.span
        if span is None or (span.span_id is not None and span.written_end is not None
                            and span.end <= span.written_end):
            return  # nothing new
        now = self._clock()
        if not final and now < camera.next_write_at:
            return
        camera.next_write_at = now + self.write_every_s  # also after a failure: no retry storm on a busy database
        camera_id, end = camera.camera_id, span.end
        try:
            with self._database.write() as session:
                if span.span_id is None:
                    span_id = open_span(session, self._hall_id, camera_id, span.started_at, end)
                else:
                    span_id = span.span_id
                    extend_span(session, span_id, end)
        except SQLAlchemyError:
            logger.warning("observed time of camera %s: storing the span failed, retrying later", camera_id,
                           exc_info=True)
            return
        span.span_id, span.written_end = span_id, end
        self.writes += 1
