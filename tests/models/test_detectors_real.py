"""SSD MobileNet (cv2.dnn) on real photos."""

from __future__ import annotations

import numpy as np
import pytest

from models import Box, Detection


def test_astronaut_person_box_covers_her(astronaut_person: Detection) -> None:
    # She fills the left two thirds of the 512x512 photo, head at the top, cut off at the bottom edge.
    box = astronaut_person.box
    assert astronaut_person.score > 0.5
    assert astronaut_person.class_id == 1
    assert box.x1 < 60 and 300 < box.x2 < 430
    assert box.y1 < 60 and box.y2 > 450
    assert 0.4 < box.area / (512 * 512) < 0.9


def test_detections_are_sorted_typed_and_inside_the_image(ssd, astronaut) -> None:
    detections = ssd.detect(astronaut, min_score=0.2)
    scores = [d.score for d in detections]
    assert scores == sorted(scores, reverse=True)
    for d in detections:
        assert isinstance(d, Detection) and d.score >= 0.2
        assert 0 <= d.box.x1 <= d.box.x2 <= 512 and 0 <= d.box.y1 <= d.box.y2 <= 512


def test_min_score_filters(ssd, astronaut) -> None:
    low = ssd.detect(astronaut, min_score=0.1)
    high = ssd.detect(astronaut, min_score=0.7)
    assert len(high) < len(low)
    assert all(d.score >= 0.7 for d in high)


def test_coffee_cup(ssd, coffee) -> None:
    cups = [d for d in ssd.detect(coffee, min_score=0.5) if d.label == "cup"]
    assert cups, "no cup found in the coffee photo"
    cx, cy = cups[0].box.center
    # The cup sits in the upper middle of the 600x400 photo.
    assert 200 < cx < 400 and cy < 200


def test_crop_result_maps_back_with_offset(ssd, astronaut, astronaut_person) -> None:
    # A frame with the photo at (200, 100); the detector runs on a crop of it, as vision does per window.
    frame = np.full((700, 900, 3), 90, np.uint8)
    frame[100:612, 200:712] = astronaut
    x0, y0 = 180, 80
    crop = frame[y0:640, x0:640]
    people = [d for d in ssd.detect(crop, min_score=0.5) if d.label == "person"]
    assert people
    mapped = people[0].offset(x0, y0).box
    assert mapped.iou(astronaut_person.box.offset(200, 100)) > 0.8


def test_wide_input_size_on_a_wide_frame(manifests, astronaut, astronaut_person) -> None:
    from models import load_model

    frame = np.full((512, 1024, 3), 90, np.uint8)
    frame[:, 300:812] = astronaut  # person in the middle of a 2:1 frame
    with load_model("ssd_mobilenet_v2_coco", manifests, input_size=(533, 300)) as wide:
        assert wide.input_size == (533, 300)
        people = [d for d in wide.detect(frame, min_score=0.5) if d.label == "person"]
    assert people
    assert people[0].box.offset(-300, 0).iou(astronaut_person.box) > 0.6


def test_rejects_a_grayscale_image(ssd) -> None:
    with pytest.raises(ValueError, match=r"\(H, W, 3\)"):
        ssd.detect(np.zeros((50, 50), np.uint8), min_score=0.5)


def test_rejects_min_score_out_of_range(ssd, astronaut) -> None:
    with pytest.raises(ValueError, match="min_score"):
        ssd.detect(astronaut, min_score=1.5)


def test_box_type_returned(astronaut_person: Detection) -> None:
    assert isinstance(astronaut_person.box, Box)
