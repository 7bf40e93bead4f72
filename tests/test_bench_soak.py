"""`counterwatch bench soak`: the real service (`counterwatch run` with its camera worker and the real models) on a
clip rendered here, sampled by psutil; and the slopes and verdicts the report computes from samples."""
from __future__ import annotations

import csv
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest

from counterwatch.cli.bench.soak import TARGET_MB_PER_H, Sample, summarize

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")
MB = 2**20


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Four seconds of a real photo (scikit-image's astronaut, a person) sliding across a desk-grey frame."""
    from skimage import data

    person = cv2.resize(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), (360, 360))
    path = tmp_path_factory.mktemp("soak") / "clip.mp4"
    fps, size = 10.0, (640, 480)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), fps, size)
    assert writer.isOpened()
    try:
        for index in range(40):
            frame = np.full((size[1], size[0], 3), 120, np.uint8)
            left = 40 + 5 * index
            frame[100:460, left:left + 360] = person
            writer.write(frame)
    finally:
        writer.release()
    return path


@pytest.mark.slow
@pytest.mark.models
def test_soak_samples_the_runner_and_its_worker(tmp_path: Path, clip: Path) -> None:
    samples_csv = tmp_path / "samples.csv"
    result = subprocess.run([COUNTERWATCH, "bench", "soak", "--clip", str(clip), "--minutes", "0.5", "--sample-s", "2",
                             "--warmup-min", "0.1", "--json", "--samples-out", str(samples_csv)],
                            capture_output=True, text=True, timeout=420, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["clip"] == "clip.mp4" and report["analysis_fps"] == 2.0
    by_role = {row["role"]: row for row in report["processes"]}
    assert "runner/api" in by_role, list(by_role)
    workers = [row for role, row in by_role.items() if role.startswith("worker-")]
    assert [row["role"] for row in workers] == ["worker-0 [clip]"], list(by_role)
    for row in (by_role["runner/api"], *workers):
        assert row["samples"] >= 5, row
        rss = row["rss_mb"]
        assert all(rss[key] > 20 for key in ("start", "after_warmup", "end", "max")), row
        assert rss["max"] >= max(rss["start"], rss["after_warmup"], rss["end"]), row
        assert isinstance(row["slope_after_warmup_mb_per_h"], float), row
        assert isinstance(row["slope_first_5min_mb_per_min"], float), row
        assert row["verdict"] in ("flat", "grows", "shrinks"), row
    # The worker holds the models: it is the big one.
    assert workers[0]["rss_mb"]["max"] > by_role["runner/api"]["rss_mb"]["start"]
    assert report["stop"]["clean"] and report["stop"]["exit_code"] == 0, report["stop"]
    with samples_csv.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    for row in (by_role["runner/api"], *workers):
        own = [r for r in rows if int(r["pid"]) == row["pid"]]
        assert len(own) == row["samples"] and {r["role"] for r in own} == {row["role"]}
        assert max(int(r["rss_bytes"]) for r in own) / MB == pytest.approx(row["rss_mb"]["max"], abs=0.05)


def _samples(pid: int, role: str, mb_at: list[tuple[float, float]]) -> list[Sample]:
    now = datetime.now(UTC)
    return [Sample(t, now, pid, role, round(mb * MB), round(mb * MB / 2)) for t, mb in mb_at]


def test_summary_fits_the_slopes_after_warmup_and_over_the_first_five_minutes() -> None:
    warmup_s = 600.0
    # The worker: +30 MB/min during the first five minutes, level until the warm-up ends, then +3 MB/h.
    worker = [(t, 500.0 + 30.0 * min(t, 300.0) / 60.0 + 3.0 * max(0.0, t - warmup_s) / 3600.0)
              for t in np.arange(0.0, 7200.0 + 1, 60.0)]
    # The runner: level, with a 0.2 MB jitter that is no trend.
    runner = [(t, 150.0 + (0.2 if index % 2 else 0.0)) for index, t in enumerate(np.arange(0.0, 7200.0 + 1, 60.0))]
    rows = summarize([*_samples(1, "runner/api", runner), *_samples(2, "worker-0 [cam]", worker)], warmup_s)
    assert [row["role"] for row in rows] == ["runner/api", "worker-0 [cam]"]
    runner_row, worker_row = rows
    assert abs(runner_row["slope_after_warmup_mb_per_h"]) <= TARGET_MB_PER_H and runner_row["verdict"] == "flat"
    assert worker_row["slope_after_warmup_mb_per_h"] == pytest.approx(3.0, abs=0.01)
    assert worker_row["slope_after_warmup_stderr_mb_per_h"] == pytest.approx(0.0, abs=0.01)
    assert worker_row["verdict"] == "grows"
    assert worker_row["slope_first_5min_mb_per_min"] == pytest.approx(30.0, abs=0.01)
    assert worker_row["rss_mb"] == {"start": 500.0, "after_warmup": 650.0, "end": 655.5, "max": 655.5}
    assert worker_row["uss_mb"]["end"] == pytest.approx(655.5 / 2, abs=0.06)  # reported to 0.1 MB
    assert worker_row["uss_slope_after_warmup_mb_per_h"] == pytest.approx(1.5, abs=0.01)
    assert worker_row["samples"] == 121


def test_summary_of_a_soak_shorter_than_its_warmup_gives_no_verdict() -> None:
    rows = summarize(_samples(1, "runner/api", [(0.0, 100.0), (10.0, 101.0), (20.0, 102.0)]), warmup_s=60.0)
    assert rows[0]["slope_after_warmup_mb_per_h"] is None and rows[0]["verdict"] == "not measured"
    assert rows[0]["rss_mb"]["after_warmup"] is None
    assert rows[0]["slope_first_5min_mb_per_min"] == pytest.approx(6.0)
