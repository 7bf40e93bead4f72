"""Where incident events go: a small plugin interface keyed by `type`, a JSON-lines file and an in-memory list.

`counterwatch run` stores every event in the hall database (monitor_api.ingest.DatabaseSink) and also appends it to
`JsonlSink`: one JSON object per line in `<data_dir>/incidents.jsonl`, with evidence files under
`<data_dir>/evidence/` (paths in the events are relative to the data directory). Other sinks register under their
own `type`.

JSON form of an event (`event_to_dict`): datetimes as ISO 8601 in UTC ("2024-05-06T01:02:03.456000+00:00"),
`kind` as its value ("opened"), `attributes` as an object (its key order kept), `evidence` as
{"snapshot": path or null, "clip": path or null}, `reason_detail` as the reason's code and numbers
(counterwatch.incidents.reasons; null or absent for an event that has only the text); every other field as is.
"""
from __future__ import annotations

import abc
import json
import logging
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, TypeVar

from counterwatch.incidents.events import EventKind, Evidence, IncidentEvent
from counterwatch.incidents.reasons import Reason
from counterwatch.private_files import open_private, private_dir, tighten

logger = logging.getLogger("counterwatch.incidents")

JSONL_NAME = "incidents.jsonl"


# ---- JSON form ------------------------------------------------------------------------------------------------------

def _utc_iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat()


def _parse_utc(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        raise ValueError(f"incident event field {name!r} must carry a UTC offset, got {value!r}")
    return parsed.astimezone(UTC)


def _parse_required_utc(value: str | None, name: str) -> datetime:
    parsed = _parse_utc(value, name)
    if parsed is None:
        raise ValueError(f"incident event field {name!r} must be a time, got null")
    return parsed


def event_to_dict(event: IncidentEvent) -> dict[str, Any]:
    """A JSON-ready dict of an event (see the module docstring for the form)."""
    return {
        "kind": event.kind.value,
        "incident_id": event.incident_id,
        "incident_type": event.incident_type,
        "hall_id": event.hall_id,
        "window_id": event.window_id,
        "camera_id": event.camera_id,
        "staff_id": event.staff_id,
        "started_at": _utc_iso(event.started_at),
        "ended_at": _utc_iso(event.ended_at),
        "start_ts": event.start_ts,
        "ts": event.ts,
        "confidence": event.confidence,
        "peak_confidence": event.peak_confidence,
        "reason": event.reason,
        "attributes": dict(event.attributes),
        "evidence": {"snapshot": event.evidence.snapshot, "clip": event.evidence.clip},
        "reason_detail": None if event.reason_detail is None else event.reason_detail.to_dict(),
    }


def event_from_dict(data: dict[str, Any]) -> IncidentEvent:
    """The event `event_to_dict` made; raises ValueError naming the field that is missing or wrong."""
    if not isinstance(data, dict):
        raise ValueError(f"incident event must be a JSON object, got {type(data).__name__}")
    try:
        evidence = data.get("evidence") or {}
        attributes = data.get("attributes") or {}
        detail = data.get("reason_detail")
        if not isinstance(attributes, dict):
            raise ValueError(f"incident event field 'attributes' must be an object, got {attributes!r}")
        return IncidentEvent(
            kind=EventKind(data["kind"]),
            incident_id=data["incident_id"],
            incident_type=data["incident_type"],
            hall_id=data["hall_id"],
            window_id=data["window_id"],
            camera_id=data["camera_id"],
            staff_id=data["staff_id"],
            started_at=_parse_required_utc(data["started_at"], "started_at"),
            ended_at=_parse_utc(data["ended_at"], "ended_at"),
            start_ts=float(data["start_ts"]),
            ts=float(data["ts"]),
            confidence=float(data["confidence"]),
            peak_confidence=float(data["peak_confidence"]),
            reason=data["reason"],
            attributes=tuple(attributes.items()),
            evidence=Evidence(snapshot=evidence.get("snapshot"), clip=evidence.get("clip")),
            reason_detail=None if detail is None else Reason.from_dict(detail),
        )
    except KeyError as exc:
        raise ValueError(f"incident event is missing the field {exc.args[0]!r}") from exc
    except TypeError as exc:  # e.g. a null where a number belongs
        raise ValueError(f"incident event has a field of the wrong type: {exc}") from exc


def read_jsonl(path: str | Path) -> Iterator[IncidentEvent]:
    """The events of a JSON-lines file in order. A last line without its newline (a write cut by a crash) is
    skipped with a warning; any other bad line raises ValueError naming its line number."""
    with open(path, "rb") as handle:
        lines = handle.read().split(b"\n")
    torn = lines.pop()  # after the last "\n": empty when the file ends cleanly
    if torn.strip():
        logger.warning("%s: ignoring an incomplete last line (%d bytes)", path, len(torn))
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield event_from_dict(json.loads(line))
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            raise ValueError(f"{path}:{number}: {exc}") from exc


# ---- sinks ----------------------------------------------------------------------------------------------------------

class IncidentSink(abc.ABC):
    """Receives every event the pipeline produces, in order. `type` names the sink in configuration."""

    type: ClassVar[str]

    @abc.abstractmethod
    def deliver(self, event: IncidentEvent) -> None:
        """Store or forward one event; on return it is durable as far as this sink can make it. Raises OSError
        (or the sink's own error) when it could not: the caller decides whether to retry."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release resources; deliver() after close() raises RuntimeError."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_SINKS: dict[str, type[IncidentSink]] = {}
S = TypeVar("S", bound=type[IncidentSink])


def register_sink(cls: S) -> S:
    """Class decorator: make a sink constructible by its `type` (create_sink)."""
    key = getattr(cls, "type", None)
    if not isinstance(key, str) or not key:
        raise ValueError(f"{cls.__name__} needs a class attribute `type` (str) to be registered")
    existing = _SINKS.get(key)
    if existing is not None and existing is not cls:
        raise ValueError(f"sink type {key!r} is already registered by {existing.__name__}")
    _SINKS[key] = cls
    return cls


def sink_types() -> list[str]:
    return sorted(_SINKS)


def create_sink(sink_type: str, **options: Any) -> IncidentSink:
    """A sink by its configured `type`, constructed with `options` (e.g. create_sink("jsonl", data_dir=...))."""
    cls = _SINKS.get(sink_type)
    if cls is None:
        raise ValueError(f"sink type {sink_type!r} is unknown; use one of {sink_types()}")
    return cls(**options)


@register_sink
class JsonlSink(IncidentSink):
    """Appends each event as one line of JSON to `<data_dir>/incidents.jsonl`, durable on return.

    Each line goes out in a single write() on an O_APPEND descriptor, then fsync: a crash leaves at most one
    incomplete last line, which `read_jsonl` skips and which the next open ends with a newline so the following
    record starts clean. Use one instance from one thread (the pipeline's delivery loop); it holds no lock.
    """

    type = "jsonl"

    def __init__(self, data_dir: str | Path) -> None:
        if not isinstance(data_dir, (str, Path)) or not str(data_dir):
            raise ValueError(f"JsonlSink.data_dir must be a path, got {data_dir!r}")
        self.path = Path(data_dir) / JSONL_NAME
        private_dir(self.path.parent)
        self._fd: int | None = open_private(self.path, os.O_WRONLY | os.O_APPEND)
        tighten(self.path)  # a log an earlier version made group-readable
        try:
            self._end_torn_line()
        except BaseException:
            self.close()
            raise

    def _open_fd(self) -> int:
        if self._fd is None:
            raise RuntimeError(f"JsonlSink for {self.path} is closed")
        return self._fd

    def _end_torn_line(self) -> None:
        size = os.fstat(self._open_fd()).st_size
        if size == 0:
            return
        with open(self.path, "rb") as handle:
            handle.seek(size - 1)
            last = handle.read(1)
        if last != b"\n":
            logger.warning("%s ends in an incomplete line (a crash mid-write); ending it before appending", self.path)
            self._write(b"\n")

    def _write(self, data: bytes) -> None:
        fd = self._open_fd()
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)

    def deliver(self, event: IncidentEvent) -> None:
        if self._fd is None:
            raise RuntimeError(f"JsonlSink for {self.path} is closed")
        line = json.dumps(event_to_dict(event), ensure_ascii=False, separators=(",", ":")) + "\n"
        self._write(line.encode("utf-8"))

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


@register_sink
class MemorySink(IncidentSink):
    """Keeps delivered events in a list (tests, and code that inspects what the pipeline produced)."""

    type = "memory"

    def __init__(self) -> None:
        self.events: list[IncidentEvent] = []
        self.closed = False

    def deliver(self, event: IncidentEvent) -> None:
        if self.closed:
            raise RuntimeError("MemorySink is closed")
        self.events.append(event)

    def close(self) -> None:
        self.closed = True
