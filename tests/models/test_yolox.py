"""YOLOX-Nano: the committed weights on real photos, and the grid decode on hand-made outputs."""
from __future__ import annotations

import numpy as np
import pytest
import skimage.data

from models import ObjectDetector, load_manifests, load_model
from models.manifest import check_files
from models.yolox_decode import decode_yolox, grid_cells, resize_top_left, yolox_layout


@pytest.fixture(scope="module")
def yolox():
    with load_model("yolox_nano", load_manifests(), expect=ObjectDetector) as runtime:
        yield runtime


def _bgr(image: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(image[:, :, ::-1])


def test_committed_weights_are_pinned_and_find_the_astronaut(yolox):
    assert check_files(load_manifests()["yolox_nano"])  # present, sha256 as pinned
    image = _bgr(skimage.data.astronaut())  # 512 x 512, one person filling most of it
    people = [d for d in yolox.detect(image, min_score=0.3) if d.label == "person"]
    assert len(people) == 1
    person = people[0]
    assert person.score > 0.8
    # The astronaut spans nearly the whole height and the left two-thirds of the photo.
    assert person.box.height > 0.85 * image.shape[0]
    assert person.box.x1 < 60 and 300 < person.box.x2 < 420


def test_finds_the_cup_in_the_coffee_photo_and_nothing_on_a_blank_image(yolox):
    cups = [d for d in yolox.detect(_bgr(skimage.data.coffee()), min_score=0.3) if d.label == "cup"]
    assert cups and cups[0].score > 0.6
    assert yolox.detect(np.full((300, 400, 3), 127, np.uint8), min_score=0.3) == ()


def test_boxes_map_back_to_image_pixels_for_any_aspect_ratio(yolox):
    astronaut = _bgr(skimage.data.astronaut())
    wide = np.full((512, 1400, 3), 90, np.uint8)
    wide[:, 700:1212] = astronaut  # the same person, 700 px to the right in a wide frame
    person = max((d for d in yolox.detect(wide, min_score=0.3) if d.label == "person"), key=lambda d: d.score)
    alone = max((d for d in yolox.detect(astronaut, min_score=0.3) if d.label == "person"), key=lambda d: d.score)
    assert abs((person.box.x1 - 700) - alone.box.x1) < 25 and abs(person.box.y2 - alone.box.y2) < 25


def test_grid_decode_places_a_box_at_its_cell_and_stride():
    size = (64, 32)  # width, height: strides 8, 16, 32 give 8x4, 4x2 and 2x1 cells
    cells, strides = grid_cells(size)
    assert len(cells) == 32 + 8 + 2
    output = np.zeros((1, len(cells), 5 + 2), np.float32)
    # Stride 16, cell (x=3, y=1): row 32 + 1 * 4 + 3. Offset (0.5, 0.5), size exp(0) * 16 = 16 px.
    row = 32 + 1 * 4 + 3
    output[0, row, :5] = (0.5, 0.5, 0.0, 0.0, 0.9)
    output[0, row, 5 + 1] = 0.8  # class 1
    output[0, 0, 4], output[0, 0, 5] = 0.9, 0.1  # a weak box: 0.09 after objectness x class
    decoded = decode_yolox(output, 2, size, min_score=0.25, iou_threshold=0.45)
    assert decoded.class_ids.tolist() == [1]
    assert decoded.scores[0] == pytest.approx(0.72)
    centre = ((3 + 0.5) * 16, (1 + 0.5) * 16)
    assert decoded.boxes[0].tolist() == pytest.approx([centre[0] - 8, centre[1] - 8, centre[0] + 8, centre[1] + 8])


def test_overlapping_boxes_of_one_class_are_suppressed_and_other_classes_kept():
    size = (64, 64)
    cells, _ = grid_cells(size)
    output = np.zeros((1, len(cells), 7), np.float32)
    for row, cls, score in ((9, 0, 0.9), (10, 0, 0.8), (11, 1, 0.7)):  # neighbouring stride-8 cells, 8 px apart
        output[0, row, :5] = (0.0, 0.0, np.log(4.0), np.log(4.0), 1.0)  # 32 x 32 boxes
        output[0, row, 5 + cls] = score
    decoded = decode_yolox(output, 2, size, min_score=0.25, iou_threshold=0.45)
    assert decoded.class_ids.tolist() == [0, 1]  # the 0.8 box overlaps the 0.9 one of its class (IoU 0.6)
    assert decoded.scores.tolist() == pytest.approx([0.9, 0.7])


def test_a_wrong_layout_names_the_expected_shape():
    with pytest.raises(ValueError, match=r"\(1, 3549, 85\)"):
        yolox_layout((1, 3549, 84), 80, (416, 416))


def test_resize_top_left_keeps_the_picture_in_the_corner():
    image = np.full((100, 200, 3), 7, np.uint8)
    blob, transform = resize_top_left(image, (416, 416))
    assert blob.shape == (1, 3, 416, 416) and transform.ratio == pytest.approx(2.08)
    assert blob[0, :, 0, 0].tolist() == [7, 7, 7]  # raw 0..255 values, BGR order kept
    assert blob[0, :, 300, 10].tolist() == [114, 114, 114]  # padding below the picture
    assert transform.to_image(np.array([[208.0, 104.0]])).tolist() == [[100.0, 50.0]]


def _wide_scene() -> np.ndarray:
    """A 1400x512 counter-like frame: the astronaut and the coffee photo side by side on grey."""
    wide = np.full((512, 1400, 3), 90, np.uint8)
    wide[:, 100:612] = _bgr(skimage.data.astronaut())
    coffee = _bgr(skimage.data.coffee())  # 400 x 600
    wide[56:456, 750:1350] = coffee
    return wide


def test_rect_runs_a_wide_image_on_a_short_input_and_finds_the_same(yolox):
    assert yolox.rect  # the shipped manifest asks for it; the shipped graph allows it
    assert yolox.network_size(1400, 512) == (416, 192)  # 416 x 152: rounded up to 160, one stride of padding more
    assert yolox.network_size(512, 512) == (416, 416) and yolox.network_size(300, 900) == (192, 416)
    with load_model("yolox_nano", load_manifests(), expect=ObjectDetector, rect=False) as square:
        assert square.network_size(1400, 512) == (416, 416)
        wide = _wide_scene()
        rect_found = yolox.detect(wide, min_score=0.1)
        square_found = square.detect(wide, min_score=0.2)
    assert sorted(d.label for d in rect_found if d.score >= 0.5) == ["cup", "dining table", "person"]
    assert sorted(d.label for d in square_found if d.score >= 0.5) == ["cup", "dining table", "person"]
    for d in square_found:  # each detection of the padded square input has its twin, scored alike
        twin = max((r for r in rect_found if r.label == d.label), key=lambda r: r.box.iou(d.box))
        assert twin.box.iou(d.box) > 0.9 and abs(twin.score - d.score) < 0.05


def test_rect_on_a_graph_with_a_fixed_input_is_refused_by_name(tmp_path):
    import hashlib

    import onnx
    import yaml

    shipped = load_manifests()["yolox_nano"]
    model = onnx.load(str(shipped.origin.parent.parent / "weights" / "yolox_nano.onnx"))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].dim_value, dims[3].dim_value = 416, 416
    (tmp_path / "fixed.onnx").write_bytes(model.SerializeToString())
    digest = hashlib.sha256((tmp_path / "fixed.onnx").read_bytes()).hexdigest()
    document = yaml.safe_load(shipped.origin.read_text(encoding="utf-8"))
    document.update(name="yolox_fixed", files=[{"role": "weights", "source": {"path": "fixed.onnx"},
                                                "sha256": digest}])
    (tmp_path / "yolox_fixed.yaml").write_text(yaml.safe_dump(document), encoding="utf-8")
    manifests = load_manifests([tmp_path])
    with pytest.raises(Exception, match="rect needs a graph whose input height and width are free"):
        load_model("yolox_fixed", manifests, expect=ObjectDetector)
    with load_model("yolox_fixed", manifests, expect=ObjectDetector, rect=False) as fixed:
        assert fixed.network_size(1400, 512) == (416, 416)
        assert any(d.label == "person" for d in fixed.detect(_wide_scene(), min_score=0.3))
