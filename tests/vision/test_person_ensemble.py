"""People confirmed by two detectors: scores on hand-made boxes, and both real detectors on a real photo."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from models import load_manifests, load_model
from models.types import Box, Detection
from vision.person_ensemble import ConfirmedPersonDetector, EnsembleSettings, confirm_people, merge_objects


def _person(score: float, x1: float, y1: float = 0.0, size: float = 100.0) -> Detection:
    return Detection("person", 0, score, Box(x1, y1, x1 + size, y1 + size))


def test_agreement_keeps_the_geometric_mean_and_a_lone_box_half_its_score():
    yolox = [_person(0.9, 0.0), _person(0.8, 500.0)]  # the second: a poster only one detector takes for a person
    ssd = [_person(0.4, 10.0), _person(0.6, 1000.0)]
    fused = confirm_people(yolox, ssd)
    assert [round(d.score, 3) for d in fused] == [0.6, 0.4, 0.3]
    assert fused[0].box == yolox[0].box  # the first detector's box where both found the person
    assert {d.box.x1 for d in fused[1:]} == {500.0, 1000.0}
    assert confirm_people(yolox, ssd, EnsembleSettings(unconfirmed=0.0))[-1].score == 0.0


def test_one_to_one_matching_takes_the_best_overlap_first():
    first = [_person(0.9, 0.0), _person(0.9, 40.0)]
    second = [_person(0.4, 38.0)]  # overlaps the second far better than the first
    fused = confirm_people(first, second)
    assert [(d.box.x1, round(d.score, 3)) for d in fused] == [(40.0, 0.6), (0.0, 0.45)]


def test_bad_settings_name_the_field():
    with pytest.raises(ValueError, match="unconfirmed"):
        EnsembleSettings(unconfirmed=1.5)


def test_objects_are_merged_by_label_keeping_the_better_score():
    cup = Detection("cup", 41, 0.5, Box(0, 0, 50, 50))
    better_cup = Detection("cup", 47, 0.7, Box(2, 2, 50, 50))
    phone = Detection("cell phone", 67, 0.4, Box(0, 0, 50, 50))
    assert merge_objects([cup], [better_cup, phone]) == (better_cup, phone)


def test_real_detectors_confirm_the_astronaut_and_not_a_blank_wall():
    manifests = load_manifests()
    pair = ConfirmedPersonDetector(load_model("yolox_nano", manifests), load_model("ssd_mobilenet_v2_coco", manifests))
    try:
        photo = np.ascontiguousarray(skimage.data.astronaut()[:, :, ::-1])
        people = [d for d in pair.detect(photo, min_score=0.3) if d.label == "person"]
        assert len(people) == 1 and people[0].score > 0.6  # both found her: no halving
        assert people[0].box.height > 0.8 * photo.shape[0]
        assert pair.detect(np.full((400, 400, 3), 200, np.uint8), min_score=0.3) == ()
    finally:
        pair.close()
