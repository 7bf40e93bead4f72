"""One camera's pipeline: frames -> observations -> window states -> rules -> incident events with evidence.

A worker process runs the pipelines of a group of cameras (see counterwatch/runtime/runner.py); everything here is
single-threaded per camera and deterministic given the frames.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from cameras.frame import Frame
from counterwatch.config.schema import Camera, HallConfig
from counterwatch.incidents.events import IncidentEvent
from counterwatch.learning.sampling import FrameSampler, SampledFrame
from counterwatch.perception import LoadedModels, build_cascade, regions_for
from counterwatch.rules.engine import RuleEngine
from counterwatch.rules.pause import PausePeriod, QueueStatus
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.state import WindowState
from counterwatch.rules.window_state import WindowStateBuilder
from counterwatch.runtime.messages import WindowStatus

log = logging.getLogger("counterwatch.runtime.worker")


STATUS_HEARTBEAT_S = 10.0  # a window's status is re-sent at least this often (stream seconds) while it holds


def evidence_onset_lag_s(config: HallConfig) -> float:
    """How long after its onset an incident of this hall can be alerted: the longest dwell of its enabled rules.

    Evidence buffers reach back this far (plus the clip's pre-roll), so that a clip shows the behaviour begin.
    """
    rules = config.rules
    return max((float(rule.dwell_s) for name in type(rules).model_fields
                if (rule := getattr(rules, name)) is not None and getattr(rule, "enabled", False)
                and hasattr(rule, "dwell_s")), default=0.0)


@dataclass(frozen=True)
class StepResult:
    states: tuple[WindowState, ...]
    events: tuple[IncidentEvent, ...]
    pause_periods: tuple[PausePeriod, ...]
    statuses: tuple[WindowStatus, ...] = ()  # windows whose status changed (or is due for a heartbeat)
    timings_ms: tuple[tuple[str, float], ...] = ()  # (model, ms) of this frame's perception and behaviour heads
    shadow_events: int = 0  # events of the shadow rule engine this frame (logged under DATA_DIR/shadow, never here)
    samples: tuple[SampledFrame, ...] = ()  # frames stored for the labelling queue this frame (learning.sampling)


class CameraPipeline:
    def __init__(self, config: HallConfig, camera: Camera, models: LoadedModels, queue: QueueStatus, *,
                 evidence_dir: Path | None, face_detector=None, naive: bool = False):
        self.camera = camera
        regions = regions_for(config, camera)
        calendar = HallCalendar(config)
        self._cascade = build_cascade(config, camera, models, naive=naive)
        self._heads = None
        if config.models.heads_for_any(region.window_id for region in regions) or config.models.shadow_heads:
            from counterwatch.learning.runtime import HeadScorer

            self._heads = HeadScorer.from_config(config, [region.window_id for region in regions])
        self._states = WindowStateBuilder(config, camera, regions, calendar, queue, heads=self._heads)
        self._rules = RuleEngine(config, calendar)
        # Shadow: the same rules over states carrying the candidate heads' results. Its events never leave this
        # object except as lines of DATA_DIR/shadow/<behaviour>.jsonl (no incident, no alert).
        self._shadow_rules = RuleEngine(config, calendar) if self._heads is not None and self._heads.has_shadow \
            else None
        self._shadow_dir = Path(evidence_dir) / "shadow" if evidence_dir is not None else None
        self._evidence = None
        if evidence_dir is not None:
            from counterwatch.incidents.evidence import EvidenceRecorder

            self._evidence = EvidenceRecorder(
                evidence_dir, {camera.id: regions}, face_detector, onset_lag_s=evidence_onset_lag_s(config),
                window_names={window.id: window.name for window in config.windows},
                tz=ZoneInfo(config.calendar.timezone))
        # The labelling queue's frames: masked like evidence, so only with a data dir and a face detector.
        self._sampler: FrameSampler | None = None
        if config.learning.sample_frames_per_hour > 0 and evidence_dir is not None:
            if face_detector is None:
                log.warning("camera %s: learning.sample_frames_per_hour is set but there is no face detector to "
                            "mask samples with: no frames are sampled", camera.id)
            else:
                self._sampler = FrameSampler(config, camera.id, regions, face_detector, evidence_dir)
        # Samples stored by close() (the pending candidates of unfinished intervals); the caller sends them on.
        self.closed_samples: tuple[SampledFrame, ...] = ()
        self._next_head_reload: float | None = None  # wall-clock seconds; heads follow promotions / rollbacks
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

    def _reload_heads(self, frame: Frame) -> None:
        """Every RELOAD_INTERVAL_S of stream wall time: let heads configured as 'active' follow the registry."""
        now = frame.wall_time.timestamp()
        if self._next_head_reload is not None and self._next_head_reload > now:
            return  # the per-frame path: one comparison
        from counterwatch.learning.runtime import RELOAD_INTERVAL_S, RegistryError

        self._next_head_reload = now + RELOAD_INTERVAL_S
        assert self._heads is not None  # step() reloads only when there are heads
        try:
            changes = self._heads.reload_if_changed()
        except (RegistryError, OSError, ValueError) as error:
            log.error("camera %s: behaviour heads not reloaded, the ones in use stay: %s", self.camera.id, error)
            return
        for change in changes:
            log.info("camera %s: behaviour head %s", self.camera.id, change)

    def step(self, frame: Frame) -> StepResult:
        if self._heads is not None:
            self._reload_heads(frame)
        observation = self._cascade.observe(frame)
        states = self._states.build(observation, frame.image)
        events: list[IncidentEvent] = []
        for state in states:
            events.extend(self._rules.update(state))
        shadow = 0
        if self._shadow_rules is not None:
            shadow = self._log_shadow([e for state in self._states.shadow_states
                                       for e in self._shadow_rules.update(state)])
        if self._evidence is not None:
            # add_frame may finish a clip and return an `updated` event carrying it
            written = list(self._evidence.add_frame(frame, observation))
            written.extend(out for event in events for out in self._evidence.on_event(event))
            events = written
        samples = self._sampler.offer(frame, states, observation) if self._sampler is not None else ()
        self._last_frame = frame
        return StepResult(states, tuple(events), self._states.take_pause_periods(), self._changed_statuses(states),
                          observation.timings_ms + self._states.take_timings(), shadow, samples)

    def _log_shadow(self, events: list[IncidentEvent]) -> int:
        """Keeps the shadow engine's events of the behaviours with a shadow head; appends them to
        DATA_DIR/shadow/<behaviour>.jsonl when a data dir is configured. Returns how many there were."""
        import json
        import os

        from counterwatch.incidents.sink import event_to_dict
        from counterwatch.private_files import open_private, private_dir

        assert self._heads is not None  # a shadow rule engine exists only with heads
        behaviours = self._heads.shadow_behaviours
        versions = self._heads.shadow_versions()
        kept = [event for event in events if event.incident_type in behaviours]
        if kept and self._shadow_dir is not None:
            private_dir(self._shadow_dir)
            for event in kept:
                line = json.dumps({**event_to_dict(event), "shadow_version": versions[event.incident_type]},
                                  ensure_ascii=False)
                descriptor = open_private(self._shadow_dir / f"{event.incident_type}.jsonl", os.O_WRONLY | os.O_APPEND)
                with os.fdopen(descriptor, "a", encoding="utf-8") as handle:
                    handle.write(line + "\n")
        return len(kept)

    def close(self) -> tuple[IncidentEvent, ...]:
        """Close open incidents at the last frame's time and write pending evidence. Pending samples are stored
        too; they are left in `closed_samples` (the return value stays the events)."""
        if self._heads is not None:
            self._heads.close()
        if self._sampler is not None:
            self.closed_samples = self._sampler.close()
        if self._last_frame is None:
            return ()
        events = list(self._rules.close_all(self._last_frame.ts, self._last_frame.wall_time))
        if self._shadow_rules is not None:
            self._log_shadow(list(self._shadow_rules.close_all(self._last_frame.ts, self._last_frame.wall_time)))
        if self._evidence is not None:
            events = [written for event in events for written in self._evidence.on_event(event)]
            events.extend(self._evidence.close())
        return tuple(events)
