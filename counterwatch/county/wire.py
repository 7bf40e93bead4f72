"""Subjects and documents between the edges and the centre.

Up (edge -> centre, stream CW_UP): `cw.up.<hall>.<kind>`; down (centre -> edge, stream CW_CMD):
`cw.cmd.<hall>.<kind>`. A hall's credentials allow publishing only under its own `cw.up.<hall>.`; the centre also
checks that the hall inside the document is the subject's. Every document is an envelope:

    {"v": 1, "kind": "...", "hall_id": "...", "body": {...}, "files": [{"path": ..., "sha256": ...}]}

`files` name evidence (or sampled frames) the edge put into the hall's Object Store bucket before publishing the
message, by their path under the data directory; the centre fetches each, checks its sha256 and stores it under the
same path. Times are ISO 8601 in UTC.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from cameras.health import CameraHealth, CameraState
from counterwatch.incidents.events import IncidentEvent
from counterwatch.incidents.sink import event_from_dict, event_to_dict
from counterwatch.learning.sampling import SampledFrame
from counterwatch.rules.pause import PausePeriod
from counterwatch.runtime.messages import CameraStats, WindowStatus

VERSION = 1
UP_STREAM = "CW_UP"
COMMAND_STREAM = "CW_CMD"
UP_KINDS = ("incident", "pause", "queue", "status", "health", "stats", "sample", "ack", "recovered")
COMMAND_KINDS = ("queue", "review", "head")
_HALL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


class WireError(ValueError):
    """A document that is not what its subject says (bad JSON, unknown kind, another hall, a missing field)."""


def check_hall(hall_id: str) -> str:
    if not _HALL.match(hall_id):
        raise WireError(f"hall id {hall_id!r} cannot be a subject token: letters, digits, '_' and '-' only")
    return hall_id


def up_subject(hall_id: str, kind: str) -> str:
    if kind not in UP_KINDS:
        raise WireError(f"unknown up kind {kind!r}")
    return f"cw.up.{check_hall(hall_id)}.{kind}"


def command_subject(hall_id: str, kind: str) -> str:
    if kind not in COMMAND_KINDS:
        raise WireError(f"unknown command kind {kind!r}")
    return f"cw.cmd.{check_hall(hall_id)}.{kind}"


def evidence_bucket(hall_id: str) -> str:
    """The Object Store bucket of one hall's files (per hall, so that credentials can be limited to it)."""
    return f"cw-files-{check_hall(hall_id)}"


def head_object(behaviour: str, version: str, name: str) -> str:
    """Where a pushed head's file lies in the hall's bucket."""
    return f"heads/{behaviour}/{version}/{name}"


def command_consumer(hall_id: str) -> str:
    return f"edge_{check_hall(hall_id)}"


def subject_parts(subject: str, direction: str) -> tuple[str, str]:
    """(hall, kind) of a subject `cw.<direction>.<hall>.<kind>`."""
    parts = subject.split(".")
    if len(parts) != 4 or parts[0] != "cw" or parts[1] != direction:
        raise WireError(f"subject {subject!r} is not cw.{direction}.<hall>.<kind>")
    return parts[2], parts[3]


@dataclass(frozen=True)
class FileRef:
    path: str  # relative to the data directory, POSIX separators
    sha256: str | None  # None: the edge no longer had the file


@dataclass(frozen=True)
class Envelope:
    kind: str
    hall_id: str
    body: dict[str, Any]
    files: tuple[FileRef, ...] = field(default=())

    def encode(self) -> bytes:
        return json.dumps({"v": VERSION, "kind": self.kind, "hall_id": self.hall_id, "body": self.body,
                           "files": [{"path": f.path, "sha256": f.sha256} for f in self.files]},
                          ensure_ascii=False, separators=(",", ":")).encode()


def decode(data: bytes, subject: str, direction: str = "up") -> Envelope:
    """Parse a message and check it against its subject (hall and kind)."""
    hall, kind = subject_parts(subject, direction)
    try:
        document = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError(f"not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("v") != VERSION:
        raise WireError(f"not a version {VERSION} envelope")
    if document.get("kind") != kind:
        raise WireError(f"kind {document.get('kind')!r} does not match the subject's {kind!r}")
    if document.get("hall_id") != hall:
        raise WireError(f"hall {document.get('hall_id')!r} does not match the subject's {hall!r}")
    body = document.get("body")
    if not isinstance(body, dict):
        raise WireError("body must be an object")
    files = []
    for item in document.get("files") or ():
        if not isinstance(item, dict) or not isinstance(item.get("path"), str):
            raise WireError("files must be objects with a path")
        files.append(FileRef(item["path"], item.get("sha256")))
    return Envelope(kind, hall, body, tuple(files))


# ---- bodies ---------------------------------------------------------------------------------------------------------

def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise WireError(f"{name} must be an ISO 8601 time")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise WireError(f"{name} must carry a UTC offset")
    return parsed.astimezone(UTC)


def _required_time(value: Any, name: str) -> datetime:
    parsed = _time(value, name)
    if parsed is None:
        raise WireError(f"{name} is required")
    return parsed


def incident_body(event: IncidentEvent) -> dict[str, Any]:
    return event_to_dict(event)


def incident_of(body: dict[str, Any]) -> IncidentEvent:
    try:
        return event_from_dict(body)
    except (KeyError, TypeError, ValueError) as error:
        raise WireError(f"incident: {error}") from None


def pause_body(period: PausePeriod) -> dict[str, Any]:
    return {"window_id": period.window_id, "source": period.source, "started_at": _iso(period.started_at),
            "ended_at": _iso(period.ended_at)}


def pause_of(body: dict[str, Any]) -> PausePeriod:
    try:
        return PausePeriod(str(body["window_id"]), str(body["source"]),
                           _required_time(body["started_at"], "started_at"), _time(body.get("ended_at"), "ended_at"))
    except KeyError as error:
        raise WireError(f"pause: missing {error}") from None


def status_body(status: WindowStatus) -> dict[str, Any]:
    return {"window_id": status.window_id, "camera_id": status.camera_id, "present": status.present,
            "paused": status.paused, "pause_source": status.pause_source, "ts": status.ts,
            "wall_time": _iso(status.wall_time)}


def status_of(body: dict[str, Any]) -> WindowStatus:
    try:
        return WindowStatus(str(body["window_id"]), str(body["camera_id"]), bool(body["present"]),
                            bool(body["paused"]), body.get("pause_source"), float(body["ts"]),
                            _required_time(body["wall_time"], "wall_time"))
    except (KeyError, TypeError, ValueError) as error:
        raise WireError(f"status: {error}") from None


def health_body(health: CameraHealth) -> dict[str, Any]:
    return {"camera_id": health.camera_id, "state": health.state.value, "reason": health.reason,
            "frames_read": health.frames_read, "frames_dropped": health.frames_dropped,
            "frames_corrupt": health.frames_corrupt, "reconnects": health.reconnects,
            "last_frame_wall_time": _iso(health.last_frame_wall_time), "last_frame_age_s": health.last_frame_age_s}


def health_of(body: dict[str, Any]) -> CameraHealth:
    try:
        return CameraHealth(str(body["camera_id"]), CameraState(body["state"]), str(body["reason"]),
                            int(body["frames_read"]), int(body["frames_dropped"]), int(body["frames_corrupt"]),
                            int(body["reconnects"]), _time(body.get("last_frame_wall_time"), "last_frame_wall_time"),
                            body.get("last_frame_age_s"))
    except (KeyError, TypeError, ValueError) as error:
        raise WireError(f"health: {error}") from None


def stats_body(stats: CameraStats) -> dict[str, Any]:
    return {"camera_id": stats.camera_id, "frames": stats.frames,
            "last_frame_wall_time": _iso(stats.last_frame_wall_time),
            "timings_ms": [list(item) for item in stats.timings_ms]}


def stats_of(body: dict[str, Any]) -> CameraStats:
    try:
        return CameraStats(str(body["camera_id"]), int(body["frames"]),
                           _time(body.get("last_frame_wall_time"), "last_frame_wall_time"),
                           tuple((str(m), float(ms), int(n)) for m, ms, n in body.get("timings_ms") or ()))
    except (KeyError, TypeError, ValueError) as error:
        raise WireError(f"stats: {error}") from None


def sample_body(sample: SampledFrame) -> dict[str, Any]:
    return {"camera_id": sample.camera_id, "window_id": sample.window_id, "captured_at": _iso(sample.captured_at),
            "path": sample.path, "scores": [list(score) for score in sample.scores],
            "uncertainty": sample.uncertainty}


def sample_of(body: dict[str, Any]) -> SampledFrame:
    try:
        return SampledFrame(str(body["camera_id"]), str(body["window_id"]),
                            _required_time(body["captured_at"], "captured_at"), str(body["path"]),
                            tuple((str(b), float(p), float(t)) for b, p, t in body.get("scores") or ()),
                            float(body["uncertainty"]))
    except (KeyError, TypeError, ValueError) as error:
        raise WireError(f"sample: {error}") from None
