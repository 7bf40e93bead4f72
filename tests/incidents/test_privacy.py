"""mask_frame in memory, on the demo scene with real faces: the citizen side becomes exactly the mask colour,
faces outside the staff zones are blurred (found by the real face detector), staff faces are left alone."""
from __future__ import annotations

from datetime import UTC, datetime

import cv2
import numpy as np
import pytest

from counterwatch.incidents.privacy import (
    MASK_BGR,
    MASK_BLOCK_PX,
    citizen_mask,
    citizen_polygons_mask,
    detect_faces,
    fill_citizen_side,
    mask_frame,
)
from models.types import Box
from tests.incidents.conftest import CITIZEN_FACE, VISITOR_FACE, VISITOR_FACE_CORE, staff_face_box
from vision.observation import Observation, Person


class NoFaces:
    """A face detector that finds nothing: what the backstop is for."""

    def detect(self, image):
        return ()


class FixedFaces:
    def __init__(self, *boxes: Box) -> None:
        self.boxes = boxes

    def detect(self, image):
        from models.types import FACE_KEYPOINTS, Face, Keypoint

        if image.shape[:2] != (720, 1280):  # a tile: the fixed boxes are in whole-frame pixels
            return ()
        return tuple(Face(box=b, score=0.9, keypoints=tuple(Keypoint(n, *b.center, 0.9) for n in FACE_KEYPOINTS))
                     for b in self.boxes)


def _sharpness(image: np.ndarray, box) -> float:
    x1, y1, x2, y2 = box
    gray = cv2.cvtColor(image[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY).astype(np.float64)
    return float(cv2.Laplacian(gray, cv2.CV_64F).var())


def _outside_staff_zones(boxes, regions, width, height):
    return [b for b in boxes
            if not any(r.contains("staff_zone", width, height, *b.center) for r in regions)]


def test_scene_has_the_faces_the_tests_rely_on(scene, regions, face_detector) -> None:
    # Guards the other tests: without real faces outside the zones they would pass vacuously.
    image = scene.image(0)
    outside = _outside_staff_zones(detect_faces(image, face_detector), regions, 1280, 720)
    centres = [b.center for b in outside]
    assert any(VISITOR_FACE[0] < x < VISITOR_FACE[2] and VISITOR_FACE[1] < y < VISITOR_FACE[3] for x, y in centres)
    assert any(CITIZEN_FACE[0] < x < CITIZEN_FACE[2] + 20 and CITIZEN_FACE[1] < y for x, y in centres)
    polygon = citizen_polygons_mask(regions, 1280, 720)
    assert (np.abs(image[polygon].astype(int) - MASK_BGR).max(axis=1) > 3).mean() > 0.5


def test_citizen_side_is_exactly_the_mask_colour_and_nothing_far_from_it_changes(scene, regions) -> None:
    image = scene.image(1)
    out = fill_citizen_side(image, regions)
    polygon = citizen_polygons_mask(regions, 1280, 720)
    assert polygon.sum() > 100_000
    assert np.all(out[polygon] == MASK_BGR)
    grown = citizen_mask(regions, 1280, 720)
    assert np.all(out[grown] == MASK_BGR)
    # The mask grows only to the codec block grid: nothing beyond MASK_BLOCK_PX - 1 pixels of the polygon.
    reach = cv2.dilate(polygon.astype(np.uint8), np.ones((2 * MASK_BLOCK_PX - 1,) * 2, np.uint8)) > 0
    assert not np.any(grown & ~reach)
    assert np.array_equal(out[~grown], image[~grown])
    # Every codec block is either all mask or untouched by the mask.
    blocks = grown.reshape(720 // MASK_BLOCK_PX, MASK_BLOCK_PX, 1280 // MASK_BLOCK_PX, MASK_BLOCK_PX)
    assert np.all(blocks.all(axis=(1, 3)) == blocks.any(axis=(1, 3)))


def test_faces_outside_staff_zones_are_blurred_and_staff_faces_untouched(scene, regions, face_detector) -> None:
    image = scene.image(2)
    before = image.copy()
    out = mask_frame(image, regions, face_detector)
    assert np.array_equal(image, before)  # the input is not modified
    assert np.all(out[citizen_polygons_mask(regions, 1280, 720)] == MASK_BGR)
    assert not _outside_staff_zones(detect_faces(out, face_detector), regions, 1280, 720)
    assert _sharpness(out, VISITOR_FACE_CORE) < 0.05 * _sharpness(image, VISITOR_FACE_CORE)
    for window_id in ("w01", "w02"):
        x1, y1, x2, y2 = staff_face_box(window_id)
        assert np.array_equal(out[y1:y2, x1:x2], image[y1:y2, x1:x2])
    found = detect_faces(out, face_detector)
    for window_id in ("w01", "w02"):
        x1, y1, x2, y2 = staff_face_box(window_id)
        assert any(x1 < b.center[0] < x2 and y1 < b.center[1] < y2 for b in found), window_id


def test_head_of_a_person_outside_staff_zones_is_blurred_when_the_detector_misses_the_face(scene, regions) -> None:
    image = scene.image(3)
    visitor = Person(box=Box(VISITOR_FACE[0], VISITOR_FACE[1], VISITOR_FACE[2], 420.0), score=0.8)
    staff = Person(box=Box(102.4, 86.4, 422.4, 482.4), score=0.9, window_id="w01")
    observation = Observation("cam-demo", 3, 1.5, datetime.now(UTC), 1280, 720, persons=(visitor, staff))
    out = mask_frame(image, regions, NoFaces(), observation)
    head = (VISITOR_FACE[0], VISITOR_FACE[1], VISITOR_FACE[2], VISITOR_FACE[1] + 75)  # in the top 30% of the box
    assert _sharpness(out, head) < 0.05 * _sharpness(image, head)
    x1, y1, x2, y2 = staff_face_box("w01")
    assert np.array_equal(out[y1:y2, x1:x2], image[y1:y2, x1:x2])
    assert np.array_equal(mask_frame(image, regions, NoFaces()), fill_citizen_side(image, regions))


def test_blurring_comes_before_the_mask(scene, regions) -> None:
    # A face straddling the citizen side's edge: blurring after masking would smear face into the grey.
    image = scene.image(4)
    straddling = Box(40, 480, 160, 600)
    out = mask_frame(image, regions, FixedFaces(straddling))
    assert np.all(out[citizen_mask(regions, 1280, 720)] == MASK_BGR)
    assert _sharpness(out, (40, 440, 160, 520)) < _sharpness(image, (40, 440, 160, 520))


def test_mask_frame_rejects_what_is_not_a_bgr_image(regions) -> None:
    with pytest.raises(ValueError, match="HxWx3 uint8"):
        mask_frame(np.zeros((10, 10), np.uint8), regions, NoFaces())
