"""What `counterwatch bench soak` measures: the memory of the real service over time.

`counterwatch run` is started as a subprocess on a generated hall config (one camera looping a real clip in real
time at the analysis rate, one window over the whole frame, storage and heads registry in a temporary directory,
the API on a free port). From the moment every camera reports online, the resident set size (RSS, and USS where the
platform gives it) of the run process and of each of its descendants (the camera worker, multiprocessing's resource
tracker) is sampled every `sample_s` seconds. Then the service is stopped with SIGTERM, as an operator would, and
each process gets: RSS at start, after the warm-up, at the end, the maximum, the least-squares slope after the
warm-up (MB/h) and over the first five minutes (MB/min), and a verdict against the target: flat within 1 MB/h after
the warm-up. MB here are MiB (2^20 bytes).
"""
from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import psutil

TARGET_MB_PER_H = 1.0
FIRST_WINDOW_S = 300.0  # the early slope (MB/min) is fitted over the first five minutes
STARTUP_TIMEOUT_S = 300.0  # launch to every camera online: the worker loads every model first
STOP_TIMEOUT_S = 60.0  # SIGTERM to exit: the workers flush and close their open incidents
STDERR_TAIL_LINES = 40
MB = float(2**20)


class SoakError(Exception):
    """The service could not be measured: it exited early, never came up, or did not stop on SIGTERM.
    `stderr_tail` holds its last stderr lines."""

    def __init__(self, message: str, stderr_tail: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.stderr_tail = list(stderr_tail)


@dataclass(frozen=True)
class Sample:
    t_s: float  # seconds since every camera was online
    wall_time: datetime
    pid: int
    role: str
    rss: int  # bytes
    uss: int | None  # bytes; None where memory_full_info is not available


# One window over the whole frame of the clip, open around the clock: the clip hall `bench pipeline` measured on,
# kept here so that the soak does not move when that benchmark's workloads do. The camera and storage are filled in
# by hall_config.
_SOAK_HALL = """
version: 1
hall: {id: soak, name: memory soak}
windows: [{id: w01, name: clip window, pause_marker_id: 1, schedule: always}]
cameras:
  - id: clip
    source: clip.mp4
    views:
      - window: w01
        staff_zone: [[0.0, 0.0], [1.0, 0.0], [1.0, 1.0], [0.0, 1.0]]
        # real footage shows no counter: a token citizen side in a corner where no foot point can be
        citizen_side: [[0.95, 0.0], [1.0, 0.0], [1.0, 0.02], [0.95, 0.02]]
        pause_sign_region: [[0.0, 0.0], [0.1, 0.0], [0.1, 0.1], [0.0, 0.1]]
calendar:
  schedules: {always: {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}}
rules:
  absent_without_pause: {dwell_s: 5, return_s: 1}
"""


def hall_config(clip: Path, fps: float, workdir: Path) -> dict[str, Any]:
    """The soak hall as a service: its camera loops `clip` in real time at `fps`; the database, evidence and heads
    registry live in `workdir`."""
    from ruamel.yaml import YAML

    document: dict[str, Any] = YAML(typ="safe").load(_SOAK_HALL)
    document["cameras"][0].update(source=str(clip.resolve()), loop=True, pace="realtime", analysis_fps=fps)
    document["storage"] = {"url": "sqlite:///" + str(workdir / "hall.sqlite"), "data_dir": str(workdir / "data")}
    # An empty hall registry: the heads shipped with counterwatch, never a registry of the caller's directory.
    document["models"] = {"heads_registry": str(workdir / "heads")}
    return document


def _run_command() -> list[str]:
    """`counterwatch` of this interpreter's environment (the console script, else the CLI through -c)."""
    script = Path(sys.executable).parent / "counterwatch"
    if script.is_file():
        return [sys.executable, str(script)]
    return [sys.executable, "-c", "import sys; from counterwatch.cli import main; sys.exit(main())"]


def _stop_with_soak() -> None:  # pragma: no cover - runs in the child between fork and exec
    """The service gets SIGTERM (its orderly stop) if the soak dies without stopping it, even by SIGKILL (Linux)."""
    from counterwatch.parent_watch import set_parent_death_signal

    set_parent_death_signal(signal.SIGTERM)


def _interrupt(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def _sigterm_interrupts() -> Any:
    """SIGTERM to the soak interrupts it like Ctrl-C, so that it stops the service; the previous handler, or None
    off the main thread (where handlers cannot be set)."""
    if threading.current_thread() is not threading.main_thread():
        return None
    return signal.signal(signal.SIGTERM, _interrupt)


def _tail(path: Path, lines: int = STDERR_TAIL_LINES) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:]
    except OSError:
        return []


class _Roles:
    """Names the run process and its descendants by what their command lines say they are: the run process serves
    the API and pumps the workers (runner/api); spawned multiprocessing children are the camera workers, numbered in
    start order as the Runner creates them, each labelled with its camera group; the resource tracker is named as
    such; anything else by its command line."""

    def __init__(self, parent_pid: int, groups: Sequence[Sequence[str]]) -> None:
        self._parent_pid = parent_pid
        self._groups = [tuple(group) for group in groups]
        self._workers = 0

    def name(self, process: psutil.Process) -> str:
        if process.pid == self._parent_pid:
            return "runner/api"
        try:
            command = " ".join(process.cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            command = ""
        if "resource_tracker" in command:
            return "resource-tracker"
        if "spawn_main" in command or "--multiprocessing-fork" in command:
            index, self._workers = self._workers, self._workers + 1
            cameras = ",".join(self._groups[index]) if index < len(self._groups) else "?"
            return f"worker-{index} [{cameras}]"
        return f"child {process.pid}: {command[:60] or process.name()}"


def _memory(process: psutil.Process) -> tuple[int, int | None]:
    with process.oneshot():
        try:
            full = process.memory_full_info()
            return int(full.rss), int(full.uss)
        except (psutil.AccessDenied, AttributeError):
            return int(process.memory_info().rss), None


def _wait_ready(service: subprocess.Popen[bytes], stdout: Path, stderr: Path, camera_ids: Sequence[str]) -> float:
    """Seconds from launch until the run process printed every camera online."""
    started = time.monotonic()
    wanted = [f"camera {camera_id}: online" for camera_id in camera_ids]
    while True:
        if service.poll() is not None:
            raise SoakError(f"counterwatch run exited with code {service.returncode} before its cameras came "
                            f"online", _tail(stderr))
        text = stdout.read_text(encoding="utf-8", errors="replace") if stdout.exists() else ""
        if all(line in text for line in wanted):
            return time.monotonic() - started
        if time.monotonic() - started > STARTUP_TIMEOUT_S:
            raise SoakError(f"counterwatch run: cameras not online {STARTUP_TIMEOUT_S:.0f} s after launch",
                            _tail(stderr))
        time.sleep(0.5)


def _stop(service: subprocess.Popen[bytes]) -> dict[str, Any]:
    """SIGTERM (the orderly stop of `counterwatch run`), then wait; SIGKILL if it does not end in time."""
    started = time.monotonic()
    service.send_signal(signal.SIGTERM)
    killed = False
    try:
        service.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        killed = True
        service.kill()
        service.wait(30)
    code = service.returncode
    return {"signal": "SIGTERM", "exit_code": code, "seconds": round(time.monotonic() - started, 1),
            "killed_after_timeout": killed, "clean": code == 0 and not killed}


def _sleep_until(deadline: float, service: subprocess.Popen[bytes], stderr: Path) -> None:
    while (left := deadline - time.monotonic()) > 0:
        if service.poll() is not None:
            break
        time.sleep(min(left, 0.5))
    if service.poll() is not None:
        raise SoakError(f"counterwatch run exited early with code {service.returncode}", _tail(stderr))


def _sample(processes: dict[int, psutil.Process], roles: dict[int, str], namer: _Roles, parent: psutil.Process,
            t_s: float) -> list[Sample]:
    try:
        for child in sorted(parent.children(recursive=True), key=lambda p: (p.create_time(), p.pid)):
            if child.pid not in processes:
                processes[child.pid] = child
                roles[child.pid] = namer.name(child)
    except (psutil.NoSuchProcess, psutil.ZombieProcess):
        pass
    now = datetime.now(UTC)
    samples = []
    for pid, process in processes.items():
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            rss, uss = _memory(process)
        except (psutil.NoSuchProcess, psutil.ZombieProcess):
            continue
        samples.append(Sample(t_s, now, pid, roles[pid], rss, uss))
    return samples


def write_samples(path: Path, samples: Sequence[Sample]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["t_s", "time", "pid", "role", "rss_bytes", "uss_bytes"])
        for s in samples:
            writer.writerow([f"{s.t_s:.3f}", s.wall_time.isoformat(timespec="seconds"), s.pid, s.role, s.rss,
                             "" if s.uss is None else s.uss])


def _fit(t: Sequence[float], values: Sequence[float]) -> tuple[float, float | None] | None:
    """Least-squares slope of values over t and its standard error (None under 3 points); None under 2 points or
    without a spread in t."""
    if len(t) < 2 or max(t) - min(t) <= 0:
        return None
    x, y = np.asarray(t, dtype=float), np.asarray(values, dtype=float)
    slope, intercept = np.polyfit(x, y, 1)
    if len(x) < 3:
        return float(slope), None
    residuals = y - (slope * x + intercept)
    spread = float(np.sum((x - x.mean()) ** 2))
    return float(slope), math.sqrt(float(np.sum(residuals**2)) / (len(x) - 2) / spread)


def _verdict(slope: float | None) -> str:
    if slope is None:
        return "not measured"
    if abs(slope) <= TARGET_MB_PER_H:
        return "flat"
    return "grows" if slope > 0 else "shrinks"


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits) + 0.0  # + 0.0: no "-0.00" for a flat line


def summarize(samples: Sequence[Sample], warmup_s: float) -> list[dict[str, Any]]:
    """Per process (in order of first appearance: the run process first), the RSS figures, the slope after the
    warm-up (MB/h, with its standard error), the slope over the first five minutes (MB/min), USS figures where
    available, and the verdict against TARGET_MB_PER_H."""
    by_pid: dict[int, list[Sample]] = {}
    for sample in samples:
        by_pid.setdefault(sample.pid, []).append(sample)
    rows = []
    for pid, own in by_pid.items():
        t = [s.t_s for s in own]
        rss = [s.rss / MB for s in own]
        late = [i for i, s in enumerate(own) if s.t_s >= warmup_s]
        late_fit = _fit([t[i] / 3600.0 for i in late], [rss[i] for i in late])
        early = [i for i, s in enumerate(own) if s.t_s <= FIRST_WINDOW_S]
        early_fit = _fit([t[i] / 60.0 for i in early], [rss[i] for i in early])
        row: dict[str, Any] = {
            "role": own[0].role, "pid": pid, "samples": len(own), "first_s": round(t[0], 1), "last_s": round(t[-1], 1),
            "rss_mb": {"start": round(rss[0], 1), "after_warmup": round(rss[late[0]], 1) if late else None,
                       "end": round(rss[-1], 1), "max": round(max(rss), 1)},
            "slope_after_warmup_mb_per_h": _round(late_fit[0] if late_fit else None),
            "slope_after_warmup_stderr_mb_per_h": _round(late_fit[1] if late_fit else None),
            "slope_first_5min_mb_per_min": _round(early_fit[0] if early_fit else None, 3),
            "uss_mb": None, "uss_slope_after_warmup_mb_per_h": None,
            "verdict": _verdict(late_fit[0] if late_fit else None),
        }
        if all(s.uss is not None for s in own):
            uss = [(s.uss or 0) / MB for s in own]
            uss_fit = _fit([t[i] / 3600.0 for i in late], [uss[i] for i in late])
            row["uss_mb"] = {"start": round(uss[0], 1), "after_warmup": round(uss[late[0]], 1) if late else None,
                             "end": round(uss[-1], 1), "max": round(max(uss), 1)}
            row["uss_slope_after_warmup_mb_per_h"] = _round(uss_fit[0] if uss_fit else None)
        rows.append(row)
    return rows


def measure_soak(clip: str, minutes: float, sample_s: float, warmup_min: float, fps: float,
                 samples_out: str | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the service on `clip` for `minutes` (after it is up), sampling every `sample_s`; the report `counterwatch
    bench soak` prints. Raises SoakError when the service exits early or never comes up, SoakStopError (with the
    report) when it does not stop cleanly on SIGTERM. `samples_out`: every sample as CSV, also after an error."""
    from ruamel.yaml import YAML

    from counterwatch.config import load_config
    from counterwatch.runtime.runner import camera_groups

    duration_s, warmup_s = minutes * 60.0, warmup_min * 60.0
    samples: list[Sample] = []
    with tempfile.TemporaryDirectory(prefix="counterwatch-soak-") as scratch:
        workdir = Path(scratch)
        config_path = workdir / "hall.yaml"
        with config_path.open("w", encoding="utf-8") as handle:
            YAML(typ="safe").dump(hall_config(Path(clip), fps, workdir), handle)
        config = load_config(config_path)
        groups = camera_groups(config, 1)
        stdout, stderr = workdir / "run.out", workdir / "run.err"
        command = [*_run_command(), "run", "--config", str(config_path), "--workers", "1", "--port", "0"]
        with stdout.open("wb") as out, stderr.open("wb") as err:
            service = subprocess.Popen(command, stdout=out, stderr=err, stdin=subprocess.DEVNULL, cwd=workdir,
                                       env={**os.environ, "PYTHONUNBUFFERED": "1"}, preexec_fn=_stop_with_soak)
        stop: dict[str, Any] | None = None
        previous_sigterm = _sigterm_interrupts()
        try:
            ready_s = _wait_ready(service, stdout, stderr, [camera.id for camera in config.cameras])
            if progress is not None:
                progress(f"counterwatch run (pid {service.pid}) up after {ready_s:.1f} s; sampling every "
                         f"{sample_s:g} s for {minutes:g} min")
            parent = psutil.Process(service.pid)
            namer = _Roles(service.pid, groups)
            processes, roles = {service.pid: parent}, {service.pid: namer.name(parent)}
            start = time.monotonic()
            next_progress = 60.0
            index = 0
            while index * sample_s <= duration_s + 1e-6:
                _sleep_until(start + index * sample_s, service, stderr)
                t_s = time.monotonic() - start
                samples.extend(_sample(processes, roles, namer, parent, t_s))
                index += 1
                if progress is not None and (t_s >= next_progress or index * sample_s > duration_s + 1e-6):
                    next_progress += 60.0
                    latest = [s for s in samples if s.t_s == t_s]
                    progress(f"soak {t_s / 60:.1f}/{minutes:g} min: " + ", ".join(
                        f"{s.role} {s.rss / MB:.0f} MB" for s in latest))
            stop = _stop(service)
        finally:
            if previous_sigterm is not None:
                signal.signal(signal.SIGTERM, previous_sigterm)
            if stop is None and service.poll() is None:  # an error, Ctrl-C, SIGTERM: never leave it running
                _stop(service)
            if samples_out and samples:
                write_samples(Path(samples_out), samples)
        stderr_tail = _tail(stderr)
    processes_report = summarize(samples, warmup_s)
    missed = [p["role"] for p in processes_report if p["verdict"] in ("grows", "shrinks")]
    unmeasured = [p["role"] for p in processes_report if p["verdict"] == "not measured"]
    report: dict[str, Any] = {
        "clip": os.path.basename(clip), "analysis_fps": fps, "minutes": minutes, "sample_s": sample_s,
        "warmup_min": warmup_min, "ready_after_s": round(ready_s, 1), "target_mb_per_h": TARGET_MB_PER_H,
        "processes": processes_report, "meets_target": None if unmeasured and not missed else not missed,
        "not_flat": missed, "not_measured": unmeasured, "stop": stop,
    }
    assert stop is not None  # set by the orderly stop, the only way out of the try without an exception
    if not stop["clean"]:
        raise SoakStopError(report, stderr_tail)
    return report


class SoakStopError(SoakError):
    """The service did not stop cleanly on SIGTERM; the measurements are in `report`."""

    def __init__(self, report: dict[str, Any], stderr_tail: Sequence[str]) -> None:
        stop = report["stop"]
        killed = f", killed after {STOP_TIMEOUT_S:.0f} s" if stop["killed_after_timeout"] else ""
        super().__init__(f"counterwatch run did not stop cleanly on SIGTERM: exit code {stop['exit_code']}{killed}",
                         stderr_tail)
        self.report = report
