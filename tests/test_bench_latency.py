"""`counterwatch bench latency`: the real service (`counterwatch run` with its camera worker and the real models) on a
scene rendered here, its alerts received over the live feed (SSE); and how alert rows and the summary are computed."""
from __future__ import annotations

import json
import math
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from counterwatch.cli.bench.latency import alert_rows, summarize
from counterwatch.config import load_config
from counterwatch.demo_scene import render_scene, segment
from counterwatch.sign import sign_images
from tests.conftest import REPO

COUNTERWATCH = str(Path(sys.executable).parent / "counterwatch")
DWELL_S = 5.0


@pytest.mark.slow
@pytest.mark.models
def test_latency_of_an_absence_alert_over_the_live_feed(tmp_path: Path) -> None:
    # The demo hall with w01 empty from the first frame (w02 at work) and a 5 s absence dwell: an alert within
    # seconds of the camera coming online.
    scene = tmp_path / "scene.mp4"
    render_scene(scene, (segment(30, ("w02",)),), sign_images(load_config(REPO / "configs/demo.yaml")))
    yaml = YAML()
    document = yaml.load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    document["rules"] = {"absent_without_pause": {"dwell_s": DWELL_S, "return_s": 1}}
    config = tmp_path / "hall.yaml"
    with config.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)

    result = subprocess.run([COUNTERWATCH, "bench", "latency", "--config", str(config), "--scene", str(scene),
                             "--seconds", "12", "--json"], capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout)
    assert report["feed"]["url_path"] == "/api/v1/events/stream" and report["feed"]["connects"] >= 1
    absences = [row for row in report["alerts"] if row["type"] == "absent_without_pause"]
    assert absences, report
    row = absences[0]
    assert row["window_id"] == "w01", row
    latency = row["latency_ms"]
    assert latency is not None and math.isfinite(latency) and latency >= 0, row
    # The frame that opened it is the one where the dwell was reached, and the alert came after that frame.
    assert row["dwell_reached_after_s"] >= DWELL_S - 0.01, row
    frame_time, arrival = datetime.fromisoformat(row["frame_wall_time"]), datetime.fromisoformat(row["arrival"])
    assert frame_time >= datetime.fromisoformat(row["started_at"]) + timedelta(seconds=DWELL_S - 0.01), row
    assert arrival >= frame_time, row
    summary = report["summary"]
    assert summary["measured"] >= 1 and summary["unmatched"] == [], summary
    assert summary["p50_ms"] is not None and math.isfinite(summary["p50_ms"]) and summary["p50_ms"] >= 0, summary
    assert summary["max_ms"] >= summary["p50_ms"], summary
    assert summary["verdict"] in ("met", "not met") and summary["meets_target"] is (summary["verdict"] == "met")
    assert report["stop"]["clean"], report["stop"]


def _message(incident_id: str, started_at: datetime, kind: str = "opened") -> dict:
    return {"type": f"incident.{kind}", "hall_id": "h",
            "incident": {"id": incident_id, "type": "phone_use", "window_id": "w01", "camera_id": "cam",
                         "started_at": started_at.isoformat()}}


def test_rows_and_summary_from_arrivals_and_opened_events() -> None:
    origin = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    # Two alerts: onset at stream 10 s / 50 s, dwell reached 15 s / 20 s later, arriving 300 ms / 1500 ms after
    # that frame; a third whose opened event is missing.
    alerts = {
        "a": (origin + timedelta(seconds=25.3), _message("a", origin + timedelta(seconds=10))),
        "b": (origin + timedelta(seconds=71.5), _message("b", origin + timedelta(seconds=50.02))),
        "c": (origin + timedelta(seconds=80), _message("c", origin + timedelta(seconds=60))),
    }
    opened = {"a": {"incident_id": "a", "kind": "opened", "started_at": (origin + timedelta(seconds=10)).isoformat(),
                    "start_ts": 10.0, "ts": 25.0},
              "b": {"incident_id": "b", "kind": "opened",
                    "started_at": (origin + timedelta(seconds=50.02)).isoformat(), "start_ts": 50.0, "ts": 70.0}}
    rows = alert_rows(alerts, opened)
    assert [row["incident_id"] for row in rows] == ["a", "b", "c"]
    assert rows[0]["latency_ms"] == pytest.approx(300.0, abs=0.1)
    assert rows[1]["latency_ms"] == pytest.approx(1480.0, abs=0.1)  # the onset frame was read 20 ms late
    assert rows[2]["latency_ms"] is None
    summary = summarize(rows)
    assert summary["measured"] == 2 and summary["unmatched"] == ["c"]
    assert summary["p50_ms"] == pytest.approx(890.0, abs=0.1) and summary["max_ms"] == pytest.approx(1480.0, abs=0.1)
    assert summary["verdict"] == "not met" and summary["over_target"] == ["b"] and summary["meets_target"] is False
    assert summary["pacing_origin_spread_ms"] == {"cam": pytest.approx(20.0, abs=0.1)}
    assert summarize(rows[:1])["verdict"] == "met"
    assert summarize([])["verdict"] == "not measured" and summarize([])["p50_ms"] is None
