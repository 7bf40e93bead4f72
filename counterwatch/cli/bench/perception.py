"""What `counterwatch bench perception` measures: per-model median latency and the cascade's frames per second on the
demo scene, cost-controlled vs naive."""
from __future__ import annotations

import os
import platform
import statistics
import time
from datetime import UTC, datetime
from typing import Any

import cv2
import numpy as np


def _median_ms(function, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def _demo_frames(config, count: int):
    """Frames of the demo scene at 2 fps: staff present, absent, and absent with the sign shown."""
    from counterwatch.demo_scene import SceneRenderer
    from counterwatch.sign import sign_images

    renderer, rng = SceneRenderer(sign_images(config)), np.random.default_rng(0)
    script: list[tuple[frozenset[str], frozenset[str]]] = [(frozenset({"w01", "w02"}), frozenset())] * (count // 3) + \
             [(frozenset({"w02"}), frozenset())] * (count // 3) + \
             [(frozenset({"w02"}), frozenset({"w01"}))] * (count - 2 * (count // 3))
    return [renderer.frame(present, sign, rng) for present, sign in script]


def measure_perception(config_path: str, repeat: int, frames: int) -> dict[str, Any]:
    """Per-model median latency and cascade frames per second (cost-controlled vs naive) on this machine: the report
    `counterwatch bench perception` prints (models: name -> median_ms, per_second; cascade_on_demo_scene: per
    mode median_frame_ms, mean_frame_ms, frames_per_second, windows_per_frame, and speedup_vs_naive)."""
    from skimage import data

    from cameras.frame import Frame
    from counterwatch.config import load_config
    from counterwatch.perception import build_cascade, load_models

    config = load_config(config_path)
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    coffee = cv2.cvtColor(data.coffee(), cv2.COLOR_RGB2BGR)
    scene = _demo_frames(config, frames)
    sign_frame = scene[-1]
    sign_crop = sign_frame[int(0.43 * 720):int(0.68 * 720), int(0.28 * 1280):int(0.48 * 1280)]
    sign_crop = cv2.resize(sign_crop, None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
    results: dict[str, dict[str, float]] = {}
    with load_models(config) as models:
        m = models.cascade_models
        face = m.face_detector.detect(astronaut[0:250, 100:400])
        face_crop = astronaut[0:250, 100:400]
        if face:
            b = face[0].box.expand(1.5).clip(300, 250)
            face_crop = np.ascontiguousarray(astronaut[int(b.y1):int(b.y2), 100 + int(b.x1):100 + int(b.x2)])
        cases = {
            "detector (ssd 300x300, astronaut 512x512)": lambda: m.detector.detect(astronaut, min_score=0.3),
            "detector (ssd, coffee 600x400)": lambda: m.detector.detect(coffee, min_score=0.3),
            "pose (mediapipe c1, 512x512)": lambda: m.pose.estimate(astronaut),
            "face_detector (mediapipe full range, 300x250)": lambda: m.face_detector.detect(astronaut[0:250, 100:400]),
            "face_mesh (face crop)": lambda: m.face_mesh.mesh(face_crop),
            "hands (mediapipe c0, 512x512)": lambda: m.hands.detect(astronaut),
            "marker (aruco, sign crop)": lambda: m.marker.detect(sign_crop),
        }
        reader = m.text_reader
        if reader is not None:
            cases["ocr (rapidocr, sign crop)"] = lambda: reader.read(sign_crop)
        for name, function in cases.items():
            ms = _median_ms(function, repeat)
            results[name] = {"median_ms": round(ms, 1), "per_second": round(1000.0 / ms, 1)}
        camera = config.cameras[0]
        cascade_figures: dict[str, Any] = {}
        for mode, naive in (("cost_controlled", False), ("naive", True)):
            cascade = build_cascade(config, camera, models, naive=naive)
            samples = []
            for index, image in enumerate(scene):
                frame = Frame(camera.id, index, index * 0.5, datetime.now(UTC), image)
                start = time.perf_counter()
                cascade.observe(frame)
                samples.append((time.perf_counter() - start) * 1000.0)
            median = statistics.median(samples)
            total = sum(samples)
            cascade_figures[mode] = {"median_frame_ms": round(median, 1),
                                     "mean_frame_ms": round(total / len(samples), 1),
                                     "frames_per_second": round(1000.0 * len(samples) / total, 2),
                                     "windows_per_frame": len(camera.views)}
        ratio = cascade_figures["naive"]["mean_frame_ms"] / max(1e-6,
                                                                cascade_figures["cost_controlled"]["mean_frame_ms"])
        cascade_figures["speedup_vs_naive"] = round(ratio, 2)
    return {"machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                        "python": platform.python_version(), "opencv": cv2.__version__},
            "repeat": repeat, "models": results, "cascade_on_demo_scene": cascade_figures}
