"""`counterwatch run`: every camera of the hall, one worker process per camera group, events to one sink.

Workers (spawned, so that MediaPipe's native threads are never forked) read their cameras, run the pipelines and
send incident events, pause periods and the frames they sampled for the labelling queue to the parent over a queue;
the parent is the single writer of the sink.
Queue-system commands (pause/resume a window) go from the parent to every worker over per-worker control queues.
Workers never outlive the parent: each sets a parent-death signal first thing and checks its parent on every loop
(counterwatch.parent_watch), so a parent killed with SIGKILL leaves no pipeline reading a camera or writing files.
"""
from __future__ import annotations

import logging
import multiprocessing as mp
import os
import queue as queue_module
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from counterwatch.config.schema import HallConfig
from counterwatch.rules.pause import QueueStatus
from counterwatch.runtime.messages import CameraStats, QueueCommand, WorkerDone, WorkerMessage

if TYPE_CHECKING:
    from multiprocessing.synchronize import Event

log = logging.getLogger("counterwatch.runtime.runner")


def camera_groups(config: HallConfig, workers: int) -> list[tuple[str, ...]]:
    """Cameras dealt round-robin into at most `workers` groups (a worker per group keeps every core busy)."""
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    count = min(workers, len(config.cameras))
    groups: list[list[str]] = [[] for _ in range(count)]
    for i, camera in enumerate(config.cameras):
        groups[i % count].append(camera.id)
    return [tuple(group) for group in groups]


STATS_INTERVAL_S = 2.0


def _worker_main(config_path: str, camera_ids: tuple[str, ...], out: mp.Queue, control: mp.Queue,
                 stop: Event, data_dir: str, parent_pid: int) -> None:  # pragma: no cover - runs in a child process
    from counterwatch.parent_watch import ParentWatch
    from counterwatch.runtime.malloc_arenas import cap_malloc_arenas

    cap_malloc_arenas()  # before any thread starts (the models' pools, the camera readers): see malloc_arenas
    parent = ParentWatch(parent_pid)
    parent.die_with_parent()  # before anything that takes time (models) or writes (evidence)
    from counterwatch.config import load_config
    from counterwatch.perception import camera_reader, load_models
    from counterwatch.runtime.worker import CameraPipeline

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    config = load_config(config_path)
    cameras = [c for c in config.cameras if c.id in camera_ids]
    queue_status = QueueStatus()
    models = load_models(config)
    from models import ModelRuntime, load_model

    face_detector: ModelRuntime = load_model(config.models.face_detector)
    pipelines = {c.id: CameraPipeline(config, c, models, queue_status, evidence_dir=Path(data_dir),
                                      face_detector=face_detector) for c in cameras}
    readers = [camera_reader(config, c, on_state_change=out.put) for c in cameras]
    stats = {c.id: _StatsAccumulator(c.id) for c in cameras}
    next_stats = time.monotonic() + STATS_INTERVAL_S
    for reader in readers:
        reader.start()
    try:
        while not stop.is_set():
            parent.exit_if_orphaned()
            _drain_control(control, queue_status)
            idle = True
            for reader in readers:
                frame = reader.get(timeout=0.05)
                if frame is None:
                    continue
                idle = False
                result = pipelines[frame.camera_id].step(frame)
                for event in result.events:
                    out.put(event)
                for period in result.pause_periods:
                    out.put(period)
                for status in result.statuses:
                    out.put(status)
                for sample in result.samples:
                    out.put(sample)
                stats[frame.camera_id].add(frame.wall_time, result.timings_ms)
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + STATS_INTERVAL_S
                for accumulator in stats.values():
                    out.put(accumulator.take())
            if idle and all(reader.finished for reader in readers):
                break
    finally:
        for reader in readers:
            reader.stop()
        for accumulator in stats.values():  # the frames since the last report count as observed too
            out.put(accumulator.take())
        for pipeline in pipelines.values():
            for event in pipeline.close():
                out.put(event)
            for sample in pipeline.closed_samples:
                out.put(sample)
        face_detector.close()
        models.close()
        out.put(WorkerDone(camera_ids))


class _StatsAccumulator:
    def __init__(self, camera_id: str) -> None:
        self.camera_id = camera_id
        self._frames = 0
        self._last: datetime | None = None
        self._timings: dict[str, list[float]] = {}

    def add(self, wall_time: datetime, timings_ms: tuple[tuple[str, float], ...]) -> None:
        self._frames += 1
        self._last = wall_time
        for model, ms in timings_ms:
            total = self._timings.setdefault(model, [0.0, 0])
            total[0] += ms
            total[1] += 1

    def take(self) -> CameraStats:
        timings = tuple((model, total / runs, int(runs)) for model, (total, runs) in sorted(self._timings.items()))
        stats = CameraStats(self.camera_id, self._frames, self._last, timings)
        self._frames, self._timings = 0, {}
        return stats


def _drain_control(control: mp.Queue, status: QueueStatus) -> None:
    while True:
        try:
            command = control.get_nowait()
        except queue_module.Empty:
            return
        status.set(command.window_id, command.paused)


class Runner:
    """Starts the workers and pumps their messages into `on_message(message)` on the caller's thread."""

    def __init__(self, config: HallConfig, config_path: str, data_dir: Path, *, workers: int = 2):
        self._context = mp.get_context("spawn")
        self._groups = camera_groups(config, workers)
        self._out = self._context.Queue()
        self._stop = self._context.Event()
        self._controls = [self._context.Queue() for _ in self._groups]
        self._processes = [
            self._context.Process(target=_worker_main, name=f"counterwatch-worker-{i}",
                                  args=(config_path, group, self._out, control, self._stop, str(data_dir),
                                        os.getpid()),
                                  daemon=True)
            for i, (group, control) in enumerate(zip(self._groups, self._controls, strict=True))]

    @property
    def groups(self) -> list[tuple[str, ...]]:
        return list(self._groups)

    def start(self) -> None:
        """Start the workers. Call it from a thread that lives as long as the workers should (the main thread):
        on Linux a worker's parent-death signal fires when the thread that started it ends."""
        for process in self._processes:
            process.start()

    def set_queue_pause(self, window_id: str, paused: bool) -> None:
        for control in self._controls:
            control.put(QueueCommand(window_id, paused))

    def pump(self, on_message: Callable[[WorkerMessage], None], *, seconds: float = 0.0) -> None:
        """Deliver messages until every worker finished, `seconds` passed (0: no limit) or stop() was called."""
        deadline = time.monotonic() + seconds if seconds > 0 else None
        done = 0
        while done < len(self._processes):
            if deadline is not None and time.monotonic() >= deadline:
                self._stop.set()
                deadline = None  # keep pumping until the workers have flushed and said they are done
            try:
                message = self._out.get(timeout=0.2)
            except queue_module.Empty:
                if not any(p.is_alive() for p in self._processes):
                    break
                continue
            if isinstance(message, WorkerDone):
                done += 1
                continue
            on_message(message)

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        for process in self._processes:
            process.join(timeout)
            if process.is_alive():
                log.warning("worker %s did not stop in %.0f s; terminating", process.name, timeout)
                process.terminate()
