"""The labelling queue's samples are cut for their window exactly as evidence is (framing.window_image).

On the demo scene one camera sees two staffed windows, a citizen on w01's citizen side and a visitor between the
zones (real faces, the astronaut's head). The runner's FrameSampler stores a sample of each window: w01's sample must
show w01's staff member, never w02's (their zone masked where the crop takes it in, their face nowhere) nor the
citizen side, and carry where it was cut from the frame, so that the dataset export frames it again the same way
and gives its boxes in the stored image's pixels. A whole-frame sample stored before samples were cut is cut on
export. Faces are found by normalised cross-correlation, as in test_window_evidence.py.
"""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from counterwatch.dataset.annotate import Annotator, cropped_annotation
from counterwatch.dataset.format import Annotation, DetectedObject
from counterwatch.dataset.sample_geometry import SampleGeometry, geometry_of, read_geometry, with_geometry
from counterwatch.incidents.framing import evidence_view
from counterwatch.incidents.media import encode_snapshot
from counterwatch.incidents.privacy import MASK_BGR, citizen_polygons_mask, mask_frame
from counterwatch.learning.sampling import FrameSampler
from tests.incidents.conftest import CAMERA, CITIZEN_FACE, staff_face_box, staff_observation
from tests.rules.helpers import at, person

SNAPSHOT_TOLERANCE = 2  # a masked area decodes within 2 levels of MASK_BGR (JPEG, whole codec blocks)
SHOWN, NOT_SHOWN = 0.9, 0.6
WIDTH, HEIGHT = 1280, 720


def face_score(image: np.ndarray, patch: np.ndarray) -> float:
    if image.shape[0] < patch.shape[0] or image.shape[1] < patch.shape[1]:
        return -1.0
    return float(cv2.matchTemplate(image, patch, cv2.TM_CCOEFF_NORMED).max())


def mask_error(image: np.ndarray, where: np.ndarray) -> int:
    return int(np.abs(image[where].astype(np.int16) - np.array(MASK_BGR, np.int16)).max())


def in_crop(frame_mask: np.ndarray, crop: tuple[int, int, int, int]) -> np.ndarray:
    x1, y1, x2, y2 = crop
    return frame_mask[y1:y2, x1:x2]


@pytest.fixture(scope="module")
def raw(scene) -> np.ndarray:
    return scene.image(0)


@pytest.fixture(scope="module")
def faces(raw):
    return {window_id: raw[y1:y2, x1:x2].copy()
            for window_id in ("w01", "w02") for x1, y1, x2, y2 in [staff_face_box(window_id)]}


@pytest.fixture(scope="module")
def stored(tmp_path_factory, demo_config, regions, face_detector, scene):
    """The samples FrameSampler stores of one frame, for both windows: window id -> (image, file bytes)."""
    data_dir = tmp_path_factory.mktemp("data")
    sampler = FrameSampler(demo_config, CAMERA, regions, face_detector, data_dir)
    frame = scene.frame(0, jitter=0.0)
    states = [at(0.0, window=w, camera=CAMERA, staff=[person(phone=0.2)]) for w in ("w01", "w02")]
    assert sampler.offer(frame, states, staff_observation(frame)) == ()
    samples = {s.window_id: s for s in sampler.close()}
    assert set(samples) == {"w01", "w02"}
    out = {}
    for window_id, sample in samples.items():
        path = data_dir / sample.path
        out[window_id] = (cv2.imread(str(path), cv2.IMREAD_COLOR), path.read_bytes())
    return out


def test_a_w01_sample_does_not_show_w02s_staff_member_nor_the_citizens(stored, regions, raw, faces) -> None:
    image, _ = stored["w01"]
    # What the old whole-frame masking (privacy.mask_frame) kept: w02's staff member, whole.
    assert face_score(raw, faces["w02"]) > SHOWN
    assert face_score(mask_frame(raw, regions, _NoFaces()), faces["w02"]) > SHOWN
    assert face_score(image, faces["w02"]) < NOT_SHOWN  # the w01 sample does not show them
    assert face_score(image, faces["w01"]) > SHOWN  # it does show w01's staff member, unblurred

    view = evidence_view(regions, "w01", WIDTH, HEIGHT)
    x1, y1, x2, y2 = view.crop
    assert image.shape[:2] == (y2 - y1, x2 - x1)  # cut as w01's evidence is
    w02_zone = in_crop(regions[1].mask("staff_zone", WIDTH, HEIGHT) > 0, view.crop)
    assert regions[1].window_id == "w02" and w02_zone.any()  # the crop takes in a strip of w02's zone...
    assert np.abs(raw[y1:y2, x1:x2][w02_zone].astype(int) - MASK_BGR).max() > 50  # ...with content there...
    assert mask_error(image, w02_zone) <= SNAPSHOT_TOLERANCE  # ...masked in the sample
    citizens = in_crop(citizen_polygons_mask(regions, WIDTH, HEIGHT), view.crop)
    assert citizens.any() and mask_error(image, citizens) <= SNAPSHOT_TOLERANCE
    cx1, cy1, cx2, cy2 = CITIZEN_FACE
    assert cy1 >= y1 and cx1 >= x1  # the citizen's face lies in the crop, masked with the citizen side
    assert mask_error(image, in_crop(_box_mask(CITIZEN_FACE), view.crop)) <= SNAPSHOT_TOLERANCE


def test_a_w02_sample_is_cut_for_w02_with_w01s_zone_masked(stored, regions, faces) -> None:
    image, data = stored["w02"]
    view = evidence_view(regions, "w02", WIDTH, HEIGHT)
    assert geometry_of(data) == SampleGeometry("w02", (WIDTH, HEIGHT), view.crop)
    assert face_score(image, faces["w02"]) > SHOWN and face_score(image, faces["w01"]) < NOT_SHOWN
    w01_zone = in_crop(regions[0].mask("staff_zone", WIDTH, HEIGHT) > 0, view.crop)
    assert w01_zone.any() and mask_error(image, w01_zone) <= SNAPSHOT_TOLERANCE


def test_the_sample_carries_where_it_was_cut_and_decodes_as_before(stored, regions, tmp_path) -> None:
    image, data = stored["w01"]
    geometry = geometry_of(data)
    assert geometry == SampleGeometry("w01", (WIDTH, HEIGHT), evidence_view(regions, "w01", WIDTH, HEIGHT).crop)
    assert geometry.size == (image.shape[1], image.shape[0]) and geometry.origin == (-geometry.crop[0],
                                                                                     -geometry.crop[1])
    assert data[:4] == b"\xff\xd8\xff\xe0"  # JFIF's header stays first; decoders skip the comment
    plain = encode_snapshot(image)
    assert geometry_of(plain) is None  # a whole frame stored before samples were cut has none
    again = with_geometry(plain, geometry)
    assert geometry_of(again) == geometry
    assert np.array_equal(cv2.imdecode(np.frombuffer(again, np.uint8), cv2.IMREAD_COLOR),
                          cv2.imdecode(np.frombuffer(plain, np.uint8), cv2.IMREAD_COLOR))
    (tmp_path / "s.jpg").write_bytes(again)
    assert read_geometry(tmp_path / "s.jpg") == geometry


def test_export_frames_samples_again_and_cuts_old_whole_frame_ones(stored, demo_config, raw, regions,
                                                                   faces) -> None:
    view = evidence_view(regions, "w01", WIDTH, HEIGHT)
    w02_zone = in_crop(regions[1].mask("staff_zone", WIDTH, HEIGHT) > 0, view.crop)
    image, data = stored["w01"]
    with Annotator(demo_config, detect=False) as annotator:
        # A cut sample is framed again the same way: same crop, the masks still in place (idempotent).
        again, geometry = annotator.frame(image, CAMERA, "w01", geometry_of(data))
        assert geometry == geometry_of(data) and again.shape == image.shape
        assert mask_error(again, w02_zone) == 0
        assert np.abs(again.astype(int) - image.astype(int)).max() <= SNAPSHOT_TOLERANCE
        # A whole frame (old sample, masked with privacy.mask_frame) is cut now: w02's staff member goes.
        old = mask_frame(raw, regions, _NoFaces())
        cut, geometry = annotator.frame(old, CAMERA, "w01", None)
        assert geometry == SampleGeometry("w01", (WIDTH, HEIGHT), view.crop)
        assert face_score(cut, faces["w02"]) < NOT_SHOWN and mask_error(cut, w02_zone) == 0


def test_the_offline_cascade_boxes_a_cut_sample_in_its_own_pixels(stored, demo_config) -> None:
    from counterwatch.demo_scene import PERSON_BOX, SIZE, WINDOW_OFFSETS

    image, data = stored["w02"]
    geometry = geometry_of(data)
    assert geometry.crop[0] > 0  # w02's crop does not start at the frame's origin: the boxes must be moved
    with Annotator(demo_config, detect=True) as annotator:
        found = annotator.annotate(image, CAMERA, "w02", geometry=geometry)
    assert found.person_box is not None
    x1, y1, x2, y2 = found.person_box
    assert 0 <= x1 < x2 <= image.shape[1] and 0 <= y1 < y2 <= image.shape[0]
    # w02's staff member as pasted in the frame, moved into the sample's pixels.
    sx1 = (PERSON_BOX[0] + WINDOW_OFFSETS["w02"]) * SIZE[0] - geometry.crop[0]
    sx2 = (PERSON_BOX[2] + WINDOW_OFFSETS["w02"]) * SIZE[0] - geometry.crop[0]
    overlap = max(0.0, min(x2, sx2) - max(x1, sx1)) / (sx2 - sx1)
    assert overlap > 0.6, (found.person_box, (sx1, sx2))
    assert all(0 <= v <= image.shape[1] for box in found.hand_boxes for v in box[::2])


def test_boxes_of_a_sample_are_in_its_own_pixels() -> None:
    geometry = SampleGeometry("w01", (WIDTH, HEIGHT), (0, 0, 640, 512))
    shifted = cropped_annotation(Annotation(person_box=(100.0, 50.0, 300.0, 400.0), hand_boxes=((600.0, 300.0,
                                            700.0, 380.0),), objects=(DetectedObject("cup", 0.8, (700, 10, 800, 90)),
                                                                      DetectedObject("cell phone", 0.6,
                                                                                     (620, 490, 660, 530)))),
                                 geometry)
    assert shifted.person_box == (100.0, 50.0, 300.0, 400.0)
    assert shifted.hand_boxes == ((600.0, 300.0, 640.0, 380.0),)  # clipped to the crop
    assert shifted.objects == (DetectedObject("cell phone", 0.6, (620.0, 490.0, 640.0, 512.0)),)  # the cup is out
    moved = cropped_annotation(Annotation(person_box=(700.0, 100.0, 900.0, 500.0)),
                               SampleGeometry("w02", (WIDTH, HEIGHT), (640, 0, 1280, 512)))
    assert moved.person_box == (60.0, 100.0, 260.0, 500.0)


class _NoFaces:
    def detect(self, image):
        return ()


def _box_mask(box: tuple[int, int, int, int]) -> np.ndarray:
    out = np.zeros((HEIGHT, WIDTH), dtype=bool)
    x1, y1, x2, y2 = box
    out[y1:y2, x1:x2] = True
    return out
