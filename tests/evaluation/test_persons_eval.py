"""`counterwatch eval persons` on rendered CCTV-like frames with known YOLO boxes, and the person finder, with the
real detectors (YOLOX-Nano, the default person detector; the SSD for comparison)."""
from __future__ import annotations

import json
from itertools import pairwise

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from counterwatch.cli.eval import eval_cli
from counterwatch.evaluation.persons import bucket_names, bucket_of, read_yolo_dataset
from models import load_manifests, load_model
from models.types import Box
from vision.person_finder import FinderSettings, PersonFinder, is_infrared, tile_grid

WIDTH, HEIGHT = 960, 540
PASTE = (90, 160, 390, 460)  # x1, y1, x2, y2 of the 300x300 astronaut on the canvas
EMPTY_BOX = Box(700, 300, 760, 450)  # a labelled "person" where there is only wall: a guaranteed miss (150 px tall)


def _yolo_line(class_id: int, box: Box) -> str:
    return (f"{class_id} {box.center[0] / WIDTH:.6f} {box.center[1] / HEIGHT:.6f} "
            f"{box.width / WIDTH:.6f} {box.height / HEIGHT:.6f}")


@pytest.fixture(scope="module")
def detector():
    with load_model("yolox_nano", load_manifests()) as model:
        yield model


@pytest.fixture(scope="module")
def cctv_set(tmp_path_factory, astronaut_bgr, detector):
    """Three frames: a day frame and its infrared (grey) twin, each with the astronaut and one empty labelled box,
    and a frame with no label file (no people)."""
    small = cv2.resize(astronaut_bgr, (PASTE[2] - PASTE[0], PASTE[3] - PASTE[1]), interpolation=cv2.INTER_AREA)
    # Her truth box is where the detector boxes her in the photo alone: this test is about the finder and the
    # counting, not about how a labeller would have drawn the box.
    alone = max((d for d in detector.detect(small, min_score=0.3) if d.label == "person"), key=lambda d: d.score)
    person = alone.box.offset(PASTE[0], PASTE[1])
    canvas = np.full((HEIGHT, WIDTH, 3), (150, 160, 170), np.uint8)
    canvas[:, :, 0] = np.linspace(120, 200, WIDTH, dtype=np.uint8)[None, :]  # a wall with a colour gradient
    day = canvas.copy()
    day[PASTE[1]:PASTE[3], PASTE[0]:PASTE[2]] = small
    infrared = cv2.cvtColor(cv2.cvtColor(day, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    root = tmp_path_factory.mktemp("cctv")
    (root / "images").mkdir()
    (root / "labels").mkdir()
    for name, image in (("a_day.jpg", day), ("b_ir.jpg", infrared), ("c_empty.jpg", canvas)):
        assert cv2.imwrite(str(root / "images" / name), image, [cv2.IMWRITE_JPEG_QUALITY, 95])
    for name in ("a_day", "b_ir"):
        (root / "labels" / f"{name}.txt").write_text(_yolo_line(1, person) + "\n" + _yolo_line(0, EMPTY_BOX) + "\n")
    return root, person


def test_reading_yolo_labels(cctv_set) -> None:
    root, person = cctv_set
    frames = read_yolo_dataset(root)
    assert [f.path.name for f in frames] == ["a_day.jpg", "b_ir.jpg", "c_empty.jpg"]
    assert [len(f.boxes) for f in frames] == [2, 2, 0]
    box = frames[0].boxes[0].box
    assert frames[0].boxes[0].class_id == 1
    assert abs(box.x1 - person.x1) < 0.01 and abs(box.y2 - person.y2) < 0.01
    assert len(read_yolo_dataset(root, classes=frozenset({1}))[0].boxes) == 1
    assert [f.path.name for f in read_yolo_dataset(root, limit=2)] == ["a_day.jpg", "c_empty.jpg"]


def test_persons_command_counts(cctv_set) -> None:
    root, person = cctv_set
    result = CliRunner().invoke(eval_cli, ["persons", str(root), "--json", "--scores", "0.3"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["detector"] == "yolox_nano (window crops: confirmed by ssd_mobilenet_v2_coco)"
    assert summary["frames"] == 3 and summary["infrared_frames"] == 1 and summary["truth_boxes"] == 4
    names = summary["height_buckets_px"]
    assert names == ["<60", "60-120", "120-200", ">=200"]
    her = names[bucket_of(person.height, (60, 120, 200))]
    assert her == ">=200"
    at = summary["whole_frame"]["0.3"]
    detections = {f["path"].rsplit("/", 1)[-1]: [d for d in f["detections"] if d["score"] >= 0.3]
                  for f in summary["per_frame"]}
    for condition, frame_names in (("day", ("a_day.jpg", "c_empty.jpg")), ("infrared", ("b_ir.jpg",))):
        c = at[condition]
        assert c["recall_by_height"][her] == {"found": 1, "total": 1, "recall": 1.0}
        assert c["recall_by_height"]["120-200"] == {"found": 0, "total": 1, "recall": 0.0}  # the empty box
        assert c["recall"] == {"found": 1, "total": 2, "recall": 0.5}
        assert c["recall_ge_120px"]["recall"] == 0.5
        predicted = sum(len(detections[n]) for n in frame_names)
        assert c["precision_ge_120px"]["correct"] == 1
        assert c["precision"]["correct"] == 1 and c["precision"]["predicted"] == predicted
        assert c["precision"]["precision"] == round(1 / predicted, 3)
    # around each labelled box: she is found in her crop, the wall box never is
    for factor in ("2.5x", "1.5x"):
        for condition in ("day", "infrared"):
            crop = summary["crops"][factor]["0.3"][condition]
            assert crop["recall"] == {"found": 1, "total": 2, "recall": 0.5}
            assert crop["centre_hit_recall_ge_120px"] == {"found": 1, "total": 2, "recall": 0.5}
            assert crop["recall_by_class"]["1"]["recall"] == 1.0 and crop["recall_by_class"]["0"]["recall"] == 0.0


def test_persons_text_output(cctv_set) -> None:
    root, _ = cctv_set
    result = CliRunner().invoke(eval_cli, ["persons", str(root), "--no-crops", "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "1 frames (0 infrared)" in result.output and "crops around" not in result.output


def test_infrared_detection_and_tiles(astronaut_bgr) -> None:
    assert not is_infrared(astronaut_bgr)
    assert is_infrared(cv2.cvtColor(cv2.cvtColor(astronaut_bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR))
    tiles = tile_grid(1920, 1080, 540, 0.3)
    assert all(t.width == 540 and t.height == 540 for t in tiles)
    assert min(t.x1 for t in tiles) == 0 and max(t.x2 for t in tiles) == 1920 and max(t.y2 for t in tiles) == 1080
    columns = sorted({t.x1 for t in tiles})
    assert all(b - a <= 540 * 0.7 + 1e-6 for a, b in pairwise(columns))  # neighbours overlap >= 30 %


def test_finder_finds_a_small_person_that_the_full_frame_pass_misses(astronaut_bgr, detector) -> None:
    """The point of tiling: her head and shoulders 100 px tall on a 1920x1080 frame."""
    frame = np.full((1080, 1920, 3), 170, np.uint8)
    frame[600:700, 1200:1300] = cv2.resize(astronaut_bgr, (100, 100), interpolation=cv2.INTER_AREA)
    target = Box(1200, 600, 1300, 700)
    assert not any(d.label == "person" and d.box.intersection(target) > 0.5 * d.box.area
                   for d in detector.detect(frame, min_score=0.1))  # the 416x416 full-frame pass alone misses her
    found = PersonFinder(detector).find(frame)
    assert any(d.box.intersection(target) > 0.5 * d.box.area for d in found)
    assert bucket_names((60, 120)) == ("<60", "60-120", ">=120")


def test_yolox_finds_the_astronaut_once_through_the_finder(astronaut_bgr, detector) -> None:
    """A real photo through PersonFinder: one person, where the detector alone boxes her, also with the mirrored
    second look (fused, not doubled)."""
    alone = max((d for d in detector.detect(astronaut_bgr, min_score=0.3) if d.label == "person"),
                key=lambda d: d.score)
    for flip in (False, True):
        found = PersonFinder(detector, FinderSettings(flip=flip)).find(astronaut_bgr)
        assert len(found) == 1, (flip, found)
        assert found[0].score > 0.6 and found[0].box.iou(alone.box) > 0.8


def test_tile_sides_follow_the_detector_input(detector) -> None:
    assert PersonFinder(detector).tile_sides(1920, 1080) == (1040, 693)  # 416 px input at scales 0.4 and 0.6
    with load_model("ssd_mobilenet_v2_coco", load_manifests()) as ssd:
        assert PersonFinder(ssd).tile_sides(1920, 1080) == (750, 500)
    with load_model("ssd_mobilenet_v2_coco", load_manifests(), input_size=[533, 300]) as wide:
        with pytest.raises(ValueError, match="square input_size"):
            PersonFinder(wide)


def test_persons_command_compares_another_detector(cctv_set) -> None:
    root, _ = cctv_set
    result = CliRunner().invoke(eval_cli, ["persons", str(root), "--json", "--scores", "0.3",
                                           "--detector", "ssd_mobilenet_v2_coco", "--no-crops"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["detector"] == "ssd_mobilenet_v2_coco"
    assert summary["whole_frame"]["0.3"]["day"]["recall_by_height"][">=200"]["total"] == 1
    unknown = CliRunner().invoke(eval_cli, ["persons", str(root), "--detector", "no_such_model", "--no-crops"])
    assert unknown.exit_code != 0 and "no_such_model" in unknown.output
