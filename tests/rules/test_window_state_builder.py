"""WindowStateBuilder on scripted Observations (no models, no images): who is staff and who a citizen, the sign and
pause handling, the configured cue thresholds, and the camera check.

The demo hall (configs/demo.yaml), 1280x720 frames: w01's staff zone is x 38..602, y 36..504 px and its citizen side
x 0..640, y 533..720; w02's staff zone is x 678..1242 (same rows), its citizen side x 640..1280.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from counterwatch.config.schema import CuesConfig
from counterwatch.perception import regions_for
from counterwatch.rules.pause import PausePeriod, QueueStatus
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.window_state import WindowStateBuilder
from models.types import COCO17_KEYPOINTS, Box, Detection, Keypoint, Pose
from vision.observation import Observation, Person, SignReading, WindowMotion

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in the demo hall (Asia/Shanghai)
WIDTH, HEIGHT = 1280, 720


def _builder(config, queue: QueueStatus | None = None) -> WindowStateBuilder:
    camera = config.cameras[0]
    return WindowStateBuilder(config, camera, regions_for(config, camera), HallCalendar(config),
                              queue or QueueStatus())


def _observation(*persons: Person, ts: float = 0.0, index: int = 0, objects=(), signs=(), motion=(),
                 camera: str = "cam-demo", start: datetime = START) -> Observation:
    return Observation(camera, index, ts, start + timedelta(seconds=ts), WIDTH, HEIGHT, persons=tuple(persons),
                       objects=tuple(objects), signs=tuple(signs), motion=tuple(motion))


def _person(x1, y1, x2, y2, score=0.9, pose: Pose | None = None) -> Person:
    return Person(Box(x1, y1, x2, y2), score, None, pose=pose)


def _pose(points: dict[str, tuple[float, float]], keypoint_score: float = 0.9) -> Pose:
    return Pose(tuple(Keypoint(n, *points[n], keypoint_score) if n in points else Keypoint(n, 0.0, 0.0, 0.0)
                      for n in COCO17_KEYPOINTS), 0.9)


def _by_window(states) -> dict:
    return {state.window_id: state for state in states}


def _boxes(state) -> list[tuple[float, float, float, float]]:
    return [(s.box.x1, s.box.y1, s.box.x2, s.box.y2) for s in state.staff]


def test_staff_and_citizens_are_told_apart_by_where_they_stand(demo_config) -> None:
    states = _by_window(_builder(demo_config).build(_observation(
        _person(200, 100, 400, 480),  # seated at w01: feet in its staff zone
        _person(150, 300, 350, 650, 0.8),  # a citizen leaning over w01's counter: body in the zone, feet outside
        _person(800, 150, 1000, 500, 0.85),  # staff at w02
        _person(900, 550, 1000, 710, 0.7),  # a citizen at w02
        motion=(WindowMotion("w01", 0.02, True), WindowMotion("w02", 0.0, False)))))
    w01, w02 = states["w01"], states["w02"]
    assert _boxes(w01) == [(200, 100, 400, 480)] and w01.citizens == 1
    assert _boxes(w02) == [(800, 150, 1000, 500)] and w02.citizens == 1
    assert (w01.motion, w02.motion) == (0.02, 0.0)
    assert (w01.rostered_staff, w02.rostered_staff) == ("s001", "s002")
    assert w01.on_schedule and not w01.paused and w01.sign_visible is None  # no sign reading in the observation
    assert (w01.camera_id, w01.frame_index, w01.wall_time) == ("cam-demo", 0, START)


def test_the_torso_then_the_box_centre_then_the_feet_make_someone_staff(demo_config) -> None:
    # Between the two staff zones (x 602..678) and above the citizen side: box centre and feet in neither zone.
    between = (560, 200, 680, 520)
    torso_in_w01 = _pose({"left_shoulder": (590, 260), "right_shoulder": (570, 260), "left_hip": (590, 340),
                          "right_hip": (570, 340)})
    bare = _by_window(_builder(demo_config).build(_observation(_person(*between))))
    assert bare["w01"].staff == () and bare["w02"].staff == () and bare["w01"].citizens == 0
    posed = _by_window(_builder(demo_config).build(_observation(_person(*between, pose=torso_in_w01))))
    assert _boxes(posed["w01"]) == [between] and posed["w02"].staff == ()
    # Feet in the gap between the zone and the citizen side (y 504..533), box centre in the zone: staff.
    centre = _by_window(_builder(demo_config).build(_observation(_person(300, 300, 500, 530))))
    assert len(centre["w01"].staff) == 1 and centre["w01"].citizens == 0


def test_only_people_detected_in_this_frame_count_as_staff(demo_config) -> None:
    builder = _builder(demo_config)
    seated = _person(200, 100, 400, 480)
    first = _by_window(builder.build(_observation(seated)))["w01"]
    gone = _by_window(builder.build(_observation(ts=0.5, index=1)))["w01"]  # the tracker still carries the track
    back = _by_window(builder.build(_observation(_person(205, 100, 405, 480), ts=1.0, index=2)))["w01"]
    assert len(first.staff) == 1 and gone.staff == () and len(back.staff) == 1
    assert back.staff[0].track_id == first.staff[0].track_id  # the same person keeps their id


def test_one_person_found_twice_is_one_staff_and_the_best_comes_first(demo_config) -> None:
    posed = _person(205, 105, 405, 485, 0.6, pose=_pose({"nose": (300, 150)}))
    twin = _person(200, 100, 400, 480, 0.9)  # IoU ~0.95 with `posed`: the same person, analysed in less depth
    visitor = _person(420, 100, 560, 480, 0.95)
    w01 = _by_window(_builder(demo_config).build(_observation(twin, posed, visitor)))["w01"]
    assert [s.score for s in w01.staff] == [0.95, 0.6]  # best score first; the posed detection of the twin kept
    assert _boxes(w01)[1] == (205, 105, 405, 485) and w01.visitors == 1
    assert w01.main_staff.box == visitor.box


def test_the_sign_pauses_the_window_after_hysteresis_and_an_unchecked_frame_holds(demo_config) -> None:
    builder = _builder(demo_config)
    up, down, unchecked = (SignReading("w01", True, marker_seen=True), SignReading("w01", True, marker_seen=False),
                           SignReading("w01", False))
    script = [(0.0, up), (0.5, up), (1.0, up), (1.5, unchecked), (2.0, down), (5.5, down), (6.0, down)]
    seen = []
    for index, (ts, sign) in enumerate(script):
        w01, w02 = builder.build(_observation(ts=ts, index=index, signs=(sign,)))
        seen.append((ts, w01.sign_visible, w01.paused, w01.pause_source))
        assert (w02.sign_visible, w02.paused) == (None, False)  # no reading for w02: nothing changes there
    assert seen == [(0.0, True, False, None), (0.5, True, False, None), (1.0, True, True, "sign"),
                    (1.5, None, True, "sign"), (2.0, False, True, "sign"), (5.5, False, True, "sign"),
                    (6.0, False, False, None)]  # up after 1 s seen, down after 4 s not seen
    assert builder.take_pause_periods() == (PausePeriod("w01", "sign", START + timedelta(seconds=1.0),
                                                        START + timedelta(seconds=6.0)),)
    assert builder.take_pause_periods() == ()


def test_the_queue_and_the_closed_schedule_pause_the_window_too(demo_config) -> None:
    queue = QueueStatus()
    builder = _builder(demo_config, queue)
    sign = (SignReading("w01", True, marker_seen=True),)
    for ts in (0.0, 1.0):
        states = _by_window(builder.build(_observation(ts=ts, signs=sign)))
    assert (states["w01"].paused, states["w01"].pause_source) == (True, "sign")
    queue.pause("w01")
    states = _by_window(builder.build(_observation(ts=2.0, signs=sign)))
    assert (states["w01"].paused, states["w01"].pause_source) == (True, "queue")  # the queue outranks the sign
    assert (states["w02"].paused, states["w02"].pause_source) == (False, None)
    # The demo schedule is 00:00-23:59 local: at 23:59:30 (15:59:30 UTC) every window is closed.
    late = datetime(2026, 3, 2, 15, 59, 30, tzinfo=UTC)
    closed = _by_window(_builder(demo_config).build(_observation(_person(200, 100, 400, 480), start=late)))
    assert all(not s.on_schedule and s.paused and s.pause_source == "schedule" for s in closed.values())
    assert len(closed["w01"].staff) == 1


# Shoulders 100 px apart (the body scale), nose at (300, 150) so the mouth is taken at (300, 170); the right wrist
# 40 px below the mouth (0.4 body scales); a phone 80 px right of that wrist (0.8 body scales), over the person box.
_EATING = _person(200, 100, 400, 480, pose=_pose({
    "nose": (300, 150), "left_shoulder": (350, 250), "right_shoulder": (250, 250), "right_wrist": (300, 210),
    "left_wrist": (330, 400), "left_hip": (330, 420), "right_hip": (270, 420)}))
_PHONE = Detection("cell phone", 77, 0.8, Box(380, 200, 400, 240))
_DEFAULT_PHONE = 0.8 * (1.5 - 0.8) / (1.5 - 0.6)  # the score times the falloff between phone_in_hand and phone_reach


@pytest.mark.parametrize("cues, hand_to_mouth, phone", [
    ({}, True, _DEFAULT_PHONE),  # defaults: mouth_distance 0.5; phone_in_hand 0.6, phone_reach 1.5
    ({"mouth_distance": 0.3}, False, _DEFAULT_PHONE),
    ({"phone_in_hand": 1.0}, True, 0.8),
    ({"phone_reach": 1.0, "phone_in_hand": 0.5}, True, 0.8 * (1.0 - 0.8) / (1.0 - 0.5)),
    ({"keypoint_min_score": 0.95}, False, 0.8 * 0.5),  # no keypoint seen: no mouth; the phone over the person, halved
], ids=["defaults", "mouth_distance", "phone_in_hand", "phone_reach", "keypoint_min_score"])
def test_the_configured_cue_thresholds_change_the_cues(demo_config, cues, hand_to_mouth, phone) -> None:
    perception = demo_config.perception.model_copy(update={"cues": CuesConfig(**cues)})
    config = demo_config.model_copy(update={"perception": perception})
    w01 = _by_window(_builder(config).build(_observation(_EATING, objects=(_PHONE,))))["w01"]
    (staff,) = w01.staff
    assert staff.cues.hand_to_mouth is hand_to_mouth
    assert staff.cues.phone == pytest.approx(phone)
    assert not staff.cues.call and not staff.cues.head_down


def test_an_observation_of_another_camera_is_refused(demo_config) -> None:
    builder = _builder(demo_config)
    with pytest.raises(ValueError, match="'cam-other' fed to the builder of 'cam-demo'"):
        builder.build(_observation(_person(200, 100, 400, 480), camera="cam-other"))
    w01 = _by_window(builder.build(_observation(_person(200, 100, 400, 480))))["w01"]  # still usable afterwards
    assert len(w01.staff) == 1


class _CountingHeads:
    """A light stand-in for counterwatch.learning.runtime.HeadScorer: records when the main person was scored."""

    has_shadow = False

    def __init__(self) -> None:
        self.scored: list[float] = []
        self._ts = 0.0

    def wants(self, window_id: str) -> bool:
        return window_id == "w01"

    def score(self, window_id, image, person, objects):
        self.scored.append(self._ts)
        return (("phone", 0.1 * len(self.scored), 0.5),), ()


@pytest.mark.parametrize(("interval", "scored"), [(2.0, [0.0, 2.0, 4.0]), (0.0, [0.0, 1.0, 2.0, 3.0, 4.0])])
def test_heads_score_at_a_look_at_most_every_heads_interval_and_the_last_scores_stand(demo_config, interval,
                                                                                      scored) -> None:
    config = demo_config.model_copy(update={"perception": demo_config.perception.model_copy(
        update={"heads_interval_s": interval})})
    heads = _CountingHeads()
    camera = config.cameras[0]
    builder = WindowStateBuilder(config, camera, regions_for(config, camera), HallCalendar(config), QueueStatus(),
                                 heads=heads)  # type: ignore[arg-type]
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    cues = []
    for index in range(10):  # 2 fps; a full look every second
        ts = index * 0.5
        heads._ts = ts
        motion = (WindowMotion("w01", 0.1, True, looked=index % 2 == 0),)
        w01 = _by_window(builder.build(_observation(_person(200 + index, 100, 400 + index, 480), ts=ts, index=index,
                                                    motion=motion), image))["w01"]
        cues.append(w01.staff[0].cues.head)
    assert heads.scored == scored
    assert all(cue for cue in cues)  # between scorings the last scores of the same person stand
    assert cues[-1] == (("phone", 0.1 * len(scored), 0.5),)


def test_someone_new_at_the_window_is_scored_at_their_first_look(demo_config) -> None:
    heads = _CountingHeads()
    camera = demo_config.cameras[0]
    builder = WindowStateBuilder(demo_config, camera, regions_for(demo_config, camera), HallCalendar(demo_config),
                                 QueueStatus(), heads=heads)  # type: ignore[arg-type]
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    looked = (WindowMotion("w01", 0.1, True, looked=True),)
    for index, person in enumerate([_person(60, 100, 250, 480), _person(400, 100, 590, 480)]):
        heads._ts = index * 0.5
        builder.build(_observation(person, ts=index * 0.5, index=index, motion=looked), image)
    assert heads.scored == [0.0, 0.5]  # 0.5 s apart, under the 2 s interval: a new track is scored at once
