"""What `counterwatch bench pipeline` measures: windows per CPU core at the analysis rate with all rules on, vs
naive."""
from __future__ import annotations

import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np


def _script(seconds_per_phase: float):
    """(present at w01, sign at w01) per phase: present, absent without sign (an incident), present, absent + sign."""
    return [((True, False), seconds_per_phase), ((False, False), seconds_per_phase * 2),
            ((True, False), seconds_per_phase), ((False, True), seconds_per_phase)]


def _measure(config, frames, models, *, naive: bool, fps: float):
    from cameras.frame import Frame
    from counterwatch.rules.pause import QueueStatus
    from counterwatch.runtime.worker import CameraPipeline

    camera = config.cameras[0]
    pipeline = CameraPipeline(config, camera, models, QueueStatus(), evidence_dir=None, naive=naive)
    origin = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Asia/Shanghai
    samples: list[float] = []
    events: list[tuple] = []
    presence: list[tuple] = []
    for index, image in enumerate(frames):
        ts = index / fps
        frame = Frame(camera.id, index, ts, origin + timedelta(seconds=ts), image)
        start = time.perf_counter()
        result = pipeline.step(frame)
        samples.append((time.perf_counter() - start) * 1000.0)
        presence.extend((round(ts, 1), state.window_id, state.staff_present) for state in result.states)
        events.extend((e.kind.value, e.incident_type, e.window_id, round(e.start_ts, 1), round(e.ts, 1))
                      for e in result.events)
    events.extend((e.kind.value, e.incident_type, e.window_id, round(e.start_ts, 1), round(e.ts, 1))
                  for e in pipeline.close())
    return samples, events, presence


_CLIP_HALL = """
version: 1
hall: {id: clip, name: clip}
windows: [{id: w01, name: clip window, pause_marker_id: 1, schedule: always}]
cameras:
  - id: clip
    source: clip.mp4
    views:
      - window: w01
        staff_zone: [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
        # the dev clips show no counter: a token citizen side in a corner where no foot point can be
        citizen_side: [[0.95, 0.0], [1.0, 0.0], [1.0, 0.02], [0.95, 0.02]]
        pause_sign_region: [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1]]
calendar:
  schedules: {always: {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}}
rules:
  absent_without_pause: {dwell_s: 5, return_s: 1}
"""


def _clip_frames(path: str, fps: float) -> list[np.ndarray]:
    """Every frame of a clip at `fps` of stream time, rotation metadata applied (the camera reader in fast mode)."""
    from cameras import CameraReader, open_source

    frames: list[np.ndarray] = []
    reader = CameraReader("clip", lambda: open_source(path, loop=False, pace="fast", open_timeout_s=5,
                                                      read_timeout_s=5),
                          analysis_fps=fps, stall_timeout_s=10, backoff_initial_s=0.5, backoff_max_s=1)
    with reader:
        while not reader.finished or frames == []:
            frame = reader.get(timeout=1.0)
            if frame is not None:
                frames.append(np.array(frame.image))
            elif reader.finished:
                break
    return frames


def compare_on_clips(clips: tuple[str, ...], models) -> list[dict]:
    """Cost-controlled vs naive on real clips: the same presence timeline and incidents, and the cost of each."""
    from counterwatch.config import parse_config

    config = parse_config(_CLIP_HALL)
    rows = []
    for path in clips:
        frames = _clip_frames(path, 2.0)
        lean_ms, lean_events, lean_presence = _measure(config, frames, models, naive=False, fps=2.0)
        naive_ms, naive_events, naive_presence = _measure(config, frames, models, naive=True, fps=2.0)
        rows.append({"clip": os.path.basename(path), "frames": len(frames),
                     "same_presence": lean_presence == naive_presence, "same_incidents": lean_events == naive_events,
                     "presence_differs_at_s": [a[0] for a, b in zip(lean_presence, naive_presence, strict=False)
                                               if a != b],
                     "mean_frame_ms": {"cost_controlled": round(statistics.fmean(lean_ms), 1),
                                       "naive": round(statistics.fmean(naive_ms), 1)}})
    return rows


def measure_pipeline(config_path: str, windows: int, phase_s: float, naive_only: bool,
                     clips: tuple[str, ...]) -> dict[str, Any]:
    """Cost per window per analysed frame (cascade + states + all rules), windows per core, vs naive, delays: the
    report `counterwatch bench pipeline` prints. Pins this process to one CPU."""
    from counterwatch.config import load_config
    from counterwatch.demo_scene import SceneRenderer
    from counterwatch.perception import load_models
    from counterwatch.sign import sign_images

    # "Per core" means one core: pin the process (and every native thread pool it starts) to a single CPU.
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    config = load_config(config_path)
    camera = config.cameras[0]
    fps = camera.analysis_fps
    dwell = config.rules.absent_without_pause.dwell_s
    renderer, rng = SceneRenderer(sign_images(config)), np.random.default_rng(0)
    frames: list[np.ndarray] = []
    for (present, sign), seconds in _script(max(phase_s, dwell + 5)):
        for _ in range(int(seconds * fps)):
            frames.append(renderer.frame(frozenset({"w01", "w02"} if present else {"w02"}),
                                         frozenset({"w01"} if sign else ()), rng))
    modes = ("naive",) if naive_only else ("cost_controlled", "naive")
    report: dict = {"cpus_used": len(os.sched_getaffinity(0)), "analysis_fps": fps,
                    "windows_per_camera": len(camera.views), "frames": len(frames), "modes": {}}
    results = {}
    with load_models(config) as models:
        for mode in modes:
            samples, events, _ = _measure(config, frames, models, naive=(mode == "naive"), fps=fps)
            per_window_ms = statistics.median(samples) / len(camera.views)
            mean_per_window_ms = statistics.fmean(samples) / len(camera.views)
            budget_ms = 1000.0 / fps
            results[mode] = events
            opened = [e for e in events if e[0] == "opened" and e[1] == "absent_without_pause"]
            delays = [round(e[4] - (e[3] + dwell), 2) for e in opened]
            report["modes"][mode] = {
                "median_frame_ms": round(statistics.median(samples), 1),
                "mean_ms_per_window": round(mean_per_window_ms, 1),
                "median_ms_per_window": round(per_window_ms, 1),
                "windows_per_core": round(budget_ms / mean_per_window_ms, 1),
                "sustains_requested_windows": budget_ms / mean_per_window_ms >= windows,
                "absence_incidents": len(opened),
                "stream_delay_after_dwell_s": delays,
                "processing_delay_ms_p50": round(statistics.median(samples), 1),
            }
        if clips:
            report["clips"] = compare_on_clips(clips, models)
    if len(modes) == 2:
        c, n = report["modes"]["cost_controlled"], report["modes"]["naive"]
        report["speedup_vs_naive"] = round(n["mean_ms_per_window"] / c["mean_ms_per_window"], 2)
        report["same_incidents"] = results["cost_controlled"] == results["naive"]
        report["incidents"] = {"cost_controlled": results["cost_controlled"], "naive": results["naive"]}
    return report
