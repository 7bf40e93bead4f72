"""One camera's pipeline: frames -> observations -> window states -> rules -> incident events with evidence.

A worker process runs the pipelines of a group of cameras (see counterwatch/runner.py); everything here is
single-threaded per camera and deterministic given the frames.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from cameras.frame import Frame
from counterwatch.config.schema import Camera, HallConfig
from counterwatch.incidents.events import IncidentEvent
from counterwatch.pipeline import LoadedModels, build_cascade, regions_for
from counterwatch.rules.engine import RuleEngine
from counterwatch.rules.pause import PausePeriod, QueueStatus
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.state import WindowState
from counterwatch.rules.window_state import WindowStateBuilder
from counterwatch.runner import WindowStatus

log = logging.getLogger("counterwatch.worker")


STATUS_HEARTBEAT_S = 10.0  # a window's status is re-sent at least this often (stream seconds) while it holds


@dataclass(frozen=True)
class StepResult:
    states: tuple[WindowState, ...]
    events: tuple[IncidentEvent, ...]
    pause_periods: tuple[PausePeriod, ...]
    statuses: tuple[WindowStatus, ...] = ()  # windows whose status changed (or is due for a heartbeat)
    timings_ms: tuple[tuple[str, float], ...] = ()  # (model, ms) of this frame's perception


class CameraPipeline:
    def __init__(self, config: HallConfig, camera: Camera, models: LoadedModels, queue: QueueStatus, *,
                 evidence_dir: Path | None, face_detector=None, naive: bool = False):
        self.camera = camera
        regions = regions_for(config, camera)
        calendar = HallCalendar(config)
        self._cascade = build_cascade(config, camera, models, naive=naive)
        self._states = WindowStateBuilder(config, camera, regions, calendar, queue)
        self._rules = RuleEngine(config, calendar)
        self._evidence = None
        if evidence_dir is not None:
            from counterwatch.incidents.evidence import EvidenceRecorder

            self._evidence = EvidenceRecorder(evidence_dir, {camera.id: regions}, face_detector)
        self._last_frame: Frame | None = None
        self._sent: dict[str, tuple[tuple[bool, bool, str | None], float]] = {}  # window -> (status, ts sent)

    def _changed_statuses(self, states: tuple[WindowState, ...]) -> tuple[WindowStatus, ...]:
        changed = []
        for state in states:
            key = (state.staff_present, state.paused, state.pause_source)
            sent = self._sent.get(state.window_id)
            if sent is None or sent[0] != key or state.ts - sent[1] >= STATUS_HEARTBEAT_S or state.ts < sent[1]:
                self._sent[state.window_id] = (key, state.ts)
                changed.append(WindowStatus(state.window_id, state.camera_id, state.staff_present, state.paused,
                                            state.pause_source, state.ts, state.wall_time))
        return tuple(changed)

    def step(self, frame: Frame) -> StepResult:
        observation = self._cascade.observe(frame)
        states = self._states.build(observation)
        events: list[IncidentEvent] = []
        for state in states:
            events.extend(self._rules.update(state))
        if self._evidence is not None:
            # add_frame may finish a clip and return an `updated` event carrying it
            written = list(self._evidence.add_frame(frame, observation))
            written.extend(out for event in events for out in self._evidence.on_event(event))
            events = written
        self._last_frame = frame
        return StepResult(states, tuple(events), self._states.take_pause_periods(), self._changed_statuses(states),
                          observation.timings_ms)

    def close(self) -> tuple[IncidentEvent, ...]:
        """Close open incidents at the last frame's time and write pending evidence."""
        if self._last_frame is None:
            return ()
        events = list(self._rules.close_all(self._last_frame.ts, self._last_frame.wall_time))
        if self._evidence is not None:
            events = [written for event in events for written in self._evidence.on_event(event)]
            events.extend(self._evidence.close())
        return tuple(events)
