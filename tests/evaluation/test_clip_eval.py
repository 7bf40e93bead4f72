"""`counterwatch eval clip` / `eval clips`: the real pipeline (cascade, window states, rules) over videos rendered
from real photo content, scored against annotations written next to them."""
from __future__ import annotations

import json
import shutil

import cv2
import pytest
from click.testing import CliRunner

from counterwatch.cli.eval import eval_cli
from counterwatch.config import load_config
from counterwatch.demo_scene import render_scene, segment
from counterwatch.evaluation.clip import load_annotations
from counterwatch.evaluation.clip_run import evaluate_video
from counterwatch.sign import sign_images
from tests.conftest import REPO

LEAVES_S, BACK_S, END_S = 4.0, 16.0, 22.0  # w01's staff member leaves without the sign at 4 s, is back at 16 s
SCALE = 0.2  # configs/demo.yaml's 30 s absence dwell -> 6 s, return 5 s -> 1 s
ONSET_BOUND_S = 2.0  # four analysed frames at 2 per second


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """The demo hall rendered for 22 s, its config (configs/demo.yaml with the clip as source) and annotations."""
    root = tmp_path_factory.mktemp("scene")
    config_path = REPO / "configs/demo.yaml"
    video = root / "scene.mp4"
    script = (segment(LEAVES_S, ("w01", "w02")), segment(BACK_S - LEAVES_S, ("w02",)),
              segment(END_S - BACK_S, ("w01", "w02")))
    render_scene(video, script, sign_images(load_config(config_path)), fps=5.0)
    text = config_path.read_text(encoding="utf-8").replace("source: ../var/demo/scene.mp4", "source: scene.mp4")
    assert "source: scene.mp4" in text
    (root / "scene.yaml").write_text(text, encoding="utf-8")
    (root / "annotations.json").write_text(json.dumps({
        "note": "rendered by counterwatch.demo_scene",
        "scene.mp4": {"duration_s": END_S, "fps": 5, "config": "scene.yaml", "windows": {
            "w01": {"present": [[0, LEAVES_S], [BACK_S, END_S]], "absent": [[LEAVES_S, BACK_S]]},
            "w02": {"present": [[0, END_S]]}}},
    }), encoding="utf-8")
    return root


def test_the_pipeline_finds_the_absence_on_time_without_false_alerts(scene, loaded_models) -> None:
    annotation = load_annotations(scene / "annotations.json")["scene.mp4"]
    score = evaluate_video(scene / "scene.mp4", annotation, load_config(scene / "scene.yaml"), config_label="scene",
                           dwell_scale=SCALE, tolerance_s=1.0, models=loaded_models)
    assert score.run.frames == pytest.approx(END_S * 2, abs=1)  # 2 analysed frames per second of video
    w01, w02 = score.windows
    absent = {b.incident_type: b for b in w01.behaviours}["absent_without_pause"]
    assert (absent.found, absent.missed, absent.false) == (1, 0, 0), absent
    (match,) = absent.matches
    assert abs(match.onset_error_s) <= ONSET_BOUND_S, match
    # raised once the scaled 6 s dwell has passed since the onset
    assert match.incident.opened_s - match.incident.onset_s == pytest.approx(6.0, abs=0.5)
    assert BACK_S - 0.5 <= match.incident.end_s <= BACK_S + 1.5
    assert w01.false_alerts == 0 and w02.false_alerts == 0
    assert all(b.found == b.missed == 0 for b in w02.behaviours)
    assert w01.presence.of_clear > 30 and w01.presence.agree_clear >= 0.95 * w01.presence.of_clear
    assert w02.presence.agree == w02.presence.of == score.run.frames
    # without the dwell scale the 30 s dwell never passes in a 12 s absence: shorter than the dwell, not missed
    unscaled = evaluate_video(scene / "scene.mp4", annotation, load_config(scene / "scene.yaml"),
                              config_label="scene", models=loaded_models)
    absent = {b.incident_type: b for b in unscaled.windows[0].behaviours}["absent_without_pause"]
    assert (absent.found, absent.missed, absent.too_short, absent.false) == (0, 0, 1, 0)


def test_clip_command_prints_the_event_scores_as_json(scene) -> None:
    result = CliRunner().invoke(eval_cli, ["clip", str(scene / "scene.mp4"), "--config", str(scene / "scene.yaml"),
                                           "--annotations", str(scene / "annotations.json"),
                                           "--dwell-scale", str(SCALE), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["dwell_scale"] == SCALE
    assert summary["rule_times"]["absent_without_pause.dwell_s"] == {"configured": 30.0, "used": 6.0,
                                                                     "raised_to_minimum": False}
    w01 = summary["windows"][0]
    absent = w01["behaviours"]["absent_without_pause"]
    assert (absent["found"], absent["missed"], absent["false"]) == (1, 0, 0)
    assert absent["events"][0]["truth"] == [LEAVES_S, BACK_S]
    assert abs(absent["events"][0]["onset_error_s"]) <= ONSET_BOUND_S
    assert w01["false_alerts_per_hour"] == 0.0
    timeline = {frame["ts"]: frame["staff_present"] for frame in w01["timeline"]}
    assert timeline[2.0] is True and timeline[10.0] is False and timeline[20.0] is True


def _cell(lines: list[str], row: str, column: str) -> str:
    """A cell of the aligned text table: the text under the column's header, up to the next double space."""
    start = lines[0].index(column)
    line = next(line for line in lines if line.split()[:len(row.split())] == row.split())
    return line[start:].split("  ")[0].strip()


def test_clips_command_prints_one_table_with_totals(scene) -> None:
    result = CliRunner().invoke(eval_cli, ["clips", str(scene), "--dwell-scale", str(SCALE)])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["clip", "window", "frames", "presence", "beyond"]
    assert _cell(lines, "scene.mp4 w01", "absent_without_pause") == "1/0/0"  # found/missed/false
    assert _cell(lines, "scene.mp4 w02", "absent_without_pause") == "0/0/0"
    assert _cell(lines, "scene.mp4 w01", "false/h") == "0"
    assert _cell(lines, "total", "absent_without_pause") == "1/0/0" and _cell(lines, "total", "false/h") == "0"
    frames = _cell(lines, "scene.mp4 w02", "frames")
    assert _cell(lines, "scene.mp4 w02", "presence") == f"{frames}/{frames} (1.00)"  # staffed throughout
    assert any(line.startswith("mean |onset error|: absent_without_pause") for line in lines)


def test_clips_command_names_a_missing_config(scene, tmp_path) -> None:
    shutil.copy(scene / "scene.mp4", tmp_path / "scene.mp4")
    annotations = json.loads((scene / "annotations.json").read_text(encoding="utf-8"))
    del annotations["scene.mp4"]["config"]
    (tmp_path / "annotations.json").write_text(json.dumps(annotations), encoding="utf-8")
    result = CliRunner().invoke(eval_cli, ["clips", str(tmp_path)])
    assert result.exit_code == 1 and f"no hall config {tmp_path / 'scene.yaml'}" in result.output
    result = CliRunner().invoke(eval_cli, ["clips", str(tmp_path), "--configs", str(scene)])
    assert result.exit_code == 0, result.output


@pytest.fixture(scope="module")
def staged(tmp_path_factory, astronaut_bgr, coffee_bgr):
    """4 s: an empty room 0-1 s, the astronaut 1-3 s, empty again 3-4 s, with legacy-format annotations."""
    root = tmp_path_factory.mktemp("staged")
    size, fps = (640, 360), 10
    room = cv2.resize(coffee_bgr, size, interpolation=cv2.INTER_AREA)
    with_person = room.copy()
    with_person[30:330, 170:470] = cv2.resize(astronaut_bgr, (300, 300), interpolation=cv2.INTER_AREA)
    video = root / "staged.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), fps, size)
    assert writer.isOpened()
    for index in range(4 * fps):
        writer.write(with_person if fps <= index < 3 * fps else room)
    writer.release()
    (root / "annotations.json").write_text(json.dumps({
        "note": "Times in seconds from the start of the file.",
        "staged.avi": {"size": list(size), "fps": fps, "duration_s": 4.0, "person_present": [[1.0, 3.0]],
                       "person_absent": [[0.0, 1.0], [3.0, 4.0]], "seated": [[1.0, 3.0]]}}))
    return video, root / "annotations.json"


def test_without_a_config_the_whole_frame_is_one_window(staged) -> None:
    video, annotations = staged
    result = CliRunner().invoke(eval_cli, ["clip", str(video), "--annotations", str(annotations), "--tolerance", "0.5"])
    assert result.exit_code == 0, result.output
    assert "staged.avi (implicit): 8 frames analysed (640x360)" in result.output
    assert "w01 presence: 8/8 (1.00); beyond +-0.5 s of a boundary 2/2 (1.00)" in result.output
    # both absences are shorter than the 120 s default dwell: not expected to raise an incident
    assert "w01 absent_without_pause: 2 annotated, 0 found, 0 missed, 2 shorter than the dwell" in result.output


def test_clip_command_rejects_an_unannotated_video(staged, tmp_path) -> None:
    video, _ = staged
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"x.mp4": {"duration_s": 1, "person_present": [[0, 1]]}}))
    result = CliRunner().invoke(eval_cli, ["clip", str(video), "--annotations", str(other)])
    assert result.exit_code != 0 and "no entry for staged.avi" in result.output
