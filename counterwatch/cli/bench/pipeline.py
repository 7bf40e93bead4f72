"""What `counterwatch bench pipeline` measures: the cost of one window per analysed frame with every rule and the
behaviour heads on, cost-controlled vs naive, on three workloads that share one loaded model set:

- the busy scene: real clips tiled into one frame, one busy window per tile (counterwatch/cli/bench/busy_scene.py);
- each real clip with the whole frame as one window;
- the demo scene of the hall config (`--config`), scripted to raise absence incidents.

Per workload and mode: ms per window per analysed frame (median and mean), windows per core at the analysis rate
(the frame interval over the mean), the share of step time per model (the pipeline's own timings) and "other"
(tracking, presence, states, rules); per workload, whether both modes gave the same incidents and presence, and how
far the behaviour signals the rules read (the cues and the heads' decisions of the staff, per window-frame) agree:
the naive mode measures every cue on every frame, the cost-controlled one carries a look's cues to the frames
between looks. The process pins itself to one CPU: "per core" is one core.
"""
from __future__ import annotations

import os
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from counterwatch.cli.bench.busy_scene import ANALYSIS_FPS, busy_scene, clip_frames, clip_hall

MODES = ("cost_controlled", "naive")
MAX_LISTED_DIFFERENCES = 20  # presence differences listed per workload (all are counted)
ORIGIN = datetime(2026, 11, 23, 2, 0, tzinfo=UTC)  # a Monday, 10:00 in Asia/Shanghai


def _script(seconds_per_phase: float):
    """(present at w01, sign at w01) per phase: present, absent without sign (an incident), present, absent + sign."""
    return [((True, False), seconds_per_phase), ((False, False), seconds_per_phase * 2),
            ((True, False), seconds_per_phase), ((False, True), seconds_per_phase)]


@dataclass
class Run:
    """One mode over one workload's frames."""

    step_ms: list[float] = field(default_factory=list)  # CameraPipeline.step, per frame
    model_ms: dict[str, float] = field(default_factory=dict)  # the step's own timings, summed by model
    events: list[tuple] = field(default_factory=list)  # (kind, type, window, start, ts)
    presence: list[tuple] = field(default_factory=list)  # (ts, window, staff present)
    signals: dict[tuple, frozenset[str]] = field(default_factory=dict)  # (ts, window) -> behaviour signals fired


def _signals(state, phone_min_score: float) -> frozenset[str]:
    """The behaviour signals of a window state's staff: each cue that fired, and "head:<behaviour>" for each head
    that reached its threshold."""
    fired: set[str] = set()
    for person in state.staff:
        cues = person.cues
        flags = {"phone": cues.phone >= phone_min_score, "call": cues.call, "hand_to_mouth": cues.hand_to_mouth,
                 "food_near": cues.food_near, "drink_near": cues.drink_near, "head_down": cues.head_down}
        fired.update(name for name, on in flags.items() if on)
        fired.update(f"head:{name}" for name, prob, threshold in cues.head if prob >= threshold)
    return frozenset(fired)


def _event_key(event) -> tuple:
    return event.kind.value, event.incident_type, event.window_id, round(event.start_ts, 1), round(event.ts, 1)


def _measure(config, frames, models, *, naive: bool, fps: float) -> Run:
    from cameras.frame import Frame
    from counterwatch.rules.pause import QueueStatus
    from counterwatch.runtime.worker import CameraPipeline

    camera = config.cameras[0]
    pipeline = CameraPipeline(config, camera, models, QueueStatus(), evidence_dir=None, naive=naive)
    run = Run()
    for index, image in enumerate(frames):
        ts = index / fps
        frame = Frame(camera.id, index, ts, ORIGIN + timedelta(seconds=ts), image)
        start = time.perf_counter()
        result = pipeline.step(frame)
        run.step_ms.append((time.perf_counter() - start) * 1000.0)
        for model, ms in result.timings_ms:
            run.model_ms[model] = run.model_ms.get(model, 0.0) + ms
        run.presence.extend((round(ts, 1), state.window_id, state.staff_present) for state in result.states)
        run.signals.update({(round(ts, 1), state.window_id): _signals(state, config.rules.phone_use.min_score)
                            for state in result.states})
        run.events.extend(_event_key(e) for e in result.events)
    run.events.extend(_event_key(e) for e in pipeline.close())
    return run


def _mode_figures(run: Run, windows: int, fps: float, requested_windows: int) -> dict[str, Any]:
    budget_ms = 1000.0 / fps
    mean_ms = statistics.fmean(run.step_ms) / windows
    total = sum(run.step_ms)
    shares = {model: round(ms / total, 3) for model, ms in sorted(run.model_ms.items(), key=lambda m: -m[1])}
    shares["other"] = round(max(0.0, total - sum(run.model_ms.values())) / total, 3)
    present = [p[2] for p in run.presence]
    return {"frames": len(run.step_ms), "windows": windows,
            "median_ms_per_window": round(statistics.median(run.step_ms) / windows, 1),
            "mean_ms_per_window": round(mean_ms, 1),
            "windows_per_core": round(budget_ms / mean_ms, 1),
            "sustains_requested_windows": budget_ms / mean_ms >= requested_windows,
            "median_frame_ms": round(statistics.median(run.step_ms), 1),
            "share_of_time": shares,
            "staff_present_share": round(sum(present) / len(present), 3) if present else 0.0,
            "incidents_opened": sum(1 for e in run.events if e[0] == "opened")}


def _multiset_minus(a: list[tuple], b: list[tuple]) -> list[tuple]:
    left = Counter(b)
    out = []
    for item in a:
        if left[item] > 0:
            left[item] -= 1
        else:
            out.append(item)
    return out


def _signal_agreement(lean: Run, naive: Run) -> dict[str, Any]:
    """Per behaviour signal: the window-frames it fired in naive, cost-controlled and both; and the share of
    window-frames whose signals are the same in both modes."""
    keys = sorted(set(lean.signals) | set(naive.signals))
    names = sorted(set().union(*lean.signals.values(), *naive.signals.values()))
    empty: frozenset[str] = frozenset()
    per_signal = {name: {"naive": sum(name in naive.signals.get(k, empty) for k in keys),
                         "cost_controlled": sum(name in lean.signals.get(k, empty) for k in keys),
                         "both": sum(name in naive.signals.get(k, empty) and name in lean.signals.get(k, empty)
                                     for k in keys)}
                  for name in names}
    same = sum(lean.signals.get(k, empty) == naive.signals.get(k, empty) for k in keys)
    return {"window_frames": len(keys), "same_share": round(same / len(keys), 3) if keys else 1.0,
            "per_signal": per_signal}


def _comparison(lean: Run, naive: Run) -> dict[str, Any]:
    """Whether both modes gave the same incidents and presence timeline, and where they did not; how far their
    behaviour signals agree."""
    same_incidents, same_presence = lean.events == naive.events, lean.presence == naive.presence
    out: dict[str, Any] = {"same_incidents": same_incidents, "same_presence": same_presence,
                           "signals": _signal_agreement(lean, naive)}
    if not same_incidents:
        out["incidents_only_cost_controlled"] = _multiset_minus(lean.events, naive.events)
        out["incidents_only_naive"] = _multiset_minus(naive.events, lean.events)
        if not out["incidents_only_cost_controlled"] and not out["incidents_only_naive"]:
            out["incidents_in_another_order"] = True
    if not same_presence:
        naive_at = {(ts, window): present for ts, window, present in naive.presence}
        differs = [{"ts": ts, "window": window, "cost_controlled": present, "naive": naive_at.get((ts, window))}
                   for ts, window, present in lean.presence if naive_at.get((ts, window)) != present]
        lean_keys = {(ts, window) for ts, window, _ in lean.presence}
        differs += [{"ts": ts, "window": window, "cost_controlled": None, "naive": present}
                    for ts, window, present in naive.presence if (ts, window) not in lean_keys]
        out["presence_differences"] = len(differs)
        out["presence_differs"] = differs[:MAX_LISTED_DIFFERENCES]
        out["presence_differs_at_s"] = sorted({d["ts"] for d in differs})
    return out


def _workload(description: dict[str, Any], config, frames, models, modes: tuple[str, ...], fps: float,
              requested_windows: int) -> tuple[dict[str, Any], dict[str, Run]]:
    windows = len(config.cameras[0].views)
    runs = {mode: _measure(config, frames, models, naive=(mode == "naive"), fps=fps) for mode in modes}
    entry: dict[str, Any] = {**description, "frames": len(frames), "windows": windows, "analysis_fps": fps,
                             "frame_size": [int(frames[0].shape[1]), int(frames[0].shape[0])],
                             "modes": {mode: _mode_figures(run, windows, fps, requested_windows)
                                       for mode, run in runs.items()}}
    if len(runs) == 2:
        lean, naive = entry["modes"]["cost_controlled"], entry["modes"]["naive"]
        entry["speedup_vs_naive"] = round(naive["mean_ms_per_window"] / lean["mean_ms_per_window"], 2)
        entry.update(_comparison(runs["cost_controlled"], runs["naive"]))
    entry["incidents"] = {mode: run.events for mode, run in runs.items()}
    return entry, runs


def _demo_frames(config, phase_s: float) -> list[np.ndarray]:
    from counterwatch.demo_scene import SceneRenderer
    from counterwatch.sign import sign_images

    fps = config.cameras[0].analysis_fps
    renderer, rng = SceneRenderer(sign_images(config)), np.random.default_rng(0)
    frames: list[np.ndarray] = []
    for (present, sign), seconds in _script(max(phase_s, config.rules.absent_without_pause.dwell_s + 5)):
        for _ in range(int(seconds * fps)):
            frames.append(renderer.frame(frozenset({"w01", "w02"} if present else {"w02"}),
                                         frozenset({"w01"} if sign else ()), rng))
    return frames


def _demo_figures(entry: dict[str, Any], runs: dict[str, Run], dwell: float) -> None:
    """The demo scene's own figures: absence incidents at w01 and their delay after the dwell."""
    for mode, run in runs.items():
        opened = [e for e in run.events if e[0] == "opened" and e[1] == "absent_without_pause"]
        entry["modes"][mode].update({"absence_incidents": len(opened),
                                     "stream_delay_after_dwell_s": [round(e[4] - (e[3] + dwell), 2) for e in opened],
                                     "processing_delay_ms_p50": round(statistics.median(run.step_ms), 1)})


def measure_pipeline(config_path: str, windows: int, phase_s: float, naive_only: bool, clips: tuple[str, ...],
                     *, busy_s: float = 60.0, demo: bool = True, busy: bool = True) -> dict[str, Any]:
    """The report `counterwatch bench pipeline` prints: its workloads in the order busy scene (needs clips), each
    clip, demo scene. Pins this process to one CPU."""
    from counterwatch.config import load_config
    from counterwatch.perception import load_models

    # "Per core" means one core: pin the process (and every native thread pool it starts) to a single CPU.
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    config = load_config(config_path)
    modes = ("naive",) if naive_only else MODES
    report: dict[str, Any] = {"cpus_used": len(os.sched_getaffinity(0)), "analysis_fps": ANALYSIS_FPS,
                              "requested_windows": windows, "modes": list(modes), "workloads": [], "notes": []}
    decoded = {path: clip_frames(path, ANALYSIS_FPS) for path in dict.fromkeys(clips)}
    workloads: list[tuple[dict[str, Any], Any, list[np.ndarray], float]] = []  # description, hall, frames, fps
    if busy and decoded:
        scene = busy_scene(decoded, busy_s, config)
        columns, rows = scene.grid
        names = ", ".join(os.path.basename(path) for path in decoded)
        workloads.append(({"workload": "busy_scene", "name": f"busy scene ({columns}x{rows} tiles of {names})",
                           "busy_s": busy_s, "grid": [columns, rows], "tiles": scene.tiles},
                          scene.config, scene.frames, ANALYSIS_FPS))
    elif busy:
        report["notes"].append("no --clip given: no busy scene (it tiles the clips given with --clip)")
    if decoded:
        single = clip_hall(config)
        workloads += [({"workload": "clip", "name": os.path.basename(path), "clip": os.path.basename(path)},
                       single, frames, ANALYSIS_FPS) for path, frames in decoded.items()]
    if demo:
        workloads.append(({"workload": "demo_scene", "name": f"demo scene ({config_path})"}, config,
                          _demo_frames(config, phase_s), config.cameras[0].analysis_fps))
    with load_models(config) as models:
        if workloads:
            _warm_up(*workloads[0][1:], models)
        for description, hall, frames, fps in workloads:
            entry, runs = _workload(description, hall, frames, models, modes, fps, windows)
            if description["workload"] == "demo_scene":
                _demo_figures(entry, runs, hall.rules.absent_without_pause.dwell_s)
            report["workloads"].append(entry)
    return report


def _warm_up(config, frames: list[np.ndarray], fps: float, models) -> None:
    """Two untimed naive steps first: every model's first call (allocations, caches) stays out of the figures."""
    _measure(config, frames[:2], models, naive=True, fps=fps)
