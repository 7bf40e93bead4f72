"""`counterwatch eval frames` on a tiny folder-per-class set built from scikit-image photos, real models."""
from __future__ import annotations

import json

import cv2
import pytest
from click.testing import CliRunner

from counterwatch.cli.eval import eval_cli
from counterwatch.evaluation.frames import (
    BEHAVIOURS,
    TRUTH_LABELS,
    LabelMap,
    decide,
    head_evidence,
    list_photos,
    list_yolo_photos,
    load_label_map,
    parse_class_map,
)
from counterwatch.evaluation.metrics import Confusion
from tests.conftest import REPO
from vision.cues import BehaviourCues


@pytest.fixture(scope="module")
def photo_set(tmp_path_factory, astronaut_bgr, coffee_bgr):
    root = tmp_path_factory.mktemp("photos")
    for folder, images in {"sitting": {"astronaut.png": astronaut_bgr, "coffee.png": coffee_bgr},
                           "calling": {"astronaut.png": astronaut_bgr}, "unmapped": {"x.png": coffee_bgr}}.items():
        (root / folder).mkdir()
        for name, image in images.items():
            assert cv2.imwrite(str(root / folder / name), image)
    labels = root / "map.yaml"
    labels.write_text("folders:\n  sitting: none\n  calling: phone_use\n", encoding="utf-8")
    return root, labels


def test_frames_command_scores_the_photos(photo_set) -> None:
    root, labels = photo_set
    result = CliRunner().invoke(eval_cli, ["frames", str(root), "--labels", str(labels), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["images"] == 3  # the unmapped folder is skipped
    rows = {(r["truth"], r["path"].rsplit("/", 1)[-1]): r for r in summary["per_image"]}
    coffee = rows[("none", "coffee.png")]
    assert coffee["persons"] == 0 and coffee["cues"] is None and coffee["predicted"] == "none"
    assert any(label == "cup" for label, _ in coffee["objects"])
    for truth in ("none", "phone_use"):
        astronaut = rows[(truth, "astronaut.png")]
        assert astronaut["persons"] >= 1
        assert astronaut["cues"]["phone"] == 0.0 and not astronaut["cues"]["call"]
        assert astronaut["predicted"] != "phone_use"
        assert set(astronaut["evidence"]) == set(BEHAVIOURS[:-1])
    # whatever the astronaut is decided as, the arithmetic must follow from the per-image decisions
    pairs = [(r["truth"], r["predicted"]) for r in summary["per_image"]]
    confusion = Confusion.from_pairs(BEHAVIOURS, pairs)
    assert summary["confusion"]["matrix"] == [list(row) for row in confusion.matrix]
    phone = summary["per_behaviour"]["phone_use"]
    assert (phone["tp"], phone["fp"], phone["fn"]) == (0, 0, 1)
    assert phone["recall"] == 0.0 and phone["precision"] is None and phone["f1"] == 0.0
    none = summary["per_behaviour"]["none"]
    predicted_none = [p for _, p in pairs].count("none")
    assert none["tp"] == [p for t, p in pairs if t == "none"].count("none")
    assert none["fp"] == predicted_none - none["tp"]
    assert summary["ms_per_image"]["mean"] > 0


def test_frames_command_text_output_and_limit(photo_set) -> None:
    root, labels = photo_set
    result = CliRunner().invoke(eval_cli, ["frames", str(root), "--labels", str(labels), "--limit", "1"])
    assert result.exit_code == 0, result.output
    assert "2 images" in result.output and "phone_use" in result.output and "truth \\ predicted" in result.output


def test_label_map_errors(tmp_path, photo_set) -> None:
    root, _ = photo_set
    bad = tmp_path / "bad.yaml"
    bad.write_text("folders:\n  sitting: dancing\n", encoding="utf-8")
    with pytest.raises(ValueError, match="dancing"):
        load_label_map(bad)
    with pytest.raises(ValueError, match="do not exist"):
        list_photos(root, LabelMap((("typo", "none"),)))
    result = CliRunner().invoke(eval_cli, ["frames", str(root), "--labels", str(bad)])
    assert result.exit_code != 0 and "dancing" in result.output


def test_shipped_har_label_map_is_valid() -> None:
    labels = load_label_map(REPO / "configs/eval/har.yaml")
    assert dict(labels.folders) == {"calling": "phone_use", "texting": "phone_use", "eating": "eating",
                                    "drinking": "drinking", "sleeping": "sleeping", "using_laptop": "none",
                                    "sitting": "none"}


def test_decision_rule() -> None:
    assert decide(None).label == "none"
    assert decide(BehaviourCues()).label == "none"
    assert decide(BehaviourCues(phone=0.5)).label == "phone_use"
    assert decide(BehaviourCues(call=True, drink_near=True, hand_to_mouth=True)).label == "drinking"  # 0.7 > 0.6
    assert decide(BehaviourCues(drink_near=True)).label == "none"  # a cup on the desk is not drinking
    assert decide(BehaviourCues(food_near=True)).label == "eating"
    assert decide(BehaviourCues(food_near=True, drink_near=True, hand_to_mouth=True)).label == "eating"  # tie
    assert decide(BehaviourCues(head_down=True)).label == "sleeping"
    assert decide(BehaviourCues(eye_aspect_ratio=0.1)).label == "sleeping"
    assert decide(BehaviourCues(eye_aspect_ratio=0.3)).label == "none"


def test_frames_command_on_a_yolo_set(tmp_path, astronaut_bgr, coffee_bgr) -> None:
    """--yolo-classes: each photo's truth comes from its boxes (phone class -> phone_use; wallet or none -> none)."""
    for split in ("train", "valid"):
        (tmp_path / split / "images").mkdir(parents=True)
        (tmp_path / split / "labels").mkdir()
    cv2.imwrite(str(tmp_path / "train/images/holding.png"), astronaut_bgr)
    (tmp_path / "train/labels/holding.txt").write_text("1 0.5 0.5 0.1 0.1\n2 0.2 0.2 0.1 0.1\n")
    cv2.imwrite(str(tmp_path / "valid/images/wallet.png"), astronaut_bgr)
    (tmp_path / "valid/labels/wallet.txt").write_text("2 0.5 0.5 0.1 0.1\n")
    cv2.imwrite(str(tmp_path / "valid/images/table.png"), coffee_bgr)  # no label file: nothing in it
    photos = list_yolo_photos(tmp_path, parse_class_map("1=phone_use,0=none,2=none"))
    assert [(p.path.name, p.truth) for p in photos] == [("holding.png", "phone_use"), ("table.png", "none"),
                                                         ("wallet.png", "none")]
    with pytest.raises(ValueError, match="CLASS_ID=BEHAVIOUR"):
        parse_class_map("1=texting")
    result = CliRunner().invoke(eval_cli, ["frames", str(tmp_path), "--yolo-classes", "1=phone_use,2=none", "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["images"] == 3
    phone = summary["per_behaviour"]["phone_use"]
    assert phone["tp"] + phone["fn"] == 1  # one photo with a phone box
    both = CliRunner().invoke(eval_cli, ["frames", str(tmp_path)])
    assert both.exit_code != 0 and "exactly one of --labels and --yolo-classes" in both.output


def test_heads_replace_the_rule_evidence_of_their_behaviour() -> None:
    # Head-down geometry says sleeping; the sleeping head scored the photo below its threshold: not sleeping.
    cues = BehaviourCues(head_down=True, head=(("sleeping", 0.1, 0.4),))
    assert decide(cues).label == "none"
    # A head at its threshold is exactly at the decision threshold; above it, it decides.
    assert decide(BehaviourCues(head=(("eating", 0.4, 0.4),))).label == "eating"
    assert decide(BehaviourCues(head=(("eating", 0.39, 0.4),))).label == "none"
    # Behaviours without a head keep their rule evidence.
    assert decide(BehaviourCues(phone=0.5, head=(("eating", 0.1, 0.4),))).label == "phone_use"
    assert head_evidence(0.7, 0.4) == pytest.approx(0.3 + 0.7 * 0.5)


def test_smoking_photos_are_scored_though_no_frame_decides_smoking(tmp_path, astronaut_bgr) -> None:
    (tmp_path / "smoking").mkdir()
    cv2.imwrite(str(tmp_path / "smoking" / "a.png"), astronaut_bgr)
    labels = tmp_path / "map.yaml"
    labels.write_text("folders:\n  smoking: smoking\n", encoding="utf-8")
    result = CliRunner().invoke(eval_cli, ["frames", str(tmp_path), "--labels", str(labels), "--json", "--no-heads"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["confusion"]["classes"] == list(TRUTH_LABELS)
    smoking = summary["per_behaviour"]["smoking"]
    assert (smoking["tp"], smoking["fn"], smoking["recall"]) == (0, 1, 0.0)
