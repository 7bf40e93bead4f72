"""The labelling queue's frame sampler: uncertainty, the model's scores of a window, and FrameSampler over scripted
window states with real rendered frames (the demo scene, a real face on the citizen side) and a fake clock."""
from __future__ import annotations

from datetime import timedelta

import cv2
import numpy as np
import pytest

from cameras.frame import Frame
from counterwatch.config import HallConfig
from counterwatch.dataset.sample_geometry import read_geometry
from counterwatch.incidents.framing import evidence_view
from counterwatch.incidents.privacy import MASK_BGR, citizen_polygons_mask
from counterwatch.learning.sampling import FrameSampler, SampledFrame, scores_for, uncertainty
from counterwatch.perception import regions_for
from tests.rules.helpers import ORIGIN, at, person

SNAPSHOT_TOLERANCE = 2  # as the evidence tests: a masked area decodes within 2 levels of MASK_BGR
CITIZEN_FACE = (200, 560, 290, 655)  # on w01's citizen side (y >= 0.74 of 720)
MARK = (8, 8, 48, 48)  # a flat patch outside every zone whose level tells the frames apart


# ---- uncertainty -------------------------------------------------------------------------------------------------

def test_uncertainty_is_one_at_the_threshold_and_falls_to_zero_at_certainty() -> None:
    assert uncertainty([("phone_use", 0.3, 0.3)]) == 1.0
    assert uncertainty([("phone_use", 0.0, 0.3)]) == 0.0  # certain no
    assert uncertainty([("phone_use", 1.0, 0.3)]) == 0.0  # certain yes
    # Below the threshold the room is t, above it 1 - t.
    assert uncertainty([("phone_use", 0.15, 0.3)]) == pytest.approx(0.5)
    assert uncertainty([("phone_use", 0.65, 0.3)]) == pytest.approx(0.5)
    assert uncertainty([("sleeping", 0.9, 0.5)]) == pytest.approx(0.2)
    assert uncertainty([("sleeping", 0.1, 0.5)]) == pytest.approx(0.2)
    assert uncertainty([]) == 0.0


def test_uncertainty_guards_thresholds_at_the_ends_and_takes_the_least_sure_behaviour() -> None:
    assert uncertainty([("x", 1.0, 1.0)]) == 1.0 and uncertainty([("x", 0.4, 1.0)]) == pytest.approx(0.4)
    assert uncertainty([("x", 0.0, 0.0)]) == 1.0 and uncertainty([("x", 0.4, 0.0)]) == pytest.approx(0.6)
    assert uncertainty([("phone_use", 0.0, 0.3), ("sleeping", 0.45, 0.5)]) == pytest.approx(0.9)
    # Ordering: nearer the threshold is more uncertain, on either side.
    ordered = [uncertainty([("b", p, 0.4)]) for p in (0.0, 0.1, 0.3, 0.4)]
    assert ordered == sorted(ordered) and len(set(ordered)) == 4
    ordered = [uncertainty([("b", p, 0.4)]) for p in (1.0, 0.8, 0.5, 0.4)]
    assert ordered == sorted(ordered) and len(set(ordered)) == 4
    assert all(0.0 <= uncertainty([("b", p / 10, t / 10)]) <= 1.0 for p in range(11) for t in range(11))


def test_scores_are_the_heads_plus_the_phone_cue_against_the_rule_threshold(demo_config: HallConfig) -> None:
    threshold = demo_config.rules.phone_use.min_score
    assert scores_for(at(0.0), demo_config) == ()  # nobody at the post
    plain = at(0.0, staff=[person(phone=0.2)])
    assert scores_for(plain, demo_config) == (("phone_use", 0.2, threshold),)
    headed = at(0.0, staff=[person(phone=0.2, head=(("sleeping", 0.4, 0.5),)), person(2, phone=0.9)])
    assert scores_for(headed, demo_config) == (("sleeping", 0.4, 0.5), ("phone_use", 0.2, threshold))
    phone_head = at(0.0, staff=[person(phone=0.2, head=(("phone_use", 0.7, 0.6),))])
    assert scores_for(phone_head, demo_config) == (("phone_use", 0.7, 0.6),)  # the head replaces the cue


# ---- FrameSampler ------------------------------------------------------------------------------------------------

def _config(demo_config: HallConfig, rate: float) -> HallConfig:
    return demo_config.model_copy(update={"learning": demo_config.learning.model_copy(
        update={"sample_frames_per_hour": rate})})


@pytest.fixture(scope="module")
def scene(demo_config, astronaut_bgr) -> np.ndarray:
    from counterwatch.demo_scene import WINDOW_OFFSETS, SceneRenderer

    image = SceneRenderer({}).frame(frozenset(WINDOW_OFFSETS), frozenset(), np.random.default_rng(0))
    x1, y1, x2, y2 = CITIZEN_FACE
    image[y1:y2, x1:x2] = cv2.resize(astronaut_bgr[20:220, 130:320], (x2 - x1, y2 - y1))
    return image


def _frame(scene: np.ndarray, second: int) -> Frame:
    image = scene.copy()
    x1, y1, x2, y2 = MARK
    image[y1:y2, x1:x2] = 5 * second
    return Frame("cam-demo", second, float(second), ORIGIN + timedelta(seconds=second), image)


def _mark_level(image: np.ndarray) -> float:
    x1, y1, x2, y2 = MARK
    return float(image[y1 + 8:y2 - 8, x1 + 8:x2 - 8].mean())


# (second, state fields) for window w01; the interval is 10 s (360 per hour) and ORIGIN is on the 10 s grid.
THRESHOLD = 0.3  # the demo config's phone_use.min_score


def _script() -> dict[int, dict]:
    off, busy = dict(on_schedule=False), [person(phone=THRESHOLD)]  # `busy`: exactly at the threshold, the most unsure
    script = {
        # interval 0: the unsure frames are off schedule, paused or unstaffed; the best eligible one is second 5
        0: dict(staff=busy, **off), 1: dict(staff=busy, paused="sign"), 2: dict(staff=busy, paused="queue"),
        3: dict(), 4: dict(staff=[person(phone=0.1)]), 5: dict(staff=[person(phone=0.25)]),
        6: dict(staff=[person(phone=0.25)]),  # as unsure as second 5, later: the earliest one stays
        7: dict(staff=[person(phone=0.9)]), 8: dict(staff=[person(phone=0.0)]), 9: dict(staff=[person()]),
        # interval 1: nothing in service
        **{s: dict(staff=busy, **off) for s in range(10, 15)}, **{s: dict(staff=busy, paused="schedule")
                                                                     for s in range(15, 20)},
        # interval 2: a head near its threshold makes second 21 the most unsure
        20: dict(staff=[person(phone=0.5)]), 21: dict(staff=[person(head=(("sleeping", 0.45, 0.5),))]),
        22: dict(staff=[person(phone=0.05)]), 25: dict(staff=[person(phone=0.6)]),
        # interval 3: second 30 ends interval 2; second 31 is pending when the sampler closes
        30: dict(), 31: dict(staff=[person(phone=0.2)]),
    }
    return script


def test_one_most_uncertain_in_service_frame_per_interval_is_stored_masked(demo_config, scene, loaded_models,
                                                                           tmp_path) -> None:
    config = _config(demo_config, 360.0)
    camera = config.cameras[0]
    regions = regions_for(config, camera)
    sampler = FrameSampler(config, camera.id, regions, loaded_models.cascade_models.face_detector, tmp_path)
    assert sampler.interval_s == 10.0
    returned: dict[int, tuple[SampledFrame, ...]] = {}
    for second, fields in sorted(_script().items()):
        frame = _frame(scene, second)
        state = at(float(second), window="w01", camera=camera.id, index=second, **fields)
        assert state.wall_time == frame.wall_time
        returned[second] = sampler.offer(frame, [state])
        assert len(sampler.pending_windows) <= 1
    stored = {second: samples for second, samples in returned.items() if samples}
    assert set(stored) == {10, 30}  # interval 0 ends at second 10, interval 2 at 30; interval 1 had no candidate
    closing = sampler.close()
    assert sampler.pending_windows == () and sampler.close() == ()
    samples = [*stored[10], *stored[30], *closing]
    assert [s.captured_at for s in samples] == [ORIGIN + timedelta(seconds=s) for s in (5, 21, 31)]
    assert [s.uncertainty for s in samples] == pytest.approx([1 - 0.05 / 0.3, 0.9, 1 - 0.1 / 0.3])
    assert samples[1].scores == (("sleeping", 0.45, 0.5), ("phone_use", 0.0, THRESHOLD))
    assert all(s.camera_id == camera.id and s.window_id == "w01" for s in samples)

    files = sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.jpg"))
    assert files == sorted(s.path for s in samples)
    assert samples[0].path == "samples/cam-demo/w01/20260302T010005000000Z.jpg"
    # Each sample is w01's window cut as its evidence is (tests/incidents/test_sample_framing.py checks the masks);
    # here the crop starts at the frame's origin, so frame pixels and sample pixels coincide.
    x1, y1, x2, y2 = evidence_view(regions, "w01", scene.shape[1], scene.shape[0]).crop
    assert (x1, y1) == (0, 0)
    polygon = citizen_polygons_mask(regions, scene.shape[1], scene.shape[0])[y1:y2, x1:x2]
    assert np.abs(scene[y1:y2, x1:x2][polygon].astype(int) - MASK_BGR).max() > 50  # the raw frame has content there
    for sample, second in zip(samples, (5, 21, 31), strict=True):
        image = cv2.imread(str(tmp_path / sample.path), cv2.IMREAD_COLOR)
        assert image is not None and image.shape == (y2 - y1, x2 - x1, 3)
        assert read_geometry(tmp_path / sample.path).crop == (x1, y1, x2, y2)
        assert np.abs(image[polygon].astype(int) - MASK_BGR).max() <= SNAPSHOT_TOLERANCE
        assert abs(_mark_level(image) - 5 * second) <= 2  # the stored frame is that second's frame
        staff = image[100:400, 100:500].astype(int)  # outside the mask the picture is kept
        assert np.abs(staff - scene[100:400, 100:500].astype(int)).mean() < 5


def test_windows_are_sampled_separately_and_a_clock_step_back_ends_the_interval(demo_config, scene, loaded_models,
                                                                                tmp_path) -> None:
    config = _config(demo_config, 360.0)
    camera = config.cameras[0]
    sampler = FrameSampler(config, camera.id, regions_for(config, camera),
                           loaded_models.cascade_models.face_detector, tmp_path)
    first = sampler.offer(_frame(scene, 3), [at(3.0, window="w01", staff=[person(phone=0.2)]),
                                             at(3.0, window="w02", staff=[person(phone=0.1)])])
    assert first == () and sampler.pending_windows == ("w01", "w02")
    # The wall clock stepped back into an earlier interval: what was pending is final and stored.
    back = Frame("cam-demo", 4, 4.0, ORIGIN - timedelta(seconds=30), scene)
    stored = sampler.offer(back, [at(4.0, window="w01", origin=ORIGIN - timedelta(seconds=34)),
                                  at(4.0, window="w02", origin=ORIGIN - timedelta(seconds=34))])
    assert sorted(s.window_id for s in stored) == ["w01", "w02"] and sampler.pending_windows == ()
    assert {s.path.split("/")[2] for s in stored} == {"w01", "w02"}


def test_sampler_needs_a_positive_rate_and_a_face_detector(demo_config, loaded_models, tmp_path) -> None:
    camera = demo_config.cameras[0]
    regions = regions_for(demo_config, camera)
    with pytest.raises(ValueError, match="learning.sample_frames_per_hour"):
        FrameSampler(_config(demo_config, 0.0), camera.id, regions, loaded_models.cascade_models.face_detector,
                     tmp_path)
    with pytest.raises(ValueError, match="face detector"):
        FrameSampler(_config(demo_config, 60.0), camera.id, regions, None, tmp_path)
