"""Import of tiny external sets built from scikit-image photos: folder-per-class and YOLO, appended to one dataset."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.dataset import read_manifest


def _invoke(*args: str) -> None:
    result = CliRunner().invoke(main, ["dataset", "import", *args])
    assert result.exit_code == 0, result.output


def test_folder_set_then_yolo_set_append_to_one_dataset(tmp_path: Path, astronaut_bgr: np.ndarray,
                                                        coffee_bgr: np.ndarray) -> None:
    src = tmp_path / "har"
    for folder, name, image in (("calling", "seq1_f01", astronaut_bgr), ("calling", "seq1_f02", astronaut_bgr),
                                ("drinking", "seq1_f01", coffee_bgr), ("sitting", "a", astronaut_bgr)):
        (src / folder).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(src / folder / f"{name}.jpg"), image)
    (src / "unmapped").mkdir()
    labels = tmp_path / "har.yaml"
    labels.write_text("folders:\n  calling: phone_use\n  drinking: drinking\n  sitting: none\n")
    out = tmp_path / "ds"
    _invoke(str(src), "--out", str(out), "--format", "folders", "--labels", str(labels), "--source", "har",
            "--group-regex", r"^(seq\d+)_")  # real detection: the astronaut is found
    samples = read_manifest(out)
    assert sorted(s.label for s in samples) == ["drinking", "none", "phone_use", "phone_use"]
    assert len({s.sample_id for s in samples}) == 4  # calling/seq1_f01 and drinking/seq1_f01 stay distinct
    assert {s.group for s in samples if s.label == "phone_use"} == {"seq1"}
    astronaut = next(s for s in samples if s.label == "none")
    assert astronaut.group == "a" and astronaut.source == "har" and astronaut.person_box is not None
    assert (out / astronaut.crop).exists() and (out / astronaut.image).exists()

    yolo = tmp_path / "phones"
    (yolo / "images").mkdir(parents=True)
    (yolo / "labels").mkdir()
    cv2.imwrite(str(yolo / "images/p1.jpg"), coffee_bgr)
    (yolo / "labels/p1.txt").write_text("1 0.5 0.5 0.2 0.4\n0 0.1 0.1 0.1 0.1\n")
    cv2.imwrite(str(yolo / "images/p2.jpg"), coffee_bgr)
    (yolo / "labels/p2.txt").write_text("0 0.5 0.5 0.2 0.2\n")
    classes = tmp_path / "phones.yaml"
    classes.write_text("classes: {0: none, 1: phone_use}\nnames: {0: wallet, 1: phone}\n")
    _invoke(str(yolo), "--out", str(out), "--format", "yolo", "--labels", str(classes), "--no-detect")
    merged = {s.sample_id: s for s in read_manifest(out)}
    assert len(merged) == 6
    p1 = next(s for s in merged.values() if s.source == "phones" and s.group == "p1")
    assert p1.label == "phone_use" and [o.label for o in p1.objects] == ["phone", "wallet"]
    height, width = coffee_bgr.shape[:2]
    assert p1.objects[0].box == (round(0.4 * width, 1), round(0.3 * height, 1), round(0.6 * width, 1),
                                 round(0.7 * height, 1))
    names = (out / "classes.txt").read_text().splitlines()  # COCO names have spaces ("cell phone")
    first = (out / f"labels/{p1.sample_id}.txt").read_text().splitlines()[0].split()
    assert names[int(first[0])] == "phone" and [float(v) for v in first[1:]] == [0.5, 0.5, 0.2, 0.4]
    info = json.loads((out / "dataset.json").read_text())
    assert info["sources"] == {"har": 4, "phones": 2} and info["counts"]["none"] == 2


def test_hand_classifier_phone_scores_stay_in_the_manifest_but_are_never_yolo_boxes(tmp_path: Path,
                                                                                    astronaut_bgr: np.ndarray) -> None:
    """The hand-crop phone classifier's detections are a crop around a hand, not a phone's outline: a head may use
    their score (manifest), a detector must not learn their box (labels/)."""
    from counterwatch.dataset.format import Annotation, DatasetWriter, DetectedObject
    from vision.cues import PHONE_CLASSIFIER_LABEL

    writer = DatasetWriter(tmp_path / "ds")
    objects = (DetectedObject("cell phone", 0.8, (100.0, 100.0, 140.0, 180.0)),
               DetectedObject(PHONE_CLASSIFIER_LABEL, 0.6, (80.0, 80.0, 200.0, 200.0)))
    sample = writer.add("s1", astronaut_bgr, label="phone_use", source="test", group="g1",
                        annotation=Annotation(objects=objects))
    writer.close()
    assert [o.label for o in sample.objects] == ["cell phone", PHONE_CLASSIFIER_LABEL]
    lines = (tmp_path / "ds/labels/s1.txt").read_text().splitlines()
    assert len(lines) == 1 and lines[0].split()[0] == "0"
    assert (tmp_path / "ds/classes.txt").read_text().splitlines() == ["cell phone"]
