"""`counterwatch run` with frame sampling on: a rendered scene (real photo content) through the real workers, models
and bridge gives label_samples rows whose masked files exist and decode."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from ruamel.yaml import YAML
from sqlalchemy import create_engine, text

from counterwatch.config import load_config
from counterwatch.dataset.sample_geometry import read_geometry
from counterwatch.demo_scene import render_scene, segment
from counterwatch.incidents.framing import evidence_view
from counterwatch.incidents.privacy import MASK_BGR, citizen_polygons_mask
from counterwatch.learning.registry import BUILTIN_ROOT, Registry
from counterwatch.learning.runtime import registry_root
from counterwatch.learning.sampling import uncertainty
from counterwatch.perception import regions_for
from tests.conftest import REPO

SECONDS = 10.0
RATE = 1200.0  # one frame per window every 3 s of video
SNAPSHOT_TOLERANCE = 2


def _hall_config(tmp_path: Path, video: Path) -> Path:
    yaml = YAML()
    document = yaml.load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    document["cameras"][0].update(source=str(video), loop=False, pace="fast")
    document["storage"] = {"url": "sqlite:///" + str(tmp_path / "db.sqlite"), "data_dir": str(tmp_path / "data")}
    document["learning"] = {"sample_frames_per_hour": RATE}
    path = tmp_path / "hall.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def test_run_queues_masked_samples_of_both_windows(tmp_path: Path) -> None:
    video = tmp_path / "scene.mp4"
    render_scene(video, (segment(SECONDS, ("w01", "w02")),), {}, fps=5.0)
    config_path = _hall_config(tmp_path, video)
    result = subprocess.run([str(Path(sys.executable).parent / "counterwatch"), "run", "--config", str(config_path),
                             "--workers", "1", "--no-api"], capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    engine = create_engine("sqlite:///" + str(tmp_path / "db.sqlite"))
    try:
        with engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT hall_id, camera_id, window_id, captured_at, path, scores, uncertainty, label "
                "FROM label_samples ORDER BY window_id, captured_at")).mappings().all()
    finally:
        engine.dispose()
    by_window: dict[str, list] = {}
    for row in rows:
        by_window.setdefault(row["window_id"], []).append(row)
    assert set(by_window) == {"w01", "w02"}, result.stdout[-2000:] + result.stderr[-2000:]
    most = math.ceil(SECONDS / (3600.0 / RATE)) + 1  # intervals the video can touch
    for window_rows in by_window.values():
        assert 2 <= len(window_rows) <= most, window_rows
        stamps = [Path(row["path"]).stem for row in window_rows]
        assert len(set(stamps)) == len(stamps)

    config = load_config(config_path)
    data_dir = config.resolve(config.storage.data_dir)
    regions = regions_for(config, config.cameras[0])
    polygon = citizen_polygons_mask(regions, 1280, 720)
    registry = Registry(registry_root(config), builtin=BUILTIN_ROOT)
    shipped = {b: registry.card(b, registry.active(b))["threshold"] for b in config.models.heads}
    assert set(shipped) == {"phone_use", "eating", "drinking", "sleeping"}
    for row in rows:
        assert row["hall_id"] == "demo-hall" and row["camera_id"] == "cam-demo" and row["label"] is None
        assert row["path"].startswith(f"samples/cam-demo/{row['window_id']}/") and row["path"].endswith(".jpg")
        scores = [tuple(score) for score in _scores(row["scores"])]
        # The demo's shipped heads score every behaviour, each at its card's threshold.
        assert {name: threshold for name, _, threshold in scores} == shipped
        assert all(0.0 <= probability <= 1.0 for _, probability, _ in scores)
        assert row["uncertainty"] == pytest.approx(uncertainty(scores))
        image = cv2.imread(str(data_dir / row["path"]), cv2.IMREAD_COLOR)
        # Cut for its window as evidence is, with the crop's place in the frame inside the file.
        x1, y1, x2, y2 = evidence_view(regions, row["window_id"], 1280, 720).crop
        assert image is not None and image.shape == (y2 - y1, x2 - x1, 3)
        assert read_geometry(data_dir / row["path"]).crop == (x1, y1, x2, y2)
        shown = polygon[y1:y2, x1:x2]
        assert np.abs(image[shown].astype(int) - MASK_BGR).max() <= SNAPSHOT_TOLERANCE
        assert image[~shown].std() > 10  # the rest of the picture is there
    files = sorted(p.relative_to(data_dir).as_posix() for p in (data_dir / "samples").rglob("*.jpg"))
    assert files == sorted(row["path"] for row in rows)


def _scores(value) -> list:
    return json.loads(value) if isinstance(value, str) else value
