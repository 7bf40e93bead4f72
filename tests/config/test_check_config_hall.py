"""`counterwatch check-config` checks what a config needs on this machine: camera files, models, head versions,
marker ids and pause-sign regions, with real files, the real model registry and the real sign planner."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from counterwatch.cli import main
from counterwatch.demo_scene import render_scene, segment

REPO = Path(__file__).resolve().parents[2]
DEMO = (REPO / "configs/demo.yaml").read_text(encoding="utf-8")
DEMO_SOURCE = "source: ../var/demo/scene.mp4"


@pytest.fixture(scope="module")
def scene(tmp_path_factory) -> Path:
    """A short render of the demo scene (1280x720, what configs/demo.yaml describes)."""
    video = tmp_path_factory.mktemp("scene") / "scene.mp4"
    render_scene(video, (segment(1, ("w01", "w02")),), {}, fps=5.0)
    return video


def _check(path: Path):
    result = CliRunner().invoke(main, ["check-config", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _hall(tmp_path: Path, scene: Path, *, replace: dict[str, str] | None = None, models: str = "") -> Path:
    """configs/demo.yaml with its camera on `scene`, text replaced and `models` added under models:."""
    assert DEMO_SOURCE in DEMO and DEMO.count("\nmodels:\n") == 1
    text = DEMO.replace(DEMO_SOURCE, f"source: {scene}").replace("\nmodels:\n", "\nmodels:\n" + models)
    for old, new in (replace or {}).items():
        assert old in text, old
        text = text.replace(old, new)
    path = tmp_path / "hall.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _line_of(path: Path, needle: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if needle in line)


def test_shipped_demo_config_passes_once_its_scene_is_rendered(tmp_path: Path, scene: Path) -> None:
    # configs/demo.yaml as shipped, next to the scene `make demo` renders at ../var/demo/scene.mp4.
    (tmp_path / "configs").mkdir()
    shutil.copy(REPO / "configs/demo.yaml", tmp_path / "configs/demo.yaml")
    (tmp_path / "var/demo").mkdir(parents=True)
    shutil.copy(scene, tmp_path / "var/demo/scene.mp4")
    result = _check(tmp_path / "configs/demo.yaml")
    assert result.exit_code == 0, result.output
    assert "ok: hall demo-hall, 2 windows" in result.output and "warning" not in result.output


def test_shipped_example_hall_passes_with_warnings(tmp_path: Path) -> None:
    path = REPO / "configs/example-hall.yaml"
    result = _check(path)
    assert result.exit_code == 0, result.output
    assert "ok: hall chongyi-zwfw, 6 windows" in result.output
    # Its cameras are network cameras: not checkable here.
    assert (f"warning: {path}:{_line_of(path, 'rtsp://192.0.2.10')}: cameras[0].source: network camera "
            "rtsp://192.0.2.10:554/Streaming/Channels/101: not checked") in result.output
    # Its cameras are placed so that the A4 sign reads: no sign warning.
    assert "pause_sign_region" not in result.output
    # Plus one for each year (this one, and from November the next) its national holiday calendars lack.
    calendar_years = result.output.count("calendar.national: no national holiday calendar for")
    assert f"{2 + calendar_years} warning(s)" in result.output


def test_missing_camera_file_fails_naming_the_field(tmp_path: Path, scene: Path) -> None:
    path = _hall(tmp_path, scene, replace={f"source: {scene}": "source: cameras/counter.mp4"})
    result = _check(path)
    assert result.exit_code == 2
    assert (f"{path}:{_line_of(path, 'source:')}: cameras[0].source: file {tmp_path / 'cameras/counter.mp4'} does "
            "not exist (cameras/counter.mp4 is resolved against the config file's directory)") in result.output
    assert "ok:" not in result.output


def test_a_camera_file_that_is_not_a_video_fails(tmp_path: Path, scene: Path) -> None:
    (tmp_path / "notes.mp4").write_text("not a video", encoding="utf-8")
    result = _check(_hall(tmp_path, scene, replace={f"source: {scene}": "source: notes.mp4"}))
    assert result.exit_code == 2
    assert (f"cameras[0].source: OpenCV cannot read {tmp_path / 'notes.mp4'} as a video") in result.output
    (tmp_path / "folder.mp4").mkdir()
    result = _check(_hall(tmp_path, scene, replace={f"source: {scene}": "source: folder.mp4"}))
    assert result.exit_code == 2 and f"cameras[0].source: {tmp_path / 'folder.mp4'} is not a file" in result.output


def test_network_camera_is_a_warning_without_its_password(tmp_path: Path, scene: Path) -> None:
    result = _check(_hall(tmp_path, scene, replace={f"source: {scene}": "source: rtsp://admin:s3cret@192.0.2.7/1"}))
    assert result.exit_code == 0, result.output
    assert "warning: " in result.output and "cameras[0].source: network camera rtsp://***@192.0.2.7/1" in result.output
    assert "s3cret" not in result.output


def test_width_px_unlike_the_file_is_a_warning(tmp_path: Path, scene: Path) -> None:
    result = _check(_hall(tmp_path, scene, replace={"width_px: 1280": "width_px: 1920"}))
    assert result.exit_code == 0, result.output
    assert "cameras[0].width_px: 1920 px, but the frames of" in result.output and "are 1280 px wide" in result.output


def test_unknown_model_fails_naming_the_field(tmp_path: Path, scene: Path) -> None:
    path = _hall(tmp_path, scene, replace={"detector: ssd_mobilenet_v2_coco": "detector: ssd_mobilenet_v3_coco"})
    result = _check(path)
    assert result.exit_code == 2
    assert (f"{path}:{_line_of(path, 'detector: ssd_mobilenet_v3')}: models.detector: unknown model "
            "'ssd_mobilenet_v3_coco': the model registry has [") in result.output


def test_model_of_the_wrong_kind_and_missing_weights_fail(tmp_path: Path, scene: Path) -> None:
    (tmp_path / "models").mkdir()
    YAML(typ="safe", pure=True).dump({
        "name": "hall_detector", "task": "object_detection", "runtime": "onnxruntime", "type": "yolox_onnx",
        "licence": "test", "install_hint": "copy hall_detector.onnx from the deployment kit",
        "files": [{"role": "weights", "source": {"path": "hall_detector.onnx"}, "sha256": None}],
    }, tmp_path / "models/hall_detector.yaml")
    path = _hall(tmp_path, scene, replace={"person_detector: yolox_nano": "person_detector: hall_detector"},
                 models="  manifest_dirs: [models]\n  pose: yolox_nano\n")
    result = _check(path)
    assert result.exit_code == 2
    assert (f"models.person_detector: model 'hall_detector': file {tmp_path / 'models/hall_detector.onnx'} does "
            "not exist; copy hall_detector.onnx from the deployment kit") in result.output
    assert ("models.pose: model 'yolox_nano' is a object_detection model; this field needs a pose model"
            in result.output)


def test_missing_manifest_dir_fails_naming_it(tmp_path: Path, scene: Path) -> None:
    result = _check(_hall(tmp_path, scene, models="  manifest_dirs: [exported]\n"))
    assert result.exit_code == 2
    assert f"models.manifest_dirs[0]: manifest directory {tmp_path / 'exported'} does not exist" in result.output


def test_unknown_head_version_fails(tmp_path: Path, scene: Path) -> None:
    path = _hall(tmp_path, scene, replace={"phone_use: active": "phone_use: 20990101T000000-s0"},
                 models="  window_heads: {w02: {sleeping: 20990101T000000-s9, eating: 'off'}}\n")
    result = _check(path)
    assert result.exit_code == 2
    assert "models.heads.phone_use: there is no version '20990101T000000-s0' of the phone_use head" in result.output
    assert "models.window_heads.w02.sleeping: there is no version '20990101T000000-s9'" in result.output
    assert "eating" not in result.output  # 'active' resolves to the shipped head; 'off' asks for none


def test_marker_ids_must_exist_in_the_marker_dictionary(tmp_path: Path, scene: Path) -> None:
    (tmp_path / "models").mkdir()
    YAML(typ="safe", pure=True).dump({
        "name": "apriltag_16h5", "task": "marker_detection", "runtime": "cv2_aruco", "type": "aruco",
        "licence": "test", "options": {"dictionary": "DICT_APRILTAG_16h5"}}, tmp_path / "models/apriltag_16h5.yaml")
    path = _hall(tmp_path, scene, replace={"pause_marker_id: 2": "pause_marker_id: 42"},
                 models="  manifest_dirs: [models]\n  marker: apriltag_16h5\n")
    result = _check(path)
    assert result.exit_code == 2
    assert (f"{path}:{_line_of(path, 'pause_marker_id: 42')}: windows[1].pause_marker_id: marker id 42 is not in "
            "DICT_APRILTAG_16h5 (ids 0..29)") in result.output
    assert "windows[0].pause_marker_id" not in result.output
    assert ("models.marker: model 'apriltag_16h5' reads DICT_APRILTAG_16h5 markers, but `counterwatch sign` prints "
            "DICT_4X4_50 markers") in result.output


def test_pause_sign_region_too_small_for_the_printed_marker_fails(tmp_path: Path, scene: Path) -> None:
    # The demo camera sees the marker `counterwatch sign` prints (66 mm) at ~40 px; this region is 26x14 px.
    small = "pause_sign_region: [[0.78, 0.43], [0.80, 0.43], [0.80, 0.45], [0.78, 0.45]]"
    path = _hall(tmp_path, scene, replace={
        "pause_sign_region: [[0.78, 0.43], [0.98, 0.43], [0.98, 0.68], [0.78, 0.68]]": small})
    result = _check(path)
    assert result.exit_code == 2
    assert (f"{path}:{_line_of(path, small)}: cameras[0].views[1].pause_sign_region: the region is 26x14 px of the "
            "1280x720 frame, too small for the 66 mm marker `counterwatch sign` prints for window w02") in result.output
    assert "views[0]" not in result.output
