"""The look schedule (vision/look_schedule.py) in the cascade, with fake models: between full looks at a window only
the person detector runs, people are confirmed by the last look's second detector and carry its pose and face, and
a newcomer, a raised wrist or a hand-held object appearing bring the next look forward. Geometry as in
test_cascade_gating.py: w1's staff zone is x 32..320, y 36..216 of a 640x360 frame."""
from __future__ import annotations

import pytest

from models.types import Box, Detection
from tests.vision.fakes import (
    CUP,
    PERSON,
    PERSON_2,
    UPRIGHT,
    WRIST_RAISED,
    FakeDetector,
    FakePose,
    Painted,
    fake_models,
    frame,
    model_names,
    scene,
)
from vision.cascade import CascadeSettings, PerceptionCascade
from vision.look_schedule import Look, LookSchedule, carry, follow, match
from vision.observation import Person
from vision.regions import WindowRegion

W1 = WindowRegion("w1", staff_zone=((0.05, 0.1), (0.5, 0.1), (0.5, 0.6), (0.05, 0.6)),
                  citizen_side=((0.05, 0.7), (0.5, 0.7), (0.5, 1.0), (0.05, 1.0)),
                  sign_region=((0.3, 0.35), (0.48, 0.35), (0.48, 0.58), (0.3, 0.58)), marker_id=1)


def _cascade(pose_layout=UPRIGHT, **options) -> tuple[PerceptionCascade, object]:
    """Two detectors as in a hall (person_detector + detector); motion_threshold 0 so every frame is analysed and
    only the look schedule decides what runs. The idle interval is the look interval unless a test sets it."""
    options.setdefault("idle_look_interval_s", options.get("look_interval_s", 1.0))
    colours = {PERSON: ("person", 0.9), PERSON_2: ("person", 0.8), CUP: ("cup", 0.8)}
    models = fake_models(person_detector=FakeDetector(Painted(colours), name="person"),
                         detector=FakeDetector(Painted(colours)), pose=FakePose(pose_layout))
    settings = CascadeSettings(motion_threshold=0.0, **options)
    return PerceptionCascade(models, (W1,), settings), models


def _staff(dx: int = 0):
    return ((75 + dx, 54, 147 + dx, 198), PERSON)


def _run(cascade, images_and_ts):
    return [cascade.observe(frame(image, ts, index)) for index, (image, ts) in enumerate(images_and_ts)]


def test_between_looks_only_the_person_detector_runs_and_the_last_look_carries_over() -> None:
    cascade, models = _cascade()
    # The person moves 2 px a frame (every frame is analysed) at 2 fps: a look at 0 s and 1 s, not at 0.5 s.
    observations = _run(cascade, [(scene(_staff(2 * i)), 0.5 * i) for i in range(3)])
    names = [model_names(o.timings_ms) for o in observations]
    assert "detector" in names[0] and "pose" in names[0] and "face_detector" in names[0]
    assert names[1] == ["person_detector"]
    # The next look (1 s): pose again, but the person stays confirmed: the object detector waits for confirm_interval_s
    assert "pose" in names[2] and "detector" not in names[2]
    assert [m.looked for o in observations for m in o.motion] == [True, False, True]
    assert [m.analysed for o in observations for m in o.motion] == [True, True, True]
    first, between = observations[0].persons[0], observations[1].persons[0]
    # The same person, confirmed by the carried second-detector box (geometric mean 0.9, not 0.9 x 0.5) ...
    assert between.score == pytest.approx(first.score) and between.score > 0.8
    # ... with the look's pose and face moved as the box moved, and the look's eye and head measurements.
    assert between.pose is not None and first.pose is not None
    shift = between.box.center[0] - first.box.center[0]
    assert 1.0 < shift < 3.0
    assert between.pose.get("nose").x == pytest.approx(first.pose.get("nose").x + shift, abs=0.01)
    assert between.face is not None and between.eye_aspect_ratio == first.eye_aspect_ratio
    assert models.pose.call_count == 2


def test_look_interval_zero_looks_on_every_frame() -> None:
    cascade, models = _cascade(look_interval_s=0.0)
    observations = _run(cascade, [(scene(_staff(2 * i)), 0.5 * i) for i in range(3)])
    assert [m.looked for o in observations for m in o.motion] == [True, True, True]
    assert models.pose.call_count == 3


def test_a_newcomer_brings_the_look_forward() -> None:
    cascade, models = _cascade()
    visitor = ((200, 60, 260, 200), PERSON_2)  # a second person in w1's staff zone
    observations = _run(cascade, [(scene(_staff()), 0.0), (scene(_staff(2), visitor), 0.5),
                                  (scene(_staff(4), visitor), 0.75)])
    assert [m.looked for o in observations for m in o.motion] == [True, True, False]
    assert len(observations[2].persons) == 2 and all(p.pose is not None for p in observations[2].persons)


def test_a_raised_wrist_keeps_looking_on_every_frame() -> None:
    cascade, models = _cascade(pose_layout=WRIST_RAISED)
    observations = _run(cascade, [(scene(_staff(2 * i)), 0.5 * i) for i in range(4)])
    assert [m.looked for o in observations for m in o.motion] == [True, True, True, True]
    assert models.hands.call_count == 4  # a raised wrist makes the hands matter on every look


def test_a_hand_held_object_appearing_is_confirmed_on_the_next_frame_then_the_interval_holds() -> None:
    cascade, models = _cascade()
    cup = ((150, 150, 170, 170), CUP)  # beside the person's hands
    frames = [(scene(_staff()), 0.0), (scene(_staff(2), cup), 1.0), (scene(_staff(4), cup), 1.5),
              (scene(_staff(6), cup), 2.0), (scene(_staff(8), cup), 2.5)]
    observations = _run(cascade, frames)
    assert [m.looked for o in observations for m in o.motion] == [True, True, True, False, True]
    # Between looks the cup found at the last look is still reported.
    assert any(d.label == "cup" for d in observations[3].objects)


def test_the_schedule_unit() -> None:
    schedule = LookSchedule(1.0)
    assert schedule.due("w", 0.0, [])  # never looked
    with pytest.raises(ValueError):
        LookSchedule(-1.0)
    person = Person(Box(0, 0, 10, 20), 0.9)
    moved = Person(Box(1, 0, 11, 20), 0.8)
    assert match([person], moved.box) is person and match([person], Box(50, 50, 60, 70)) is None
    carried = carry(person, moved)
    assert carried.box == moved.box and carried.score == 0.8


def _detector_runs(observations) -> list[bool]:
    return ["detector" in model_names(o.timings_ms) for o in observations]


def test_the_object_detector_confirms_at_most_every_confirm_interval_and_its_boxes_follow_the_person() -> None:
    cascade, _ = _cascade(confirm_interval_s=5.0)
    # The person walks 10 px a frame for 6 s: after 3 s they are far from where the object detector last saw them.
    observations = _run(cascade, [(scene(_staff(10 * i)), 0.5 * i) for i in range(13)])
    assert _detector_runs(observations) == [True] + [False] * 9 + [True] + [False] * 2
    # Confirmed all along (geometric mean 0.9), though the first confirmation's box is 100 px behind at 5 s.
    assert all(o.persons and o.persons[0].score > 0.8 for o in observations)


def test_someone_not_yet_confirmed_brings_the_object_detector_in_at_the_next_look() -> None:
    cascade, _ = _cascade(confirm_interval_s=60.0)
    visitor = ((200, 60, 260, 200), PERSON_2)
    observations = _run(cascade, [(scene(_staff()), 0.0), (scene(_staff(2)), 1.0),
                                  (scene(_staff(4), visitor), 2.0), (scene(_staff(6), visitor), 3.0)])
    assert _detector_runs(observations) == [True, False, True, False]
    assert len(observations[3].persons) == 2 and all(p.score > 0.7 for p in observations[3].persons)


def test_confirm_interval_zero_runs_the_object_detector_at_every_look() -> None:
    cascade, _ = _cascade(confirm_interval_s=0.0)
    observations = _run(cascade, [(scene(_staff(2 * i)), 0.5 * i) for i in range(5)])
    assert _detector_runs(observations) == [True, False, True, False, True]


def test_follow_pairs_each_box_with_its_best_match_one_to_one() -> None:
    a, b = Detection("person", 0, 0.9, Box(0, 0, 10, 20)), Detection("person", 0, 0.8, Box(100, 0, 110, 20))
    found = [Detection("person", 0, 0.7, Box(2, 0, 12, 20)), Detection("person", 0, 0.7, Box(1, 0, 11, 20))]
    assert follow([a, b], found) == (1, None)


def test_a_box_the_person_detector_stops_finding_is_dropped_after_the_look_interval() -> None:
    from vision.look_schedule import Confirmation

    schedule = LookSchedule(1.0, 5.0)
    person = Detection("person", 0, 0.9, Box(0, 0, 10, 20))
    schedule.confirmed("w", Confirmation(0.0, (person,), ()))
    schedule.follow("w", [], 0.5)
    assert len(schedule.confirmation("w").people) == 1  # not found for 0.5 s: kept
    schedule.follow("w", [], 1.5)
    assert schedule.confirmation("w").people == ()  # 1.5 s: dropped


def test_someone_confirmed_whom_the_person_detector_loses_brings_the_object_detector_in() -> None:
    # The person detector sees only PERSON; the object detector also sees PERSON_2 (say, in infrared).
    colours = {PERSON: ("person", 0.9), PERSON_2: ("person", 0.8)}
    models = fake_models(person_detector=FakeDetector(Painted({PERSON: ("person", 0.9)}), name="person"),
                         detector=FakeDetector(Painted(colours)), pose=FakePose(UPRIGHT))
    cascade = PerceptionCascade(models, (W1,), CascadeSettings(motion_threshold=0.0, confirm_interval_s=60.0,
                                                               idle_look_interval_s=1.0))
    seen_by_both = [(scene(_staff(2 * i)), 0.5 * i) for i in range(3)]
    only_second = [(scene(((80 + 2 * i, 54, 150 + 2 * i, 198), PERSON_2)), 1.5 + 0.5 * i) for i in range(4)]
    observations = _run(cascade, seen_by_both + only_second)
    # 0 s: first look; 1 s: a look, both still agree; 2 s and 3 s: looks at someone the person detector misses
    assert _detector_runs(observations) == [True, False, False, False, True, False, True]
    # Kept (half score) on the frames between, for at most a look interval, never carried into a still scene
    assert [len(o.persons) for o in observations] == [1, 1, 1, 1, 1, 1, 1]


def test_after_a_look_that_found_the_hands_idle_the_next_waits_the_idle_interval() -> None:
    cascade, models = _cascade(idle_look_interval_s=2.0)
    # Nothing in hand, wrists down: looks at 0 s and 2 s (not at 1 s), then 4 s.
    observations = _run(cascade, [(scene(_staff(2 * i)), 0.5 * i) for i in range(9)])
    assert [m.looked for o in observations for m in o.motion] == [True, False, False, False, True, False, False,
                                                                  False, True]
    assert models.pose.call_count == 3


def test_a_look_that_sees_something_in_hand_brings_the_short_interval_back() -> None:
    cascade, models = _cascade(idle_look_interval_s=2.0)
    cup = ((150, 150, 170, 170), CUP)  # beside the person's hands
    # 0 s idle -> next look at 2 s sees the cup (and the one after it, 2.5 s, confirms it), then every 1 s: 3.5 s.
    frames = [(scene(_staff(2 * i), *([cup] if i >= 4 else [])), 0.5 * i) for i in range(9)]
    observations = _run(cascade, frames)
    assert [m.looked for o in observations for m in o.motion] == [True, False, False, False, True, True, False,
                                                                  True, False]


def test_an_idle_interval_below_the_look_interval_is_the_look_interval() -> None:
    schedule = LookSchedule(2.0, 5.0, 1.0)
    idle = Look(0.0, (), (), hands_checked=False, wrist_raised=False)
    schedule.record("w", idle)
    assert not schedule.due("w", 1.5, []) and schedule.due("w", 2.0, [])
    with pytest.raises(ValueError, match="idle_interval_s"):
        LookSchedule(1.0, 5.0, -1.0)
