"""The perception cascade's gating with fake models (tests/vision/fakes.py): which model runs where and when, and
that results come back in frame pixels. Frames are solid numpy images with painted rectangles; the fake detector
"sees" the painted colours, so every crop the cascade cuts gives consistent boxes.

Geometry (640x360 frame, two windows side by side): w1's staff zone is x 32..320, y 36..216 px, w2's x 320..608.
With the default crop_margin 0.1 the w1 crop is x 3..349, y 18..234 (346x216 px), upscaled by 300/216 to the
default crop_min_px 300: crop pixel (x, y) is frame pixel (3 + 0.72 x, 18 + 0.72 y). The w2 crop is x 291..637.
"""
from __future__ import annotations

import numpy as np
import pytest

from models.base import (
    FaceDetector,
    FaceMesher,
    HandLandmarker,
    ImageClassifier,
    MarkerDetector,
    ObjectDetector,
    PoseEstimator,
    TextReader,
)
from models.errors import ModelError
from models.types import Box, Detection
from tests.vision.fakes import (
    CHAIR,
    CUP,
    LAPTOP,
    PERSON,
    PERSON_2,
    PERSON_3,
    UPRIGHT,
    WRIST_RAISED,
    FakeClassifier,
    FakeDetector,
    FakeMarker,
    FakePose,
    FakeTextReader,
    Painted,
    Sequenced,
    fake_models,
    frame,
    model_names,
    scene,
)
from vision.cascade import CascadeModels, CascadeSettings, PerceptionCascade
from vision.cues import PHONE_CLASSIFIER_LABEL
from vision.regions import WindowRegion

WINDOW_CROP = (300, 481, 3)  # shape of either window's crop as the detector receives it
STAFF_BOX = (75, 54, 147, 198)  # a seated staff person at w1 (frame pixels)


def _region(window_id: str, x1: float, x2: float, marker_id: int) -> WindowRegion:
    return WindowRegion(window_id, staff_zone=((x1, 0.1), (x2, 0.1), (x2, 0.6), (x1, 0.6)),
                        citizen_side=((x1, 0.7), (x2, 0.7), (x2, 1.0), (x1, 1.0)),
                        sign_region=((x2 - 0.2, 0.35), (x2 - 0.02, 0.35), (x2 - 0.02, 0.58), (x2 - 0.2, 0.58)),
                        marker_id=marker_id)


W1, W2 = _region("w1", 0.05, 0.5, 1), _region("w2", 0.5, 0.95, 2)


def _detector() -> FakeDetector:
    return FakeDetector(Painted({PERSON: ("person", 0.9), PERSON_2: ("person", 0.8), PERSON_3: ("person", 0.7),
                                 CUP: ("cup", 0.8), LAPTOP: ("laptop", 0.8)}))


def _cascade(regions=(W1,), *, naive: bool = False, **options):
    """A cascade on fake models (the Painted detector unless replaced): model fields by name, the rest settings."""
    fields = {name: options.pop(name) for name in list(options) if name in CascadeModels.__dataclass_fields__}
    models = fake_models(**{"detector": _detector(), **fields})
    return PerceptionCascade(models, regions, CascadeSettings(**options), naive=naive), models


def _crop_calls(detector: FakeDetector) -> int:
    return sum(1 for call in detector.calls if call.shape == WINDOW_CROP)


def test_the_fakes_are_runtimes_of_their_abcs() -> None:
    models = fake_models(text_reader=FakeTextReader(), phone_classifier=FakeClassifier())
    pairs = [(models.detector, ObjectDetector), (models.pose, PoseEstimator), (models.face_detector, FaceDetector),
             (models.face_mesh, FaceMesher), (models.hands, HandLandmarker), (models.marker, MarkerDetector),
             (models.text_reader, TextReader), (models.phone_classifier, ImageClassifier)]
    assert all(isinstance(fake, abc) and fake.task == fake.manifest.task for fake, abc in pairs)
    with pytest.raises(ValueError, match="uint8"):
        models.pose.estimate(np.zeros((10, 10, 3), np.float32))
    models.pose.close()
    with pytest.raises(ModelError, match="closed"):
        models.pose.estimate(np.zeros((10, 10, 3), np.uint8))


def test_a_still_window_waits_for_static_recheck_s_and_motion_wakes_only_its_window() -> None:
    cascade, models = _cascade((W1, W2), static_recheck_s=5.0)
    staff_w2 = ((400, 60, 470, 200), PERSON)
    still = scene(((60, 120, 120, 200), CHAIR), staff_w2)
    moved = scene(((140, 120, 200, 200), CHAIR), staff_w2)  # the chair in w1 moves; w2 stays still

    def observe(image, ts):
        observation = cascade.observe(frame(image, ts))
        return {m.window_id: m.analysed for m in observation.motion}, _crop_calls(models.detector), observation

    analysed, crops, first = observe(still, 0.0)
    assert analysed == {"w1": True, "w2": True} and crops == 2
    for ts in (1.0, 4.9):
        analysed, crops, reused = observe(still, ts)
        assert analysed == {"w1": False, "w2": False} and crops == 2
        assert "detector" not in model_names(reused.timings_ms) and "pose" not in model_names(reused.timings_ms)
        assert [m.score for m in reused.motion] == [0.0, 0.0]
        assert reused.persons == first.persons and reused.persons[0].pose is not None  # carried, not dropped
    analysed, crops, _ = observe(still, 5.0)  # static_recheck_s after the last analysis: a fresh look
    assert analysed == {"w1": True, "w2": True} and crops == 4
    analysed, crops, moving = observe(moved, 5.5)
    assert analysed == {"w1": True, "w2": False} and crops == 5
    assert moving.motion[0].score > 0.1 and moving.motion[1].score == 0.0
    analysed, crops, _ = observe(moved, 6.0)
    assert analysed == {"w1": False, "w2": False} and crops == 5
    assert models.pose.call_count == 2  # the w2 person at 0 s and 5 s only


def test_naive_runs_every_model_on_every_frame() -> None:
    image = scene((STAFF_BOX, PERSON))  # upright, nothing in hand: a lean cascade never looks at the hands
    counts = {}
    for naive in (False, True):
        cascade, models = _cascade((W1, W2), naive=naive, marker=FakeMarker())
        observations = [cascade.observe(frame(image, ts)) for ts in (0.0, 0.5, 1.0)]
        counts[naive] = (_crop_calls(models.detector), models.pose.call_count, models.face_detector.call_count,
                         models.hands.call_count, models.marker.call_count,
                         [m.analysed for o in observations for m in o.motion])
        assert [len(o.persons) for o in observations] == [1, 1, 1]
    # lean: one look per window, hands never, the sign only at w2 (nobody there) on each frame
    assert counts[False] == (2, 1, 1, 0, 3, [True, True, False, False, False, False])
    assert counts[True] == (6, 3, 3, 3, 6, [True] * 6)


def test_pose_and_face_run_only_for_people_in_the_staff_zone() -> None:
    # A wide crop (margin 0.5: x 0..464) also holds a bystander right of w1's staff zone (x > 320).
    cascade, models = _cascade((W1,), crop_margin=0.5, marker=FakeMarker([1]))
    observation = cascade.observe(frame(scene((STAFF_BOX, PERSON), ((360, 60, 420, 200), PERSON_2))))
    staff, bystander = sorted(observation.persons, key=lambda p: p.box.x1)
    assert staff.box.x1 == pytest.approx(75, abs=1.5) and bystander.box.x1 == pytest.approx(360, abs=1.5)
    assert staff.pose is not None and staff.face is not None and staff.eye_aspect_ratio == pytest.approx(0.3)
    assert bystander.pose is None and bystander.face is None and bystander.eye_aspect_ratio is None
    assert (models.pose.call_count, models.face_detector.call_count, models.face_mesh.call_count) == (1, 1, 1)
    alone = cascade.observe(frame(scene(((360, 60, 420, 200), PERSON_2)), 1.0))
    assert alone.sign("w1").checked and alone.sign("w1").marker_seen  # a bystander does not stop the sign check


def test_a_citizen_leaning_over_the_counter_is_not_staff_and_does_not_stop_the_sign_check() -> None:
    # Standing on w1's citizen side (feet at y 350) with the body up in the staff zone; the crop (margin 0.5: y
    # 0..306) cuts the box at its bottom edge, so its centre lies in the staff zone, its foot point on the citizen side.
    cascade, models = _cascade((W1,), crop_margin=0.5, marker=FakeMarker([1]))
    observation = cascade.observe(frame(scene(((100, 100, 200, 350), PERSON))))
    (citizen,) = observation.persons
    assert W1.contains("staff_zone", 640, 360, *citizen.box.center)
    assert W1.contains("citizen_side", 640, 360, *citizen.foot_point)
    assert citizen.pose is None and models.pose.call_count == 0  # no in-depth look: not staff
    assert observation.sign("w1").checked and observation.sign("w1").marker_seen


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_at_most_max_staff_per_window_are_analysed_in_depth(limit: int) -> None:
    cascade, models = _cascade((W1,), max_staff_per_window=limit)
    people = (((50, 60, 100, 200), PERSON_3), ((130, 60, 180, 200), PERSON), ((210, 60, 260, 200), PERSON_2))
    observation = cascade.observe(frame(scene(*people)))
    assert sorted(p.score for p in observation.persons) == [0.7, 0.8, 0.9]
    in_depth = sorted((p.score for p in observation.persons if p.pose is not None), reverse=True)
    assert in_depth == [0.9, 0.8, 0.7][:limit]  # the best scores first
    assert models.pose.call_count == models.face_detector.call_count == limit
    assert len(models.detector.calls) == 1 + limit  # the window crop, then around each analysed person's hands


@pytest.mark.parametrize("painted, layout, looked", [
    ((), UPRIGHT, False),
    ((((150, 150, 170, 175), CUP),), UPRIGHT, True),  # a cup beside the person
    ((((150, 150, 170, 175), LAPTOP),), UPRIGHT, False),  # not a hand-held object
    ((((270, 60, 300, 90), CUP),), UPRIGHT, False),  # a cup, but out of reach (beyond 1.4x the person box)
    ((), WRIST_RAISED, True),  # a wrist above the shoulders
    ((), None, False),  # no pose: nothing says the hands matter
], ids=["nothing", "cup-near", "laptop-near", "cup-far", "wrist-raised", "no-pose"])
def test_hands_run_only_when_a_hand_object_is_near_or_a_wrist_is_raised(painted, layout, looked) -> None:
    cascade, models = _cascade((W1,), pose=FakePose(layout))
    observation = cascade.observe(frame(scene((STAFF_BOX, PERSON), *painted)))
    (person,) = observation.persons
    assert models.hands.call_count == (1 if looked else 0)
    assert len(person.hands) == (1 if looked else 0)
    if looked:  # the hand comes back from the body crop into frame pixels, over the person
        hand = person.hands[0].box
        assert Box(*STAFF_BOX).expand(1.2).contains(*hand.center)
        assert 90 < hand.center[0] < 105 and 150 < hand.center[1] < 165  # (0.3, 0.7) of the body crop


def test_the_phone_classifier_runs_only_where_the_hands_were_looked_at() -> None:
    for layout, crops in ((UPRIGHT, 0), (WRIST_RAISED, 2)):
        classifier = FakeClassifier({487: 0.04, 1: 0.5})
        cascade, models = _cascade((W1,), pose=FakePose(layout), phone_classifier=classifier)
        observation = cascade.observe(frame(scene((STAFF_BOX, PERSON))))
        assert models.hands.call_count == (1 if crops else 0)
        # one crop around the fake hand and one beyond the other wrist (the wrist at the hand is in the hand's crop)
        assert classifier.call_count == crops
        phones = [o for o in observation.objects if o.label == PHONE_CLASSIFIER_LABEL]
        assert [p.score for p in phones] == [pytest.approx(0.6)] * crops  # 0.04 x gain 15
        assert all(call.options == {"top_k": 1000} for call in classifier.calls)


def test_the_sign_is_checked_only_while_nobody_is_in_the_staff_zone() -> None:
    text = FakeTextReader()
    cascade, models = _cascade((W1, W2), marker=FakeMarker([1, 2]), text_reader=text)
    staffed = cascade.observe(frame(scene((STAFF_BOX, PERSON)), 0.0))
    assert staffed.sign("w1").checked is False and staffed.sign("w1").marker_seen is False
    w2 = staffed.sign("w2")
    assert (w2.checked, w2.marker_seen, w2.text_confirmed) == (True, True, True)
    assert "sign" in model_names(staffed.timings_ms)
    assert models.marker.call_count == 1 and text.call_count == 1
    empty = cascade.observe(frame(scene(), 1.0))
    assert [(s.window_id, s.checked, s.visible) for s in empty.signs] == [("w1", True, True), ("w2", True, True)]
    assert models.marker.call_count == 3
    assert text.call_count == 2  # w1 read now; w2's text is carried within ocr_interval_s


def test_a_person_in_two_overlapping_crops_is_reported_once_at_their_window() -> None:
    cascade, models = _cascade((W1, W2))
    # x 300..360: inside w2's zone (centre 330 > 320), reaching into w1's crop (x 3..349), which cuts them at 349
    observation = cascade.observe(frame(scene(((300, 60, 360, 200), PERSON))))
    found_in = [call for call in models.detector.calls if call.shape == WINDOW_CROP
                and any(d.label == "person" for d in call.result)]
    assert len(found_in) == 2  # both window crops saw them
    (person,) = observation.persons
    assert person.window_id == "w2" and person.pose is not None
    assert (person.box.x1, person.box.y1, person.box.x2, person.box.y2) == pytest.approx((300, 60, 360, 200), abs=1.5)
    assert models.pose.call_count == 1  # analysed at w2 only: their box centre is outside w1's zone
    assert observation.persons_in("w1") == () and not observation.sign("w2").checked
    assert observation.sign("w1").checked


def test_crop_results_are_mapped_back_to_frame_pixels() -> None:
    # First detector call: the w1 window crop (origin (3, 18), 300/216 upscaled); later calls find nothing.
    detector = FakeDetector(Sequenced([Detection("person", 0, 0.9, Box(100, 50, 200, 250)),
                                       Detection("cup", 1, 0.8, Box(300, 200, 340, 240))]))
    pose = FakePose({"nose": (128.0, 64.0), "left_wrist": (200.0, 400.0)}, relative=False)
    cascade, models = _cascade((W1,), detector=detector, pose=pose)
    observation = cascade.observe(frame(scene()))
    # the window crop, then the hands and desk: x 46..176, y 126..242, upscaled 300/116
    assert [call.shape for call in detector.calls] == [WINDOW_CROP, (300, 336, 3)]
    (person,) = observation.persons
    assert (person.box.x1, person.box.y1, person.box.x2, person.box.y2) == pytest.approx((75, 54, 147, 198))
    (cup,) = observation.objects
    assert cup.label == "cup"
    assert (cup.box.x1, cup.box.y1, cup.box.x2, cup.box.y2) == pytest.approx((219, 162, 247.8, 190.8))
    # The pose ran on the person box grown by 10% (x 67..155, y 39..213), upscaled 256/88 to 256 px wide.
    assert models.pose.calls[0].shape == (506, 256, 3)
    nose, wrist = person.pose.get("nose"), person.pose.get("left_wrist")
    assert (nose.x, nose.y) == pytest.approx((111.0, 61.0))
    assert (wrist.x, wrist.y) == pytest.approx((135.75, 176.5))


def test_without_regions_the_whole_frame_is_one_upscaled_area() -> None:
    detector = FakeDetector(Sequenced([Detection("person", 0, 0.9, Box(40, 60, 120, 260))]))
    cascade, models = _cascade((), detector=detector)
    observation = cascade.observe(frame(scene(width=200, height=150)))
    assert detector.calls[0].shape == (300, 400, 3)  # 200x150 doubled to the 300 px minimum
    (person,) = observation.persons
    assert person.window_id is None and person.pose is not None  # no staff zone: everyone is analysed
    assert (person.box.x1, person.box.y1, person.box.x2, person.box.y2) == pytest.approx((20, 30, 60, 130))
    assert observation.signs == () and observation.motion == () and models.marker.call_count == 0
