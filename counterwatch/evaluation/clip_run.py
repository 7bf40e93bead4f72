"""The real pipeline over a clip, for `counterwatch eval clip` and `eval clips`.

The clip is read by the camera reader of `counterwatch run` (counterwatch.perception.camera_reader) in fast pace:
every analysis slot of the file is delivered, spaced by stream time exactly as in a live run, and the wall time of
a frame is the start of the run plus its stream time. Each frame goes through counterwatch.runtime.worker.CameraPipeline
without an evidence directory: the perception cascade, WindowStateBuilder and RuleEngine of a hall.

The hall config supplies the geometry (staff zone, citizen side, sign region), the analysis rate, the models and
the rules. The video given on the command line replaces the source of the config's camera, so the config must
have exactly one camera. The calendar must keep every window open for the whole clip (use a schedule open around
the clock, like `always` in configs/demo.yaml): a window the calendar closed at any analysed frame is an error,
since its rules would have been silenced. Without a config, `implicit_config` stands in: one window whose staff
zone is the whole frame and whose citizen side is a thin strip along the bottom edge (a person whose box reaches
the bottom edge counts as a citizen there).

`scale_rule_times` shortens the rules' times (dwell, clear, return, cooldown, ...) by a factor so that short clips
can raise incidents; a scaled time below its field's minimum is raised to that minimum and reported.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import cast

from annotated_types import Ge
from pydantic import ValidationError

from counterwatch.config.loader import parse_config
from counterwatch.config.rules import RulesConfig
from counterwatch.config.schema import Camera, HallConfig
from counterwatch.evaluation.clip import DWELL_BOUND_TYPES, ClipAnnotation, IncidentRecord, WindowScore, score_window
from counterwatch.incidents.events import EventKind, IncidentEvent

# Rule settings that are durations of the behaviour or of the incident's life; frame-gap handling, heartbeats and
# calendar offsets (arrive_before_open_s, grace_s) are not scaled.
SCALED_FIELDS = ("dwell_s", "clear_s", "return_s", "cooldown_s", "citizen_present_s", "citizen_gone_s",
                 "presence_s")
IMPLICIT_CITIZEN_STRIP = 0.02  # height of the implicit config's citizen side, as a fraction of the frame


@dataclass(frozen=True)
class ScaledTime:
    field: str  # "absent_without_pause.dwell_s"
    configured: float
    used: float
    raised_to_minimum: bool  # configured * factor was below the field's minimum


def scale_rule_times(config: HallConfig, factor: float) -> tuple[HallConfig, tuple[ScaledTime, ...]]:
    """A copy of the config whose rule times are multiplied by `factor` (0 < factor <= 1)."""
    if not 0.0 < factor <= 1.0:
        raise ValueError(f"--dwell-scale must be within (0, 1], got {factor}")
    document = config.rules.model_dump()
    scaled = []
    for rule_name in type(config.rules).model_fields:
        settings = getattr(config.rules, rule_name)
        fields = type(settings).model_fields
        for name in SCALED_FIELDS:
            if name not in fields:
                continue
            configured = float(getattr(settings, name))
            minimum = max((cast(float, m.ge) for m in fields[name].metadata if isinstance(m, Ge)), default=None)
            used = round(configured * factor, 6)
            raised = minimum is not None and used < minimum
            if minimum is not None and raised:
                used = float(minimum)
            document[rule_name][name] = used
            scaled.append(ScaledTime(f"{rule_name}.{name}", configured, used, raised))
    try:
        rules = RulesConfig.model_validate(document)
    except ValidationError as exc:
        raise ValueError(f"--dwell-scale {factor}: the scaled rules are invalid: {exc}") from None
    return config.model_copy(update={"rules": rules}), tuple(scaled)


def implicit_config(video: Path) -> HallConfig:
    """One window `w01` over the whole frame, a thin citizen strip along the bottom, open around the clock."""
    whole = [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
    top = 1.0 - IMPLICIT_CITIZEN_STRIP
    document = {
        "hall": {"id": "clip", "name": "clip"},
        "windows": [{"id": "w01", "name": "clip", "schedule": "always", "pause_marker_id": 1}],
        "cameras": [{"id": "clip", "source": video.name, "views": [{
            "window": "w01", "staff_zone": whole, "citizen_side": [[0.0, top], [1.0, top], [1.0, 1.0], [0.0, 1.0]],
            "pause_sign_region": whole}]}],
        "calendar": {"schedules": {"always": {"days": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"],
                                              "open": "00:00", "close": "23:59"}}},
    }
    return parse_config(json.dumps(document), filename="<implicit clip config>", base_dir=video.resolve().parent)


def for_clip(config: HallConfig, video: Path, config_label: str) -> tuple[HallConfig, Camera]:
    """The config with its single camera reading `video` once, as fast as the analysis allows."""
    if len(config.cameras) != 1:
        raise ValueError(f"{config_label}: a clip config needs exactly one camera (the clip replaces its source), "
                         f"it has {len(config.cameras)}")
    camera = config.cameras[0].model_copy(update={"source": str(video.resolve()), "loop": False, "pace": "fast"})
    return config.model_copy(update={"cameras": (camera,)}), camera


@dataclass(frozen=True)
class WindowFrames:
    window_id: str
    frames: tuple[tuple[float, bool], ...]  # (stream ts, WindowState.staff_present) of every analysed frame
    off_schedule: int  # analysed frames at which the calendar had the window closed


@dataclass(frozen=True)
class ClipRun:
    video: str
    frames: int
    frame_size: tuple[int, int] | None  # (width, height) after rotation
    ms_per_frame: float
    windows: tuple[WindowFrames, ...]
    incidents: tuple[IncidentRecord, ...]


def run_clip(config: HallConfig, camera: Camera, models) -> ClipRun:
    """Every analysed frame of the camera's file through CameraPipeline (no evidence); the incidents still open
    at the last frame are closed there. `models`: counterwatch.perception.LoadedModels."""
    from counterwatch.perception import camera_reader, camera_source
    from counterwatch.rules.pause import QueueStatus
    from counterwatch.runtime.worker import CameraPipeline

    source = camera_source(config, camera)
    pipeline = CameraPipeline(config, camera, models, QueueStatus(), evidence_dir=None)
    timelines: dict[str, list[tuple[float, bool]]] = {view.window: [] for view in camera.views}
    off_schedule = dict.fromkeys(timelines, 0)
    events: list[IncidentEvent] = []
    times: list[float] = []
    size = None
    try:
        with camera_reader(config, camera) as reader:
            while True:
                frame = reader.get(timeout=camera.stall_timeout_s)
                if frame is None:
                    if reader.finished:
                        break
                    # A file that cannot be opened is retried forever by the reader: an evaluation stops instead.
                    raise RuntimeError(f"{source}: no frame within {camera.stall_timeout_s:g} s "
                                       f"({reader.health().reason})")
                started = time.perf_counter()
                result = pipeline.step(frame)
                times.append((time.perf_counter() - started) * 1000.0)
                size = (frame.width, frame.height)
                for state in result.states:
                    timelines[state.window_id].append((state.ts, state.staff_present))
                    off_schedule[state.window_id] += not state.on_schedule
                events.extend(result.events)
    finally:
        events.extend(pipeline.close())
    if not times:
        raise RuntimeError(f"{source}: the reader delivered no frame")
    last_ts = max(ts for frames in timelines.values() for ts, _ in frames)
    windows = tuple(WindowFrames(window_id, tuple(frames), off_schedule[window_id])
                    for window_id, frames in timelines.items())
    return ClipRun(Path(str(source)).name, len(times), size, round(sum(times) / len(times), 1), windows,
                   incidents_from_events(events, last_ts))


def incidents_from_events(events: list[IncidentEvent], last_ts: float) -> tuple[IncidentRecord, ...]:
    """One record per incident id, in the order they were opened. End = the closed event's ended_at in stream
    seconds (wall time minus the onset's wall time plus the onset's ts: offline wall times follow stream time)."""
    opened: dict[str, IncidentEvent] = {}
    ends: dict[str, float] = {}
    peaks: dict[str, float] = {}
    for event in events:
        key = event.incident_id
        peaks[key] = max(peaks.get(key, 0.0), event.peak_confidence)
        if event.kind is EventKind.OPENED:
            opened[key] = event
        elif event.kind is EventKind.CLOSED and event.ended_at is not None:
            ends[key] = event.start_ts + (event.ended_at - event.started_at).total_seconds()
    missing = sorted(set(ends) - set(opened))
    if missing:
        raise RuntimeError(f"incidents closed without an opened event: {', '.join(missing)}")
    return tuple(IncidentRecord(key, event.incident_type, event.window_id, round(event.start_ts, 3),
                                round(event.ts, 3), round(ends.get(key, last_ts), 3), round(peaks[key], 3),
                                event.reason)
                 for key, event in opened.items())


@dataclass(frozen=True)
class ClipScore:
    annotation: ClipAnnotation
    config: str  # the config file, or "implicit"
    run: ClipRun
    dwell_scale: float
    rule_times: tuple[ScaledTime, ...]
    rules_enabled: tuple[str, ...]
    tolerance_s: float
    windows: tuple[WindowScore, ...]
    unscored: tuple[tuple[str, int], ...] = ()  # windows the annotation leaves out: (window, incidents raised)

    @property
    def clip(self) -> str:
        return self.annotation.name

    @property
    def duration_s(self) -> float:
        return self.annotation.duration_s


def score_clip(run: ClipRun, annotation: ClipAnnotation, config: HallConfig, *, config_label: str,
               dwell_scale: float, rule_times: tuple[ScaledTime, ...], tolerance_s: float) -> ClipScore:
    """Score a run against its annotation; ValueError when the calendar closed a window during the clip, the
    video's length does not fit the annotated duration, or the annotation names a window the config lacks."""
    for window in run.windows:
        if window.off_schedule:
            raise ValueError(
                f"{config_label}: the calendar closed window {window.window_id} at {window.off_schedule} of "
                f"{len(window.frames)} analysed frames of {run.video}, which silences its rules; give the window a "
                "schedule open around the clock (see `always` in configs/demo.yaml)")
    last_ts = max((ts for window in run.windows for ts, _ in window.frames[-1:]), default=0.0)
    slack = 1.0 + 1.0 / config.cameras[0].analysis_fps
    if not annotation.duration_s - slack <= last_ts <= annotation.duration_s + 1.0:
        raise ValueError(f"{annotation.source}: {annotation.name}.duration_s is {annotation.duration_s:g} s but the "
                         f"last analysed frame of {run.video} is at {last_ts:g} s: is it the annotated video?")
    truths = annotation.truths_for([w.window_id for w in run.windows])
    min_durations = {name: float(getattr(config.rules, name).dwell_s) for name in DWELL_BOUND_TYPES}
    scores, unscored = [], []
    for window in run.windows:
        incidents = [i for i in run.incidents if i.window_id == window.window_id]
        if window.window_id not in truths:
            unscored.append((window.window_id, len(incidents)))
            continue
        scores.append(score_window(window.window_id, truths[window.window_id], window.frames, incidents,
                                   min_durations, duration_s=annotation.duration_s, tolerance_s=tolerance_s))
    enabled = tuple(name for name in type(config.rules).model_fields
                    if getattr(getattr(config.rules, name), "enabled", False))
    return ClipScore(annotation, config_label, run, dwell_scale, rule_times, enabled, tolerance_s, tuple(scores),
                     tuple(unscored))


def evaluate_video(video: Path, annotation: ClipAnnotation, config: HallConfig | None, *, config_label: str,
                   dwell_scale: float = 1.0, tolerance_s: float = 1.0, models=None) -> ClipScore:
    """Run and score one clip. `config` None: implicit_config. `models`: LoadedModels to reuse, or None to load
    (and close) the config's. Raises ValueError (config, annotation) or RuntimeError (video, models)."""
    from counterwatch.perception import load_models
    from models import ModelError

    base = config if config is not None else implicit_config(video)
    scaled, rule_times = scale_rule_times(base, dwell_scale)
    clip_config, camera = for_clip(scaled, video, config_label)
    annotation.truths_for([view.window for view in camera.views])  # an unknown window fails before the run
    if models is not None:
        run = run_clip(clip_config, camera, models)
    else:
        try:
            loaded = load_models(clip_config)
        except ModelError as exc:
            raise RuntimeError(str(exc)) from None
        with loaded:
            run = run_clip(clip_config, camera, loaded)
    return score_clip(run, annotation, clip_config, config_label=config_label, dwell_scale=dwell_scale,
                      rule_times=rule_times, tolerance_s=tolerance_s)
