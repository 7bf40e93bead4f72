"""`counterwatch models train-detector`: a real one-epoch ultralytics fine-tune on a tiny rendered dataset, offline.

The detector extra (torch + ultralytics) is installed by `make test`; this test does not skip without it.
"""

from __future__ import annotations

import json
import logging
import time

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from counterwatch.cli.models import models_cli
from counterwatch.dataset.format import Annotation, DatasetWriter, DetectedObject
from models import Detection, ObjectDetector, load_manifests, load_model
from models.manifest import file_sha256
from models.train_detector import read_detection_samples, split_by_group

log = logging.getLogger(__name__)

IMAGE_SIZE = 96


@pytest.fixture(autouse=True)
def _yolo_env(monkeypatch, tmp_path):
    """The YOLO_* variables the command sets are restored after each test; ultralytics' settings go to tmp_path."""
    for key in ("YOLO_OFFLINE", "YOLO_AUTOINSTALL", "YOLO_VERBOSE"):
        monkeypatch.setenv(key, "unset-by-test")
        monkeypatch.delenv(key)
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "ultralytics-config"))



def _scene(rng: np.random.Generator, n_objects: int) -> tuple[np.ndarray, list[DetectedObject]]:
    """A counter-top grey image with dark "phones" (tall rectangles) and red "cups" (filled circles)."""
    image = np.full((IMAGE_SIZE, IMAGE_SIZE, 3), rng.integers(150, 210), np.uint8)
    objects = []
    for _ in range(n_objects):
        if rng.random() < 0.5:
            w, h = int(rng.integers(14, 22)), int(rng.integers(26, 36))
            x, y = int(rng.integers(2, IMAGE_SIZE - w - 2)), int(rng.integers(2, IMAGE_SIZE - h - 2))
            cv2.rectangle(image, (x, y), (x + w, y + h), (30, 30, 30), -1)
            cv2.rectangle(image, (x + 2, y + 3), (x + w - 2, y + h - 6), (200, 120, 40), -1)  # the screen
            objects.append(DetectedObject("cell phone", 1.0, (x, y, x + w, y + h)))
        else:
            r = int(rng.integers(9, 14))
            cx, cy = int(rng.integers(r + 2, IMAGE_SIZE - r - 2)), int(rng.integers(r + 2, IMAGE_SIZE - r - 2))
            cv2.circle(image, (cx, cy), r, (40, 40, 220), -1)
            objects.append(DetectedObject("cup", 1.0, (cx - r, cy - r, cx + r, cy + r)))
    return image, objects


@pytest.fixture()
def tiny_dataset(tmp_path):
    """12 labelled images in 6 groups (two per incident), one background image, one without a label file."""
    rng = np.random.default_rng(7)
    writer = DatasetWriter(tmp_path / "dataset")
    for index in range(12):
        image, objects = _scene(rng, 1 + index % 2)
        writer.add(f"s{index:02d}", image, label="phone_use" if index % 3 else "working", source="test",
                   group=f"incident-{index // 2}", annotation=Annotation(objects=tuple(objects)))
    writer.add("background", np.full((IMAGE_SIZE, IMAGE_SIZE, 3), 180, np.uint8), label="working", source="test",
               group="incident-0")
    (writer.directory / "labels" / "background.txt").write_text("")  # searched, nothing found
    writer.add("unsearched", _scene(rng, 1)[0], label="working", source="test", group="incident-9")
    writer.close()
    return writer.directory


def test_group_split_keeps_groups_apart(tiny_dataset) -> None:
    classes, samples, skipped = read_detection_samples(tiny_dataset)
    assert classes == ["cell phone", "cup"] or classes == ["cup", "cell phone"]
    assert len(samples) == 13 and skipped == 1  # "unsearched" has no label file
    for seed in range(5):
        train, val = split_by_group(samples, 0.3, seed)
        assert not {s.group for s in train} & {s.group for s in val}
        assert len(train) + len(val) == 13 and 2 <= len(val) <= 6
    assert split_by_group(samples, 0.3, 1) == split_by_group(samples, 0.3, 1)  # seeded


def test_train_detector_one_epoch_registers_a_loadable_onnx(tiny_dataset, tmp_path, no_network) -> None:
    out = tmp_path / "registry"
    started = time.monotonic()
    result = CliRunner().invoke(models_cli, [
        "train-detector", "--dataset", str(tiny_dataset), "--base", "yolo11n.yaml", "--epochs", "1",
        "--imgsz", "64", "--batch", "4", "--workers", "0", "--val-fraction", "0.3", "--seed", "1",
        "--out", str(out), "--name", "staff_detector", "--quiet"])
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert no_network == [], f"ultralytics tried to go online: {no_network}"
    log.info(f"train-detector, 1 epoch on {IMAGE_SIZE}px x 13 images at imgsz 64: {elapsed:.1f} s")

    (version_dir,) = (out / "staff_detector").iterdir()
    assert sorted(p.name for p in version_dir.iterdir()) == ["card.json", "staff_detector.onnx",
                                                             "staff_detector.yaml"]
    assert f"use it: models.manifest_dirs: [{version_dir}]" in result.output
    assert "warning: the classes have no 'person'" in result.output

    registry = load_manifests([version_dir])
    manifest = registry["staff_detector"]
    assert manifest.files[0].sha256 == file_sha256(version_dir / "staff_detector.onnx")
    assert manifest.input_size == (64, 64)

    card = json.loads((version_dir / "card.json").read_text(encoding="utf-8"))
    assert card["version"] == version_dir.name and card["task"] == "detect"
    assert card["base_model"]["name"] == "yolo11n.yaml"
    assert card["settings"]["epochs"] == 1 and card["settings"]["imgsz"] == 64
    assert card["dataset"]["images"] == 13 and card["dataset"]["skipped_without_labels"] == 1
    assert card["dataset"]["train"]["images"] + card["dataset"]["val"]["images"] == 13
    assert sum(card["dataset"]["train"]["boxes"].values()) + sum(card["dataset"]["val"]["boxes"].values()) == 18
    assert len(card["dataset"]["hash"]) == 64
    for key in ("mAP50", "mAP50-95", "precision", "recall"):
        assert 0.0 <= card["metrics"][key] <= 1.0
    assert card["onnx"]["sha256"] == manifest.files[0].sha256 and card["train_seconds"] > 0

    image, _ = _scene(np.random.default_rng(99), 2)
    with load_model("staff_detector", registry, expect=ObjectDetector) as detector:
        detections = detector.detect(image, min_score=0.0)
    assert detector.input_size == (64, 64)
    assert detections and all(isinstance(d, Detection) for d in detections)  # an untrained net still scores boxes
    for detection in detections:
        assert detection.label in {"cell phone", "cup"}
        assert 0 <= detection.box.x1 <= detection.box.x2 <= IMAGE_SIZE
        assert 0 <= detection.box.y1 <= detection.box.y2 <= IMAGE_SIZE

    verified = CliRunner().invoke(models_cli, ["--manifest-dir", str(version_dir), "verify", "staff_detector"])
    assert verified.exit_code == 0, verified.output


def test_train_detector_rejects_a_dataset_without_boxes(tmp_path, no_network) -> None:
    writer = DatasetWriter(tmp_path / "no-boxes")
    for index in range(3):
        writer.add(f"s{index}", np.full((32, 32, 3), 100, np.uint8), label="working", source="test", group=f"g{index}")
    writer.close()
    result = CliRunner().invoke(models_cli, ["train-detector", "--dataset", str(writer.directory),
                                             "--base", "yolo11n.yaml", "--out", str(tmp_path / "registry")])
    assert result.exit_code == 1
    assert f"dataset {writer.directory}: {writer.directory} has no classes.txt" in result.output
    assert "no boxes" in result.output
    (writer.directory / "classes.txt").write_text("cup\n")
    (writer.directory / "labels").mkdir()
    (writer.directory / "labels" / "s0.txt").write_text("")
    result = CliRunner().invoke(models_cli, ["train-detector", "--dataset", str(writer.directory),
                                             "--base", "yolo11n.yaml", "--out", str(tmp_path / "registry")])
    assert result.exit_code == 1 and "has no boxes: no sample has a non-empty labels/<id>.txt" in result.output
    assert not (tmp_path / "registry").exists()


def test_train_detector_names_a_missing_base_model(tiny_dataset, tmp_path, no_network) -> None:
    result = CliRunner().invoke(models_cli, ["train-detector", "--dataset", str(tiny_dataset),
                                             "--base", str(tmp_path / "yolo11n.pt"), "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert f"base model {tmp_path / 'yolo11n.pt'} not found (weights are never downloaded)" in result.output


def test_train_detector_without_the_extra_names_it(tiny_dataset, tmp_path, monkeypatch) -> None:
    monkeypatch.setitem(__import__("sys").modules, "ultralytics", None)  # a base install without the extra
    result = CliRunner().invoke(models_cli, ["train-detector", "--dataset", str(tiny_dataset),
                                             "--base", "yolo11n.yaml", "--out", str(tmp_path / "r")])
    assert result.exit_code == 1
    assert "ultralytics is not installed; install the detector extra" in result.output
    assert "pip install -c requirements.lock -e '.[detector]'" in result.output
