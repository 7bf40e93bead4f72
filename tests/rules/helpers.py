"""Compact scripted WindowState streams and a fake clock for rule tests.

A stream is a list of segments, each `seg(duration_s, **fields)`; frames are emitted every 1/fps seconds of stream
time, and wall_time = ORIGIN + ts (a fixed UTC origin), so the rules never see a real clock. A field may be a
callable of the frame number within its segment, e.g. `staff=lambda i: [] if i % 5 == 0 else [phone()]`.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from counterwatch.config.schema import HallConfig
from counterwatch.incidents.events import EventKind, IncidentEvent
from counterwatch.rules.base import Rule
from counterwatch.rules.state import StaffPresence, WindowState
from models.types import Box
from vision.cues import BehaviourCues

# Monday 2 March 2026, 09:00 in Asia/Shanghai: a regular working day, no DST there.
ORIGIN = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
BOX = Box(100.0, 50.0, 300.0, 400.0)
OPENED, UPDATED, CLOSED = EventKind.OPENED, EventKind.UPDATED, EventKind.CLOSED


def person(track: int = 1, **cues) -> StaffPresence:
    return StaffPresence(track, BOX, 0.9, BehaviourCues(**cues))


STAFF = (person(),)


@dataclass(frozen=True)
class Seg:
    duration_s: float
    fields: dict = field(default_factory=dict)


def seg(duration_s: float, **fields) -> Seg:
    return Seg(duration_s, fields)


def at(ts: float, *, window: str = "w1", camera: str = "cam1", origin: datetime = ORIGIN, index: int = 0,
       staff: Iterable[StaffPresence] = (), citizens: int = 0, paused: str | None = None, on_schedule: bool = True,
       sign_visible: bool | None = None, rostered: str | None = "s1", motion: float = 0.0) -> WindowState:
    """One WindowState at stream time `ts`; `paused` names the pause source (None: not paused)."""
    return WindowState(window_id=window, camera_id=camera, frame_index=index, ts=ts,
                       wall_time=origin + timedelta(seconds=ts), staff=tuple(staff), citizens=citizens,
                       sign_visible=sign_visible, paused=paused is not None, pause_source=paused,
                       on_schedule=on_schedule, rostered_staff=rostered, motion=motion)


def stream(*segments: Seg, start: float = 0.0, fps: float = 2.0, **common) -> list[WindowState]:
    """Frames at start, start + 1/fps, ... through the segments in order (each segment's end is exclusive)."""
    states: list[WindowState] = []
    step = 1.0 / fps
    index = 0
    offset = start
    for segment in segments:
        count = round(segment.duration_s * fps)
        for i in range(count):
            values = dict(common)
            for name, value in segment.fields.items():
                values[name] = value(i) if callable(value) else value
            states.append(at(offset + i * step, index=index, **values))
            index += 1
        offset += count * step
    return states


def run(rule_or_engine, states: Iterable[WindowState]) -> list[IncidentEvent]:
    events: list[IncidentEvent] = []
    for state in states:
        events.extend(rule_or_engine.update(state))
    return events


def kinds(events: Iterable[IncidentEvent]) -> list[tuple[str, float]]:
    """(kind, event ts) pairs: the compact shape most assertions compare."""
    return [(e.kind.value, round(e.ts, 3)) for e in events]


def why(event: IncidentEvent) -> tuple[str, dict]:
    """The event's structured reason as (code, parameters)."""
    assert event.reason_detail is not None, event
    return event.reason_detail.code, event.reason_detail.param_dict()


def why_closed(event: IncidentEvent) -> tuple[str, dict]:
    """The closing clause of a closed event's reason as (code, parameters)."""
    closed = event.reason_detail.closed
    assert closed is not None, event
    return closed.code, closed.param_dict()


def without_updates(events: Iterable[IncidentEvent]) -> list[IncidentEvent]:
    return [e for e in events if e.kind is not UPDATED]


def wall(ts: float, origin: datetime = ORIGIN) -> datetime:
    return origin + timedelta(seconds=ts)


def hall_config(**overrides) -> HallConfig:
    """A two-window hall on one camera; `overrides` replace top-level sections (rules=..., calendar=...)."""
    view = {"staff_zone": [[0.1, 0.1], [0.5, 0.1], [0.5, 0.6], [0.1, 0.6]],
            "citizen_side": [[0.0, 0.7], [0.6, 0.7], [0.6, 1.0], [0.0, 1.0]],
            "pause_sign_region": [[0.3, 0.4], [0.5, 0.4], [0.5, 0.6], [0.3, 0.6]]}
    document = {
        "hall": {"id": "h1", "name": "Hall"},
        "windows": [{"id": "w1", "name": "One", "pause_marker_id": 1},
                    {"id": "w2", "name": "Two", "pause_marker_id": 2}],
        "cameras": [{"id": "cam1", "source": "rtsp://127.0.0.1/x",
                     "views": [dict(view, window="w1"), dict(view, window="w2")]}],
        "calendar": {"timezone": "Asia/Shanghai",
                     "schedules": {"standard": {"open": "08:30", "close": "17:30",
                                                "lunch": {"start": "12:00", "end": "14:00"}}}},
        "roster": [{"window": "w1", "staff": "s1"}, {"window": "w2", "staff": "s2"}],
    }
    document.update(overrides)
    return HallConfig.model_validate(document)


def make(rule_cls: type[Rule], window: str = "w1", calendar=None, common=None, **settings) -> Rule:
    """A rule for window `window` of hall h1 with the given settings (others at their defaults)."""
    from counterwatch.config.rules import CommonRuleSettings
    from counterwatch.rules.base import RuleScope

    return rule_cls(RuleScope("h1", window), rule_cls.settings_type(**settings),
                    CommonRuleSettings(**(common or {})), calendar)
