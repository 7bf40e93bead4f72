"""`counterwatch bench pipeline` on a tiny workload: two clips rendered from real photos, tiled into the busy scene
(2x2 windows) and measured alone, with the real models. Timings are not asserted (speed is read off the benchmark's
output), only that the report holds the figures and that they fit together."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from counterwatch.cli.bench.busy_scene import busy_scene, clip_hall, letterbox
from counterwatch.cli.bench.pipeline_report import format_report

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")
SIZE, FPS, SECONDS = (640, 360), 10, 3


def _write_clip(path: Path, room: np.ndarray, person: np.ndarray, xs: list[int | None]) -> Path:
    """SECONDS of `room` at FPS with `person` (300x300) at x = xs[second] (None: the room is empty)."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    assert writer.isOpened()
    for index in range(SECONDS * FPS):
        image = room.copy()
        x = xs[index // FPS]
        if x is not None:
            x += (index % FPS) * 4  # moving: the motion gate does not skip the models
            image[30:330, x:x + 300] = person
        writer.write(image)
    writer.release()
    return path


@pytest.fixture(scope="module")
def clips(tmp_path_factory, astronaut_bgr, coffee_bgr) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("bench_clips")
    room = cv2.resize(coffee_bgr, SIZE, interpolation=cv2.INTER_AREA)
    person = cv2.resize(astronaut_bgr, (300, 300), interpolation=cv2.INTER_AREA)
    return (_write_clip(root / "walks.avi", room, person, [60, 170, 280]),
            _write_clip(root / "leaves.avi", room, person, [170, 170, None]))


def test_busy_scene_tiles_clips_into_windows_of_their_own() -> None:
    first = [np.full((480, 848, 3), 10 + i, np.uint8) for i in range(10)]  # landscape
    second = [np.full((848, 480, 3), 100 + i, np.uint8) for i in range(7)]  # portrait (rotated phone video)
    scene = busy_scene({"a.mp4": first, "b.mp4": second}, seconds=3, base=None)
    assert scene.grid == (2, 2) and scene.frame_size == (1280, 720) and len(scene.frames) == 6
    views = scene.config.cameras[0].views
    assert [view.window for view in views] == ["w01", "w02", "w03", "w04"]
    assert [tile["clip"] for tile in scene.tiles] == ["a.mp4", "b.mp4", "a.mp4", "b.mp4"]
    assert len({(tile["clip"], tile["starts_at_s"]) for tile in scene.tiles}) == 4  # each tile its own offset
    for index, view in enumerate(views):  # each staff zone lies inside its own tile
        x0, y0 = (index % 2) / 2, (index // 2) / 2
        assert all(x0 < x < x0 + 0.5 and y0 < y < y0 + 0.5 for x, y in view.staff_zone)
    # w02 shows the portrait clip letterboxed: black bars left and right, the frame's content in the middle; the
    # clip loops (7 frames) from its offset
    tile = scene.frames[5][0:360, 640:1280]
    assert tile[:, :100].max() == 0 and tile[180, 320, 0] == 100 + (1 + 5) % 7
    assert letterbox(first[0], (640, 360)).shape == (360, 640, 3)
    rules = scene.config.rules
    assert all(getattr(rules, name).enabled for name in type(rules).model_fields if name != "common")
    assert clip_hall(None).cameras[0].views[0].staff_zone == ((0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0))


@pytest.mark.slow
@pytest.mark.models
def test_bench_pipeline_reports_busy_scene_clips_and_agreement(clips: tuple[Path, Path]) -> None:
    # A subprocess: the benchmark pins its process to one core, which must not pin the test session.
    result = subprocess.run([COUNTERWATCH, "bench", "pipeline", "--config", "configs/demo.yaml", "--clip",
                             str(clips[0]), "--clip", str(clips[1]), "--busy-s", "2", "--no-demo", "--json"],
                            capture_output=True, text=True, timeout=600, check=False,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["cpus_used"] == 1
    assert [w["workload"] for w in report["workloads"]] == ["busy_scene", "clip", "clip"]
    busy = report["workloads"][0]
    assert busy["windows"] == 4 and busy["frames"] == 4 and busy["frame_size"] == [1280, 720]
    assert [tile["clip"] for tile in busy["tiles"]] == ["walks.avi", "leaves.avi", "walks.avi", "leaves.avi"]
    assert [w["clip"] for w in report["workloads"][1:]] == ["walks.avi", "leaves.avi"]
    for workload in report["workloads"]:
        assert isinstance(workload["same_incidents"], bool) and isinstance(workload["same_presence"], bool)
        assert workload["speedup_vs_naive"] > 0
        signals = workload["signals"]
        assert signals["window_frames"] == workload["frames"] * workload["windows"]
        assert 0.0 <= signals["same_share"] <= 1.0
        for counts in signals["per_signal"].values():
            assert counts["both"] <= min(counts["naive"], counts["cost_controlled"])
            assert counts["naive"] + counts["cost_controlled"] > 0
        for mode in ("cost_controlled", "naive"):
            figures = workload["modes"][mode]
            assert figures["windows"] == workload["windows"] and figures["frames"] == workload["frames"]
            assert figures["mean_ms_per_window"] > 0 and figures["median_ms_per_window"] > 0
            per_core = pytest.approx(500.0 / figures["mean_ms_per_window"], rel=0.02, abs=0.06)
            assert figures["windows_per_core"] == per_core
            shares = figures["share_of_time"]
            assert sum(shares.values()) == pytest.approx(1.0, abs=0.01) and "other" in shares
            assert {"person_detector", "detector", "heads"} <= set(shares)  # every behaviour on: the heads ran
    # the astronaut is found at the windows that show it (every tile shows it in its first seconds)
    assert busy["modes"]["naive"]["staff_present_share"] > 0
    assert report["workloads"][1]["modes"]["naive"]["staff_present_share"] > 0
    text = format_report(report)
    assert text.index("busy scene") < text.index("walks.avi:") < text.index("leaves.avi:")
    assert "same incidents:" in text and "windows/core at 2 fps" in text and "behaviour signals the same in" in text


@pytest.mark.slow
@pytest.mark.models
def test_bench_pipeline_without_clips_says_there_is_no_busy_scene() -> None:
    result = subprocess.run([COUNTERWATCH, "bench", "pipeline", "--config", "configs/demo.yaml", "--no-demo"],
                            capture_output=True, text=True, timeout=300, check=False,
                            cwd=Path(__file__).resolve().parents[1])
    assert result.returncode == 0, result.stderr[-3000:]
    assert "no busy scene" in result.stdout


def test_behaviour_signals_of_a_state_and_their_agreement_between_modes() -> None:
    from datetime import UTC, datetime

    from counterwatch.cli.bench.pipeline import Run, _signal_agreement, _signals
    from counterwatch.rules.state import StaffPresence, WindowState
    from models.types import Box
    from vision.cues import BehaviourCues

    cues = BehaviourCues(phone=0.4, call=True, head=(("phone_use", 0.7, 0.5), ("sleeping", 0.2, 0.5)))
    state = WindowState("w01", "cam", 0, 0.0, datetime(2026, 12, 4, tzinfo=UTC),
                        staff=(StaffPresence(1, Box(0, 0, 10, 20), 0.9, cues),))
    assert _signals(state, 0.3) == {"phone", "call", "head:phone_use"}
    assert _signals(state, 0.5) == {"call", "head:phone_use"}
    lean, naive = Run(), Run()
    lean.signals = {(0.0, "w01"): frozenset({"phone"}), (0.5, "w01"): frozenset()}
    naive.signals = {(0.0, "w01"): frozenset({"phone"}), (0.5, "w01"): frozenset({"phone", "call"})}
    agreement = _signal_agreement(lean, naive)
    assert agreement["window_frames"] == 2 and agreement["same_share"] == 0.5
    assert agreement["per_signal"] == {"call": {"naive": 1, "cost_controlled": 0, "both": 0},
                                       "phone": {"naive": 2, "cost_controlled": 1, "both": 1}}
