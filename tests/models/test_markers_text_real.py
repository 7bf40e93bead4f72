"""ArUco markers and RapidOCR on rendered signs pasted into real photos, and the EfficientNet classifier."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from models import Marker, TextLine, render_marker

MARKER_ID = 23
SIDE = 120
QUIET = 20


def _scene_with_marker(coffee: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The coffee photo with a marker pasted at (300, 150); returns the scene and the marker's corners."""
    scene = coffee.copy()
    marker = render_marker(MARKER_ID, SIDE, quiet_zone_px=QUIET)
    assert marker.shape == (SIDE + 2 * QUIET, SIDE + 2 * QUIET) and marker.dtype == np.uint8
    x, y = 300, 150
    scene[y:y + marker.shape[0], x:x + marker.shape[1]] = marker[:, :, None]
    x0, y0 = x + QUIET, y + QUIET
    # OpenCV corner convention: pixel centres, so the marker spans x0 - 0.5 .. x0 + SIDE - 0.5.
    corners = np.array([[x0, y0], [x0 + SIDE, y0], [x0 + SIDE, y0 + SIDE], [x0, y0 + SIDE]], np.float32) - 0.5
    return scene, corners


def test_marker_found_at_the_right_place(markers, coffee) -> None:
    scene, corners = _scene_with_marker(coffee)
    found = markers.detect(scene)
    assert [m.marker_id for m in found] == [MARKER_ID]
    assert isinstance(found[0], Marker)
    assert np.abs(found[0].corners - corners).max() < 1.5
    assert found[0].side_px == pytest.approx(SIDE, abs=2)


def test_marker_after_perspective_warp_and_scaling(markers, coffee) -> None:
    scene, corners = _scene_with_marker(coffee)
    h, w = scene.shape[:2]
    source = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    target = np.float32([[40, 30], [w - 10, 0], [w - 60, h - 20], [0, h - 40]])
    homography = cv2.getPerspectiveTransform(source, target)
    warped = cv2.warpPerspective(scene, homography, (w, h), flags=cv2.INTER_LINEAR)
    small = cv2.resize(warped, None, fx=0.6, fy=0.6, interpolation=cv2.INTER_AREA)

    expected = cv2.perspectiveTransform((corners + 0.5)[None], homography)[0] * 0.6 - 0.5
    found = markers.detect(small)
    assert [m.marker_id for m in found] == [MARKER_ID]
    assert np.abs(found[0].corners - expected).max() < 2.0
    # The same result mapped back to the warped frame's scale.
    assert np.abs(found[0].scale(1 / 0.6).corners - (expected + 0.5) / 0.6).max() < 4.0


def test_no_marker_in_the_plain_photo(markers, coffee) -> None:
    assert markers.detect(coffee) == ()


@pytest.mark.parametrize(("marker_id", "side", "message"), [(50, 100, "marker_id"), (-1, 100, "marker_id"),
                                                            (3, 4, "side_px")])
def test_render_marker_validates(marker_id: int, side: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        render_marker(marker_id, side)


def _sign(text: str, height: int = 120, width: int = 640, scale: float = 1.6, thickness: int = 3) -> np.ndarray:
    sign = np.full((height, width, 3), 255, np.uint8)
    cv2.putText(sign, text, (20, height * 2 // 3), cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thickness,
                cv2.LINE_AA)
    return sign


def test_ocr_reads_a_rendered_sign(ocr) -> None:
    sign = _sign("WINDOW 3 PAUSED")
    sign.setflags(write=False)
    lines = ocr.read(sign)
    assert [line.text for line in lines] == ["WINDOW 3 PAUSED"]
    line = lines[0]
    assert isinstance(line, TextLine) and line.score > 0.8
    (text_w, text_h), _ = cv2.getTextSize("WINDOW 3 PAUSED", cv2.FONT_HERSHEY_SIMPLEX, 1.6, 3)
    box = line.box
    # The polygon hugs the rendered text (drawn from x=20, baseline y=80) within a few pixels.
    assert abs(box.x1 - 20) < 6 and abs(box.x2 - (20 + text_w)) < 6
    assert abs(box.y1 - (80 - text_h)) < 6 and 78 < box.y2 < 90


def test_ocr_reads_a_sign_region_cut_from_a_photo(ocr, coffee) -> None:
    scene = coffee.copy()
    scene[250:330, 60:540] = _sign("A-12 0935 PAUSED", 80, 480, 1.2, 2)
    region = scene[230:350, 40:560]  # the caller's sign region, with some photo around it
    lines = ocr.read(region)
    assert "A-12 0935 PAUSED" in [line.text for line in lines]
    line = next(line for line in lines if line.text == "A-12 0935 PAUSED")
    x1, y1, x2, y2 = line.offset(40, 230).box.to_int()
    assert 60 <= x1 < 100 and 250 <= y1 and y2 <= 332 and x2 <= 542


def test_ocr_on_a_blank_image_is_empty(ocr) -> None:
    assert ocr.read(np.full((100, 300, 3), 255, np.uint8)) == ()


def test_classifier_sees_coffee(classifier, coffee) -> None:
    top = classifier.classify(coffee, top_k=3)
    assert len(top) == 3
    assert top[0].label in {"espresso", "cup", "coffee mug"} and top[0].score > 0.5
    assert [c.score for c in top] == sorted((c.score for c in top), reverse=True)


def test_classifier_embedding(classifier, coffee, astronaut) -> None:
    first, again, other = classifier.embed(coffee), classifier.embed(coffee), classifier.embed(astronaut)
    assert first.shape == (1280,) and first.dtype == np.float32
    assert np.isfinite(first).all() and first.min() >= 0  # ReLU6 features
    np.testing.assert_array_equal(first, again)
    cosine = float(first @ other / (np.linalg.norm(first) * np.linalg.norm(other)))
    assert cosine < 0.9
