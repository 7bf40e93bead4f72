"""End to end with real models: a video rendered from real photo content through `counterwatch run`."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from counterwatch.config import load_config
from counterwatch.demo_scene import render_scene, segment
from counterwatch.sign import sign_images
from tests.conftest import REPO

pytestmark = pytest.mark.slow

ONSET_S = 8.0  # the staff member at w01 leaves at this time in the rendered video
ABSENT_S = 30.0


def _hall_config(tmp_path: Path, video: Path) -> Path:
    yaml = YAML()
    document = yaml.load((REPO / "configs/demo.yaml").read_text(encoding="utf-8"))
    camera = document["cameras"][0]
    camera["source"] = str(video)
    camera["loop"] = False
    camera["pace"] = "fast"
    document["rules"] = {"absent_without_pause": {"dwell_s": 10, "return_s": 2}}
    document["storage"] = {"url": "sqlite:///" + str(tmp_path / "db.sqlite"), "data_dir": str(tmp_path / "data")}
    path = tmp_path / "hall.yaml"
    with path.open("w", encoding="utf-8") as handle:
        yaml.dump(document, handle)
    return path


def _run(config_path: Path) -> list[dict]:
    result = subprocess.run([str(Path(sys.executable).parent / "counterwatch"), "run", "--config", str(config_path),
                             "--workers", "1"], capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    data_dir = load_config(config_path).resolve(load_config(config_path).storage.data_dir)
    lines = (data_dir / "incidents.jsonl").read_text(encoding="utf-8").splitlines() if (
        data_dir / "incidents.jsonl").exists() else []
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def demo_pages():
    return sign_images(load_config(REPO / "configs/demo.yaml"))


@pytest.mark.parametrize("sign_shown", [False, True], ids=["without-sign", "with-sign"])
def test_present_absent_present_yields_one_absence_incident_unless_the_sign_is_up(tmp_path, demo_pages,
                                                                                    sign_shown) -> None:
    video = tmp_path / "scene.mp4"
    signs = ("w01",) if sign_shown else ()
    script = (segment(ONSET_S, ("w01", "w02")), segment(ABSENT_S, ("w02",), sign=signs),
              segment(10, ("w01", "w02")))
    render_scene(video, script, demo_pages, fps=5.0)
    events = _run(_hall_config(tmp_path, video))
    absences = [e for e in events if e["incident_type"] == "absent_without_pause"]
    others = [e for e in events if e["incident_type"] != "absent_without_pause"]
    assert not others, others
    if sign_shown:
        assert absences == []
        return
    ids = {e["incident_id"] for e in absences}
    assert len(ids) == 1, absences
    kinds = [e["kind"] for e in absences]
    assert kinds[0] == "opened" and kinds[-1] == "closed" and kinds.count("opened") == 1
    opened = absences[0]
    assert opened["window_id"] == "w01" and opened["staff_id"] == "s001"
    assert abs(opened["start_ts"] - ONSET_S) <= 1.0, opened
    assert opened["ts"] >= opened["start_ts"] + 10.0 - 0.01  # raised once the dwell has passed
    closed = absences[-1]
    assert ONSET_S + ABSENT_S - 1.0 <= closed["ts"] <= ONSET_S + ABSENT_S + 5.0
    snapshot = [e["evidence"]["snapshot"] for e in absences if e["evidence"]["snapshot"]]
    assert snapshot, "the opened incident has a snapshot"
