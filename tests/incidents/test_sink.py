"""Incident sinks: JSON-lines file (round trip, append after reopen, crash leftovers), memory, registry."""
from __future__ import annotations

import json
import logging
from dataclasses import replace
from datetime import timedelta, timezone

import pytest

from counterwatch.incidents.events import EventKind, Evidence
from counterwatch.incidents.sink import (
    IncidentSink,
    JsonlSink,
    MemorySink,
    create_sink,
    event_from_dict,
    event_to_dict,
    read_jsonl,
    register_sink,
    sink_types,
)
from tests.incidents.conftest import make_event


def _events():
    opened = make_event(EventKind.OPENED, 10.0)
    updated = make_event(EventKind.UPDATED, 12.5, peak=0.93)
    closed = make_event(EventKind.CLOSED, 20.0)
    return [
        opened,
        replace(updated, attributes=(("citizens_waiting", 3), ("ratio", 0.75), ("source", "队列系统"))),
        replace(closed, staff_id=None,
                evidence=Evidence("evidence/inc-0001/snapshot.jpg", "evidence/inc-0001/clip.mp4")),
    ]


def test_event_dict_round_trip_and_form() -> None:
    for event in _events():
        data = event_to_dict(event)
        assert event_from_dict(json.loads(json.dumps(data))) == event
    data = event_to_dict(_events()[2])
    assert data["kind"] == "closed"
    assert data["started_at"] == "2024-05-06T00:59:50+00:00" and data["ended_at"] == "2024-05-06T01:00:20+00:00"
    assert data["attributes"] == {"citizens_waiting": 1}
    assert data["evidence"] == {"snapshot": "evidence/inc-0001/snapshot.jpg", "clip": "evidence/inc-0001/clip.mp4"}
    assert event_to_dict(_events()[1])["attributes"] == {"citizens_waiting": 3, "ratio": 0.75, "source": "队列系统"}


def test_datetimes_in_another_zone_are_written_as_utc() -> None:
    event = _events()[0]
    shanghai = timezone(timedelta(hours=8))
    local = replace(event, started_at=event.started_at.astimezone(shanghai))
    data = event_to_dict(local)
    assert data["started_at"] == "2024-05-06T00:59:40+00:00"  # 08:59:40+08:00
    assert event_from_dict(data).started_at.utcoffset() == timedelta(0)


def test_event_from_dict_names_what_is_missing_or_wrong() -> None:
    data = event_to_dict(_events()[0])
    with pytest.raises(ValueError, match="'reason'"):
        event_from_dict({k: v for k, v in data.items() if k != "reason"})
    with pytest.raises(ValueError, match="started_at"):
        event_from_dict({**data, "started_at": "2024-05-06T01:00:00"})
    with pytest.raises(ValueError, match="wrong type"):
        event_from_dict({**data, "ts": None})
    with pytest.raises(ValueError, match="JSON object"):
        event_from_dict([])  # type: ignore[arg-type]


def test_jsonl_sink_appends_after_reopen_and_reads_back_in_order(tmp_path) -> None:
    events = _events()
    with JsonlSink(tmp_path / "data") as sink:
        for event in events:
            sink.deliver(event)
    with JsonlSink(tmp_path / "data") as sink:
        sink.deliver(events[0])
    path = tmp_path / "data/incidents.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 4 and all(json.loads(line)["incident_id"] == "inc-0001" for line in lines)
    assert "队列系统" in lines[1]  # UTF-8, not \u escapes: readable with any text tool
    assert list(read_jsonl(path)) == events + [events[0]]


def test_a_line_torn_by_a_crash_is_ended_on_reopen_and_skipped_on_read(tmp_path, caplog) -> None:
    events = _events()
    with JsonlSink(tmp_path) as sink:
        sink.deliver(events[0])
    path = tmp_path / "incidents.jsonl"
    with open(path, "ab") as handle:
        handle.write(b'{"kind": "upda')  # the process died mid-line
    with caplog.at_level(logging.WARNING, logger="counterwatch.incidents"):
        with JsonlSink(tmp_path) as sink:
            sink.deliver(events[1])
    assert "incomplete line" in caplog.text
    with pytest.raises(ValueError, match=":2:"):  # the torn line is now a complete, bad line 2: reported by number
        list(read_jsonl(path))
    lines = path.read_bytes().split(b"\n")
    assert event_from_dict(json.loads(lines[2])) == events[1]
    # A torn last line (no newline yet) is skipped with a warning.
    torn = tmp_path / "torn.jsonl"
    torn.write_bytes(lines[0] + b"\n" + b'{"kind": "clo')
    with caplog.at_level(logging.WARNING, logger="counterwatch.incidents"):
        assert list(read_jsonl(torn)) == [events[0]]
    assert "incomplete last line" in caplog.text


def test_deliver_after_close_is_refused(tmp_path) -> None:
    sink = JsonlSink(tmp_path)
    sink.close()
    sink.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        sink.deliver(_events()[0])
    memory = MemorySink()
    memory.deliver(_events()[0])
    memory.close()
    assert memory.events == [_events()[0]]
    with pytest.raises(RuntimeError, match="closed"):
        memory.deliver(_events()[0])


def test_sinks_are_created_by_type(tmp_path) -> None:
    assert {"jsonl", "memory"} <= set(sink_types())
    sink = create_sink("jsonl", data_dir=tmp_path)
    assert isinstance(sink, JsonlSink) and sink.path == tmp_path / "incidents.jsonl"
    sink.close()
    assert isinstance(create_sink("memory"), MemorySink)
    with pytest.raises(ValueError, match="'nats'"):
        create_sink("nats")
    with pytest.raises(ValueError, match="already registered"):
        @register_sink
        class Other(MemorySink):
            type = "jsonl"
    with pytest.raises(ValueError, match="type"):
        @register_sink
        class Untyped(IncidentSink):
            def deliver(self, event): ...
            def close(self): ...
    with pytest.raises(ValueError, match="data_dir"):
        JsonlSink("")
