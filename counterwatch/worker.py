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

log = logging.getLogger("counterwatch.worker")


@dataclass(frozen=True)
class StepResult:
    states: tuple[WindowState, ...]
    events: tuple[IncidentEvent, ...]
    pause_periods: tuple[PausePeriod, ...]


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
        return StepResult(states, tuple(events), self._states.take_pause_periods())

    def close(self) -> tuple[IncidentEvent, ...]:
        """Close open incidents at the last frame's time and write pending evidence."""
        if self._last_frame is None:
            return ()
        events = list(self._rules.close_all(self._last_frame.ts, self._last_frame.wall_time))
        if self._evidence is not None:
            events = [written for event in events for written in self._evidence.on_event(event)]
            events.extend(self._evidence.close())
        return tuple(events)
