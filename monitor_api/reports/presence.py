"""Presence arithmetic of a report: how a window's elapsed service time splits into present, absent, paused and
unknown.

For each local date of the period the hall calendar gives the window's service hours; only the part before the
report's `now` counts (service time that has not happened yet is nobody's absence or presence). Within it, each
minute is exactly one of:

- paused: a pause period covers it (the sign, the queue system, the schedule): a declared state, known without a
  camera;
- unknown: the window was not observed (camera offline or stalled, no frames, window status unknown), as a
  `Coverage` reports it;
- absent: an absence incident (ABSENCE_TYPES, not dismissed) covers it;
- present: everything else.

The presence rate is present / (service - unknown): time nobody observed is neither presence nor absence. Without a
`Coverage` unobserved time cannot be told apart and counts as present (the report says so).

`StoredCoverage` reads the stored record of observed time (observed_spans, written by `counterwatch run`): outages
that ended, restarts and days nothing ran. `LiveCoverage` knows only the live registry of a running process (the
fallback for a hall that has no stored record yet).
"""
from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Collection, Iterable, Mapping
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from monitor_api.storage.models import CameraWindowRow
from monitor_api.storage.observed import observed_intervals, recording_started
from monitor_api.storage.types import utcnow

Interval = tuple[dt.datetime, dt.datetime]
# When this process started (module import, at app creation): the live registry knows nothing from before.
PROCESS_STARTED = utcnow()


class Calendar(Protocol):
    """What reports need of counterwatch.rules.schedule.HallCalendar."""

    def service_periods(self, window_id: str, date: dt.date) -> tuple[Interval, ...]: ...


class Coverage(Protocol):
    """Where a window was not observed: camera offline, no frames, window status unknown."""

    def unobserved(self, window_id: str, since: dt.datetime, until: dt.datetime) -> list[Interval]:
        """Aware UTC intervals within [since, until) in which nothing watched the window."""
        ...


def union_minutes(intervals: Iterable[Interval]) -> float:
    total = 0.0
    current: Interval | None = None
    for start, end in sorted(intervals):
        if current is None or start > current[1]:
            if current is not None:
                total += (current[1] - current[0]).total_seconds()
            current = (start, end)
        else:
            current = (current[0], max(current[1], end))
    if current is not None:
        total += (current[1] - current[0]).total_seconds()
    return total / 60.0


def clip(intervals: Iterable[Interval], bounds: Interval) -> list[Interval]:
    out = []
    for start, end in intervals:
        start, end = max(start, bounds[0]), min(end, bounds[1])
        if end > start:
            out.append((start, end))
    return out


def subtract(bounds: Interval, intervals: Iterable[Interval]) -> list[Interval]:
    """`bounds` minus the union of `intervals`, in order."""
    out: list[Interval] = []
    cursor = bounds[0]
    for start, end in sorted(clip(intervals, bounds)):
        if start > cursor:
            out.append((cursor, start))
        cursor = max(cursor, end)
    if cursor < bounds[1]:
        out.append((cursor, bounds[1]))
    return out


def presence(calendar: Calendar, window_id: str, days: Iterable[dt.date], absences: list[Interval],
             pauses: list[Interval], unobserved: list[Interval], now: dt.datetime) -> dict[str, Any]:
    """Minutes of elapsed service time per state (see the module docstring) and the presence rate."""
    service = absent = paused = unknown = 0.0
    for day in days:
        for start, end in calendar.service_periods(window_id, day):
            bounds = (start.astimezone(dt.UTC), min(end.astimezone(dt.UTC), now))
            if bounds[1] <= bounds[0]:
                continue  # not yet elapsed
            service += (bounds[1] - bounds[0]).total_seconds() / 60.0
            in_pause, in_gap, in_absence = clip(pauses, bounds), clip(unobserved, bounds), clip(absences, bounds)
            paused_here = union_minutes(in_pause)
            paused_or_unknown = union_minutes(in_pause + in_gap)
            paused += paused_here
            unknown += paused_or_unknown - paused_here  # a pause is known without a camera
            absent += union_minutes(in_pause + in_gap + in_absence) - paused_or_unknown
    present = max(service - absent - paused - unknown, 0.0)
    observed = service - unknown
    return {"service_minutes": round(service, 1), "present_minutes": round(present, 1),
            "absent_minutes": round(absent, 1), "paused_minutes": round(paused, 1),
            "unknown_minutes": round(unknown, 1),
            "presence_rate": round(present / observed, 4) if observed > 1e-9 else None,
            "unknown_share": round(unknown / service, 4) if service else None}


PRESENCE_KEYS = ("service_minutes", "present_minutes", "absent_minutes", "paused_minutes", "unknown_minutes")


def total_presence(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The windows' presence added up (None when no row has presence): the summary's figure."""
    rows = [row for row in rows if "service_minutes" in row]
    if not rows:
        return None
    total = {key: round(sum(row[key] for row in rows), 1) for key in PRESENCE_KEYS}
    observed = total["service_minutes"] - total["unknown_minutes"]
    total["presence_rate"] = round(total["present_minutes"] / observed, 4) if observed > 1e-9 else None
    total["unknown_share"] = (round(total["unknown_minutes"] / total["service_minutes"], 4)
                              if total["service_minutes"] else None)
    return total


class LiveCoverage:
    """Unobserved time the live registry knows of: a window whose status is stale (no frames: the camera is offline
    or stalled) has been unobserved since its last status; one never reported since this process started, since
    then. Only for a process that runs the hall's cameras (`counterwatch run`): elsewhere the registry is empty.

    The registry holds the current state only: an outage that has ended, or one from before this process started,
    is not known here (StoredCoverage knows those; this is the fallback for a hall without a stored record yet)."""

    def __init__(self, live: Any, hall_id: str, stale_s: float, now: dt.datetime,
                 started_at: dt.datetime = PROCESS_STARTED) -> None:
        self._live, self._hall_id, self._stale_s = live, hall_id, stale_s
        self._now, self._started_at = now, started_at

    def unobserved(self, window_id: str, since: dt.datetime, until: dt.datetime) -> list[Interval]:
        status = self._live.window(self._hall_id, window_id)
        last = getattr(status, "updated_at", None)
        if last is not None and (self._now - last).total_seconds() <= self._stale_s:
            return []
        return clip([(last or self._started_at, self._now)], (since, until))


class ScriptedCoverage:
    """Unobserved intervals given per window (tests, imports of an outage log)."""

    def __init__(self, gaps: dict[str, list[Interval]]) -> None:
        self._gaps = gaps

    def unobserved(self, window_id: str, since: dt.datetime, until: dt.datetime) -> list[Interval]:
        return clip(self._gaps.get(window_id, []), (since, until))


def window_cameras(config: Any) -> dict[str, set[str]]:
    """Which cameras view each window, from a hall config (a camera's `views: [{window: w01, ...}]`)."""
    cameras: dict[str, set[str]] = defaultdict(set)
    for camera in config.cameras:
        for view in camera.views:
            cameras[view.window].add(camera.id)
    return dict(cameras)


class StoredCoverage:
    """Unobserved time from the stored record of observed time (observed_spans, monitor_api.storage.observed): a
    window is observed while a camera that views it has a span; any other time since the hall's record began is
    unknown: an outage that has ended, the time before a restart, days counterwatch did not run, and a camera that
    stopped reporting (its span ends at its last written end, which trails a working camera by ~10 s at most).

    Time before the hall's first span is not told apart (nothing recorded it; it counts as before this record
    existed), and `for_hall` gives None for a hall with no span at all: its cameras never ran under this version, and
    calling all its time unknown would hide every absence. `views` maps a window to the cameras that view it (the
    hall config's, window_cameras); without it the copy synced into the database (camera_windows) is used."""

    def __init__(self, session: Session, hall_id: str, recording_since: dt.datetime,
                 views: Mapping[str, Collection[str]]) -> None:
        self._session, self._hall_id = session, hall_id
        self.recording_since, self._views = recording_since, views
        self._spans: dict[Interval, dict[str, list[Interval]]] = {}

    @classmethod
    def for_hall(cls, session: Session, hall_id: str,
                 views: Mapping[str, Collection[str]] | None = None) -> StoredCoverage | None:
        since = recording_started(session, hall_id)
        if since is None:
            return None
        if views is None:
            stored: dict[str, set[str]] = defaultdict(set)
            for camera_id, window_id in session.execute(select(CameraWindowRow.camera_id, CameraWindowRow.window_id)
                                                        .where(CameraWindowRow.hall_id == hall_id)):
                stored[window_id].add(camera_id)
            views = dict(stored)
        return cls(session, hall_id, since, views)

    def unobserved(self, window_id: str, since: dt.datetime, until: dt.datetime) -> list[Interval]:
        bounds = (max(since, self.recording_since), until)
        if bounds[1] <= bounds[0]:
            return []
        if (since, until) not in self._spans:  # one read per report: every window asks over the same period
            self._spans[(since, until)] = observed_intervals(self._session, self._hall_id, None, since, until)
        spans = self._spans[(since, until)]
        return subtract(bounds, [span for camera in self._views.get(window_id, ()) for span in spans.get(camera, ())])
