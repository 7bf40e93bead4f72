"""WindowStateBuilder with presence fusion on real rendered frames, and the absence rule fed by it.

The observations carry no person at all (the detector is given nothing): only the frame, the staff-zone motion the
real motion gate measures, and the pause state (the queue system pauses w01 while its reference is learned)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from counterwatch.demo_scene import SceneRenderer
from counterwatch.perception import regions_for
from counterwatch.rules.absent import AbsentWithoutPause
from counterwatch.rules.pause import QueueStatus
from counterwatch.rules.schedule import HallCalendar
from counterwatch.rules.window_state import WindowStateBuilder
from counterwatch.sign import sign_images
from models.types import Box
from vision.motion import MotionGate
from vision.observation import Observation, Person, WindowMotion

START = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in the demo hall's time zone
STEP_S = 0.5


@pytest.fixture(scope="module")
def config(demo_config):
    rules = demo_config.rules.model_copy(update={"absent_without_pause": demo_config.rules.absent_without_pause
                                                 .model_copy(update={"dwell_s": 10.0, "return_s": 2.0})})
    return demo_config.model_copy(update={"rules": rules})


@pytest.fixture(scope="module")
def frames(demo_config, astronaut_bgr):
    """w01 empty for 15 s, the astronaut at w01 for 20 s, w01 empty again for 20 s (w02 staffed throughout)."""
    renderer = SceneRenderer(sign_images(demo_config))
    rng = np.random.default_rng(0)
    empty = [renderer.frame(frozenset({"w02"}), frozenset(), rng) for _ in range(8)]
    person = cv2.resize(astronaut_bgr, (300, 340), interpolation=cv2.INTER_AREA)
    script = [False] * 30 + [True] * 40 + [False] * 40
    images = []
    for i, present in enumerate(script):
        image = empty[i % len(empty)].copy()
        if present:
            image[90:430, 120:420] = person
        images.append(image)
    return images, script


def _run(config, images, *, pause_until_s: float, persons: tuple[Person, ...] = ()):
    camera = config.cameras[0]
    regions = regions_for(config, camera)
    queue = QueueStatus()
    builder = WindowStateBuilder(config, camera, regions, HallCalendar(config), queue)
    gate = MotionGate(regions, threshold=0.004, recheck_s=10.0)
    rule = AbsentWithoutPause.from_config(config, "w01", HallCalendar(config))
    states, events = [], []
    for index, image in enumerate(images):
        ts = index * STEP_S
        queue.set("w01", ts < pause_until_s)
        motion = tuple(WindowMotion(r.window_id, gate.measure(image, r.window_id), True) for r in regions)
        observation = Observation(camera.id, index, ts, START + timedelta(seconds=ts), image.shape[1],
                                  image.shape[0], persons=persons, motion=motion)
        state = next(s for s in builder.build(observation, image) if s.window_id == "w01")
        states.append(state)
        events.extend(rule.update(state))
    return states, events


def test_the_fused_presence_keeps_an_undetected_person_at_the_post(config, frames) -> None:
    images, script = frames
    states, events = _run(config, images, pause_until_s=14.0)
    learned = [s for s in states if "reference" in s.presence_cues]
    assert learned and learned[0].ts <= 12.0  # learned while paused (reference_learn_s 10)
    present = [s for s, p in zip(states, script, strict=True) if p][1:]
    assert all(s.staff == () and s.staff_present and s.presence_source == "fusion" for s in present)
    assert all(s.presence_cues == ("detector", "motion", "reference") and s.occupancy > 0.7 for s in present)
    # the real absence starts when she leaves (35 s) and is raised after the 10 s dwell: one incident, no earlier one
    opened = [e for e in events if e.kind.value == "opened"]
    assert len(opened) == 1, [(e.kind.value, e.ts) for e in events]
    assert 35.0 <= opened[0].start_ts <= 36.0 and opened[0].ts >= opened[0].start_ts + 10.0
    assert "occupancy" in opened[0].reason and "reference" in opened[0].reason


def test_without_a_reference_the_undetected_person_is_absent(config, frames) -> None:
    """Never paused: no empty-zone picture, detector + pose + motion only, and the detector saw nobody."""
    images, _ = frames
    states, events = _run(config, images, pause_until_s=0.0)
    assert all("reference" not in s.presence_cues for s in states)
    assert all(s.occupancy is not None for s in states)
    opened = [e for e in events if e.kind.value == "opened"]
    assert opened and opened[0].start_ts < 15.0  # the person at 15-35 s was never seen: one long absence


def test_presence_fusion_off_is_the_detector_alone(config, frames) -> None:
    images, _ = frames
    off = config.model_copy(update={"presence": config.presence.model_copy(update={"enabled": False})})
    states, _ = _run(off, images[:40], pause_until_s=14.0)
    assert all(s.occupancy is None and s.presence_cues == () and not s.staff_present for s in states)


def test_a_citizen_leaning_into_the_zone_keeps_the_reference_from_being_learned(config, frames) -> None:
    """Feet on the citizen side (not staff), body over the staff zone: the zone is not empty, nothing is learned."""
    images, _ = frames
    citizen = Person(Box(200.0, 290.0, 400.0, 650.0), 0.9, "w01")
    states, _ = _run(config, images[:30], pause_until_s=15.0, persons=(citizen,))
    assert all(s.staff == () and s.citizens == 1 for s in states)
    assert all("reference" not in s.presence_cues for s in states)
