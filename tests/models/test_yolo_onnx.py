"""The real yolo_onnx / yolo_pose_onnx runtimes on generated constant-output ONNX graphs.

Image 640x360 into a 320x320 input: ratio 0.5, the 320x180 picture is padded by 70 px top and bottom, so a
box at image pixels (x, y) appears at (0.5 x, 0.5 y + 70) in the network output.
"""

from __future__ import annotations

import numpy as np
import pytest

from models import COCO17_KEYPOINTS, ModelError, ObjectDetector, PoseEstimator, load_manifests, load_model
from models.export import write_onnx_manifest
from models.yolo_decode import letterbox, nms
from tests.models.yolo_graphs import constant_output_model, cxcywh, to_letterbox

IMAGE_W, IMAGE_H = 640, 360
RATIO, PAD_X, PAD_Y = 0.5, 0, 70
CLASSES = ["person", "cell phone", "cup"]

PERSON = (100.0, 50.0, 300.0, 350.0)
PERSON_DUPLICATE = (106.0, 54.0, 304.0, 348.0)
PHONE = (400.0, 100.0, 600.0, 200.0)
FAINT_PHONE = (50.0, 250.0, 150.0, 330.0)
PHONE_INTO_PADDING = (480.0, -20.0, 560.0, 60.0)  # extends into the top padding: must be clipped to y=0


@pytest.fixture()
def frame() -> np.ndarray:
    rng = np.random.default_rng(0)
    image = rng.integers(0, 255, (IMAGE_H, IMAGE_W, 3), dtype=np.uint8)
    image.setflags(write=False)
    return image


def _detect_output() -> np.ndarray:
    rows = [  # (box, class, score)
        (PERSON, 0, 0.9), (PERSON_DUPLICATE, 0, 0.8), (PERSON, 2, 0.7), (PHONE, 1, 0.6),
        (FAINT_PHONE, 1, 0.1), (PHONE_INTO_PADDING, 1, 0.5),
    ]
    output = np.zeros((1, 4 + len(CLASSES), 12), np.float32)  # 6 unused anchors stay at score 0
    for anchor, (box, class_id, score) in enumerate(rows):
        output[0, :4, anchor] = cxcywh(to_letterbox(box, RATIO, PAD_X, PAD_Y))
        output[0, 4 + class_id, anchor] = score
        output[0, 4 + (class_id + 1) % len(CLASSES), anchor] = score / 4  # a weaker runner-up class
    return output


@pytest.fixture()
def yolo_detect(tmp_path):
    constant_output_model(tmp_path / "yolo_test.onnx", _detect_output(), [1, 3, 320, 320])
    write_onnx_manifest(tmp_path / "yolo_test.onnx", name="yolo_test", task="detect", class_names=CLASSES,
                        input_size=(320, 320))
    manifests = load_manifests([tmp_path])
    with load_model("yolo_test", manifests, expect=ObjectDetector) as runtime:
        yield runtime


def test_decoded_boxes_map_back_through_the_letterbox(yolo_detect, frame) -> None:
    found = yolo_detect.detect(frame, min_score=0.25)
    assert [(d.label, round(d.score, 3)) for d in found] == [
        ("person", 0.9), ("cup", 0.7), ("cell phone", 0.6), ("cell phone", 0.5)]
    expected = [PERSON, PERSON, PHONE, (480.0, 0.0, 560.0, 60.0)]
    for detection, box in zip(found, expected, strict=True):
        assert (detection.box.x1, detection.box.y1, detection.box.x2, detection.box.y2) == pytest.approx(box, abs=0.01)
    assert [d.class_id for d in found] == [0, 2, 1, 1]


def test_min_score_keeps_the_faint_box(yolo_detect, frame) -> None:
    found = yolo_detect.detect(frame, min_score=0.05)
    faint = [d for d in found if d.score == pytest.approx(0.1)]
    assert len(faint) == 1
    box = faint[0].box
    assert (box.x1, box.y1, box.x2, box.y2) == pytest.approx(FAINT_PHONE, abs=0.01)
    # The runner-up class scores (score / 4) of the person never become detections of their own.
    assert len(found) == 5


def test_dynamic_input_end2end_layout(tmp_path, frame) -> None:
    # A dynamic-shape export: the manifest gives 320x192, so the 640x360 frame is padded by 6 px top and bottom.
    ratio, pad_y = 0.5, 6
    output = np.zeros((1, 5, 6), np.float32)
    output[0, 0] = (*to_letterbox(PERSON, ratio, 0, pad_y), 0.8, 0)
    output[0, 1] = (*to_letterbox(PHONE, ratio, 0, pad_y), 0.4, 1)
    output[0, 2] = (*to_letterbox(FAINT_PHONE, ratio, 0, pad_y), 0.1, 1)
    constant_output_model(tmp_path / "yolo_e2e.onnx", output, [1, 3, "height", "width"])
    write_onnx_manifest(tmp_path / "yolo_e2e.onnx", name="yolo_e2e", task="detect", class_names=CLASSES,
                        input_size=(320, 192))
    with load_model("yolo_e2e", load_manifests([tmp_path])) as runtime:
        assert runtime.input_size == (320, 192)
        found = runtime.detect(frame, min_score=0.25)
    assert [d.label for d in found] == ["person", "cell phone"]
    assert (found[1].box.x1, found[1].box.y1, found[1].box.x2, found[1].box.y2) == pytest.approx(PHONE, abs=0.01)


def test_class_count_mismatch_is_a_model_error(tmp_path) -> None:
    constant_output_model(tmp_path / "yolo_bad.onnx", _detect_output(), [1, 3, 320, 320])
    write_onnx_manifest(tmp_path / "yolo_bad.onnx", name="yolo_bad", task="detect",
                        class_names=["person", "cup"], input_size=(320, 320))
    with pytest.raises(ModelError, match=r"model 'yolo_bad'.*class_map"):
        load_model("yolo_bad", load_manifests([tmp_path]))


def test_input_size_mismatch_is_a_model_error(tmp_path) -> None:
    constant_output_model(tmp_path / "yolo_size.onnx", _detect_output(), [1, 3, 320, 320])
    write_onnx_manifest(tmp_path / "yolo_size.onnx", name="yolo_size", task="detect", class_names=CLASSES,
                        input_size=(640, 640))
    with pytest.raises(ModelError, match=r"model 'yolo_size'.*input_size \[640, 640\] differs"):
        load_model("yolo_size", load_manifests([tmp_path]))


def _keypoints(origin_x: float, origin_y: float) -> np.ndarray:
    """17 distinct image points (x, y, conf) around a person; the left wrist is barely visible."""
    points = np.array([(origin_x + 7 * i, origin_y + 16 * i, 0.9) for i in range(17)], np.float32)
    points[COCO17_KEYPOINTS.index("left_wrist"), 2] = 0.2
    return points


def _pose_output() -> np.ndarray:
    people = [  # (box, score, keypoints in image pixels)
        (PERSON, 0.85, _keypoints(120, 60)),
        (PERSON_DUPLICATE, 0.7, _keypoints(124, 62)),
        ((380.0, 60.0, 560.0, 350.0), 0.6, _keypoints(400, 70)),
        (FAINT_PHONE, 0.1, _keypoints(60, 260)),
    ]
    output = np.zeros((1, 56, 10), np.float32)
    for anchor, (box, score, points) in enumerate(people):
        output[0, :4, anchor] = cxcywh(to_letterbox(box, RATIO, PAD_X, PAD_Y))
        output[0, 4, anchor] = score
        network = points.copy()
        network[:, 0] = points[:, 0] * RATIO + PAD_X
        network[:, 1] = points[:, 1] * RATIO + PAD_Y
        output[0, 5:, anchor] = network.reshape(-1)
    return output


def test_pose_decode_maps_keypoints_back(tmp_path, frame) -> None:
    constant_output_model(tmp_path / "yolo_pose_test.onnx", _pose_output(), [1, 3, 320, 320])
    write_onnx_manifest(tmp_path / "yolo_pose_test.onnx", name="yolo_pose_test", task="pose",
                        class_names=["person"], input_size=(320, 320))
    with load_model("yolo_pose_test", load_manifests([tmp_path]), expect=PoseEstimator,
                    min_score=0.25) as runtime:
        poses = runtime.estimate(frame)
    assert [round(p.score, 3) for p in poses] == [0.85, 0.6]  # duplicate suppressed, faint one filtered
    first, second = poses
    assert (first.box.x1, first.box.y1, first.box.x2, first.box.y2) == pytest.approx(PERSON, abs=0.01)
    for pose, origin in ((first, (120, 60)), (second, (400, 70))):
        expected = _keypoints(*origin)
        for keypoint, (x, y, conf) in zip(pose.keypoints, expected, strict=True):
            assert (keypoint.x, keypoint.y, keypoint.score) == pytest.approx((x, y, conf), abs=0.01)
    assert first.get("left_wrist", min_score=0.5) is None
    assert first.get("nose").x == pytest.approx(120, abs=0.01)


def test_letterbox_pads_with_grey_and_keeps_rgb() -> None:
    image = np.zeros((360, 640, 3), np.uint8)
    image[:, :, 0] = 200  # blue in BGR
    blob, transform = letterbox(image, (320, 320))
    assert blob.shape == (1, 3, 320, 320)
    assert (transform.ratio, transform.pad_x, transform.pad_y) == (0.5, 0, 70)
    assert np.allclose(blob[0, :, :70], 114 / 255) and np.allclose(blob[0, :, 250:], 114 / 255)
    assert np.allclose(blob[0, 2, 70:250], 200 / 255) and np.allclose(blob[0, :2, 70:250], 0)  # B last in RGB


def test_nms_is_class_wise() -> None:
    boxes = np.array([[0, 0, 10, 10], [1, 1, 11, 11], [0, 0, 10, 10], [50, 50, 60, 60]], np.float32)
    scores = np.array([0.9, 0.8, 0.7, 0.6], np.float32)
    classes = np.array([0, 0, 1, 0])
    assert nms(boxes, scores, classes, 0.5).tolist() == [0, 2, 3]
    assert nms(boxes, scores, classes, 0.9).tolist() == [0, 1, 2, 3]
