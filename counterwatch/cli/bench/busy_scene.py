"""Workloads of `counterwatch bench pipeline` built from real clips: each clip with the whole frame as one window,
and a busy scene that tiles several clips into one frame so that several busy windows share one camera.

Clip frames are read through the project's camera reader (rotation metadata applied), sampled at the analysis rate
of stream time. The halls are written as YAML text and parsed like a hall file; they run the models, perception and
presence settings of the benchmark's `--config` (its behaviour heads included) with every rule on.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from counterwatch.config.schema import HallConfig

ANALYSIS_FPS = 2.0  # frames analysed per second of stream time, as a hall runs by default
TILE_SIZE = (640, 360)  # width, height of one tile of the busy scene: 2x2 tiles make a 1280x720 frame
BORDER = 0.01  # fraction of the frame between a tile's edge and its window's staff zone

# Every rule on: the defaults, plus smoking (off by default) turned on. Absence dwells 5 s (as in the clip halls
# before): the dev clips last seconds, and an absence that opens lets both modes be compared on real incidents.
_RULES = {"absent_without_pause": {"dwell_s": 5, "return_s": 1}, "smoking": {"enabled": True}}


def clip_frames(path: str, fps: float = ANALYSIS_FPS) -> list[np.ndarray]:
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
    if not frames:
        raise ValueError(f"{path}: no frame could be read")
    return frames


def _box(x0: float, y0: float, x1: float, y1: float) -> list[list[float]]:
    return [[round(x0, 4), round(y0, 4)], [round(x1, 4), round(y0, 4)], [round(x1, 4), round(y1, 4)],
            [round(x0, 4), round(y1, 4)]]


def _view(window_id: str, x0: float, y0: float, x1: float, y1: float, border: float) -> dict[str, Any]:
    """A window over the box x0..x1, y0..y1 (fractions of the frame): its staff zone is the box less `border`; the
    clips show no counter, so its citizen side is a token corner where no foot point can be (top right)."""
    width, height = x1 - x0, y1 - y0
    return {"window": window_id,
            "staff_zone": _box(x0 + border, y0 + border, x1 - border, y1 - border),
            "citizen_side": _box(x0 + 0.95 * width, y0, x1, y0 + 0.02 * height),
            "pause_sign_region": _box(x0, y0, x0 + 0.1 * width, y0 + 0.1 * height)}


def hall_yaml(hall_id: str, views: Sequence[dict[str, Any]], base: HallConfig | None) -> str:
    """A hall file: one camera with these views, a window each open around the clock, every rule on, and the
    models (heads included), perception and presence settings of `base` (the defaults without one)."""
    def flow(value: Any) -> str:  # JSON is YAML in flow style
        return json.dumps(value, ensure_ascii=False)

    windows = [{"id": view["window"], "name": view["window"], "pause_marker_id": index + 1, "schedule": "always"}
               for index, view in enumerate(views)]
    lines = ["version: 1", f"hall: {flow({'id': hall_id, 'name': hall_id})}", f"windows: {flow(windows)}",
             "cameras:", f"  - id: {hall_id}", f"    source: {hall_id}.mp4   # never opened: frames are passed in",
             f"    analysis_fps: {ANALYSIS_FPS:g}", f"    views: {flow(list(views))}",
             "calendar:", "  timezone: Asia/Shanghai",
             '  schedules: {always: {days: [mon, tue, wed, thu, fri, sat, sun], open: "00:00", close: "23:59"}}',
             f"rules: {flow(_RULES)}"]
    if base is not None:
        # Per-window head overrides name the windows of `base`, not these.
        models = base.models.model_dump(mode="json", exclude={"window_heads"})
        lines += [f"models: {flow(models)}", f"perception: {flow(base.perception.model_dump(mode='json'))}",
                  f"presence: {flow(base.presence.model_dump(mode='json'))}"]
    return "\n".join(lines) + "\n"


def _parse(text: str, base: HallConfig | None) -> HallConfig:
    from counterwatch.config import parse_config

    # Relative paths (manifest dirs, the heads registry) resolve as in `base`'s file.
    return parse_config(text, filename="<bench hall>", base_dir=base.base_dir if base is not None else Path("."))


def clip_hall(base: HallConfig | None) -> HallConfig:
    """One window over the whole frame of a clip."""
    return _parse(hall_yaml("clip", [_view("w01", 0.0, 0.0, 1.0, 1.0, 0.0)], base), base)


def grid_for(tiles: int) -> tuple[int, int]:
    """(columns, rows) of the smallest near-square grid of at least `tiles` (and at least 2x2) tiles."""
    columns = max(2, math.ceil(math.sqrt(tiles)))
    return columns, max(2, math.ceil(tiles / columns))


def letterbox(image: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`image` scaled to fit `size` (width, height) with its aspect kept, centred on black."""
    width, height = size
    scale = min(width / image.shape[1], height / image.shape[0])
    fitted = (max(1, round(image.shape[1] * scale)), max(1, round(image.shape[0] * scale)))
    resized = cv2.resize(image, fitted, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    tile = np.zeros((height, width, 3), np.uint8)
    x, y = (width - fitted[0]) // 2, (height - fitted[1]) // 2
    tile[y:y + fitted[1], x:x + fitted[0]] = resized
    return tile


@dataclass(frozen=True)
class BusyScene:
    config: HallConfig
    frames: list[np.ndarray]
    grid: tuple[int, int]  # columns, rows
    tiles: list[dict[str, Any]]  # per window: its clip and the offset (s) that clip starts at

    @property
    def frame_size(self) -> tuple[int, int]:
        return self.frames[0].shape[1], self.frames[0].shape[0]


def busy_scene(clips: dict[str, list[np.ndarray]], seconds: float, base: HallConfig | None, *,
               fps: float = ANALYSIS_FPS, tile_size: tuple[int, int] = TILE_SIZE) -> BusyScene:
    """The clips (path -> frames at `fps`) tiled into one frame, repeated to fill the grid (2x2 for up to 4 clips);
    each tile one window (w01, w02, ... row by row), its clip starting at its own offset and looping, so that every
    window is busy at once; `seconds` of stream time at `fps`."""
    if not clips:
        raise ValueError("the busy scene needs at least one clip")
    paths = list(clips)
    columns, rows = grid_for(len(paths))
    count = columns * rows
    letterboxed = {path: [letterbox(image, tile_size) for image in frames] for path, frames in clips.items()}
    views, sources = [], []
    for index in range(count):
        column, row = index % columns, index // columns
        window_id = f"w{index + 1:02d}"
        views.append(_view(window_id, column / columns, row / rows, (column + 1) / columns, (row + 1) / rows,
                           BORDER))
        path = paths[index % len(paths)]
        offset = index * len(clips[path]) // count  # tiles sharing a clip start it at different points
        sources.append((path, offset))
    width, height = tile_size
    frames = []
    for step in range(max(1, int(seconds * fps))):
        frame = np.zeros((rows * height, columns * width, 3), np.uint8)
        for index, (path, offset) in enumerate(sources):
            tiles = letterboxed[path]
            y, x = (index // columns) * height, (index % columns) * width
            frame[y:y + height, x:x + width] = tiles[(offset + step) % len(tiles)]
        frames.append(frame)
    tiles_info = [{"window": view["window"], "clip": os.path.basename(path), "starts_at_s": round(offset / fps, 1)}
                  for view, (path, offset) in zip(views, sources, strict=True)]
    return BusyScene(_parse(hall_yaml("busy", views, base), base), frames, (columns, rows), tiles_info)
