"""Presence fusion (vision.presence) on real images: the rendered demo counter as the empty staff zone, scikit-image's
astronaut photo as the person, motion measured by the real motion gate."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from counterwatch.demo_scene import SceneRenderer
from counterwatch.perception import regions_for
from counterwatch.sign import sign_images
from vision.motion import MotionGate
from vision.presence import (
    PresenceEvidence,
    PresenceFilter,
    PresenceSettings,
    WindowPresence,
    ZoneSampler,
    zone_difference,
)

SETTINGS = PresenceSettings()
STEP_S = 0.5  # 2 analysed frames per second


@pytest.fixture(scope="module")
def region(demo_config):
    return next(r for r in regions_for(demo_config, demo_config.cameras[0]) if r.window_id == "w01")


@pytest.fixture(scope="module")
def renderer(demo_config):
    return SceneRenderer(sign_images(demo_config))


def _empty(renderer, seed: int) -> np.ndarray:
    """The demo counter with nobody at w01 (w02 staffed), sensor noise from `seed`."""
    return renderer.frame(frozenset({"w02"}), frozenset(), np.random.default_rng(seed))


def _with_astronaut(frame: np.ndarray, astronaut_bgr: np.ndarray) -> np.ndarray:
    """The astronaut photo pasted into w01's staff zone (x 0.03-0.47, y 0.05-0.70 of the 1280x720 frame)."""
    out = frame.copy()
    out[90:430, 120:420] = cv2.resize(astronaut_bgr, (300, 340), interpolation=cv2.INTER_AREA)
    return out


def _relit(frame: np.ndarray) -> np.ndarray:
    """The same scene under other light: dimmer overall and brighter towards the right (a lamp, a window)."""
    gain = np.linspace(0.55, 0.95, frame.shape[1], dtype=np.float32)[None, :, None]
    return np.clip(frame.astype(np.float32) * gain + 12.0, 0, 255).astype(np.uint8)


class Window:
    """WindowPresence fed like WindowStateBuilder feeds it, with motion from the real motion gate."""

    def __init__(self, region, settings: PresenceSettings = SETTINGS) -> None:
        self.presence = WindowPresence(region, settings)
        self.gate = MotionGate((region,), threshold=0.004, recheck_s=10.0)
        self.region = region
        self.ts = 0.0

    def run(self, frames, *, detected: bool = False, paused: bool = False, torso: bool | None = None):
        estimates = []
        for image in frames:
            motion = self.gate.measure(image, self.region.window_id)
            estimates.append(self.presence.update(image, detected=detected, torso=torso, motion=motion,
                                                  learnable=paused, ts=self.ts))
            self.ts += STEP_S
        return estimates


def _learned(region, renderer, seconds: float = 12.0) -> Window:
    window = Window(region)
    window.run([_empty(renderer, i) for i in range(int(seconds / STEP_S))], paused=True)
    return window


def test_the_zone_difference_ignores_light_and_sees_a_person(region, renderer, astronaut_bgr) -> None:
    sampler = ZoneSampler(region)
    reference = sampler.sample(_empty(renderer, 0))
    assert zone_difference(reference, sampler.sample(_empty(renderer, 1))) <= SETTINGS.reference_empty_below
    assert zone_difference(reference, sampler.sample(_relit(_empty(renderer, 2)))) <= SETTINGS.reference_empty_below
    person = sampler.sample(_with_astronaut(_empty(renderer, 3), astronaut_bgr))
    assert zone_difference(reference, person) >= SETTINGS.reference_occupied_above
    relit_person = sampler.sample(_relit(_with_astronaut(_empty(renderer, 4), astronaut_bgr)))
    assert zone_difference(reference, relit_person) >= SETTINGS.reference_occupied_above


def test_the_reference_is_learned_only_while_paused_and_nobody_is_detected(region, renderer) -> None:
    frames = [_empty(renderer, i) for i in range(30)]
    open_window = Window(region)
    assert all("reference" not in e.cues for e in open_window.run(frames))  # serving: never learned
    busy = Window(region)
    assert all("reference" not in e.cues for e in busy.run(frames, paused=True, detected=True))
    paused = Window(region)
    cues = [e.cues for e in paused.run(frames, paused=True)]
    learned_at = next(i for i, c in enumerate(cues) if "reference" in c) * STEP_S
    assert SETTINGS.reference_learn_s <= learned_at <= SETTINGS.reference_learn_s + 1.0
    assert cues[-1] == ("detector", "motion", "reference")


def test_empty_then_astronaut_with_no_detection_then_empty(region, renderer, astronaut_bgr) -> None:
    window = _learned(region, renderer)
    empty = window.run([_empty(renderer, 100 + i) for i in range(10)])
    assert not any(e.occupied for e in empty) and empty[-1].occupancy < 0.05
    person = window.run([_with_astronaut(_empty(renderer, 200 + i), astronaut_bgr) for i in range(20)])
    assert all(e.occupied for e in person[1:]), [round(e.occupancy, 2) for e in person]
    assert all(e.cues == ("detector", "motion", "reference") for e in person)
    gone = window.run([_empty(renderer, 300 + i) for i in range(10)])
    assert not any(e.occupied for e in gone[1:]), [round(e.occupancy, 2) for e in gone]


def test_a_change_of_light_with_nobody_there_stays_empty(region, renderer) -> None:
    window = _learned(region, renderer)
    window.run([_empty(renderer, 100 + i) for i in range(4)])
    relit = window.run([_relit(_empty(renderer, 200 + i)) for i in range(30)])
    assert not any(e.occupied for e in relit), [round(e.occupancy, 2) for e in relit]


def test_a_detector_miss_while_the_zone_differs_from_the_reference_stays_present(region, renderer,
                                                                                  astronaut_bgr) -> None:
    window = _learned(region, renderer)
    frames = [_with_astronaut(_empty(renderer, 100 + i), astronaut_bgr) for i in range(70)]
    assert all(e.occupied for e in window.run(frames[:10], detected=True, torso=True))
    missed = window.run(frames[10:])  # 30 s still and undetected
    assert all(e.occupied for e in missed), [round(e.occupancy, 2) for e in missed]


def test_without_a_reference_presence_falls_back_to_detector_pose_and_motion(region, renderer,
                                                                             astronaut_bgr) -> None:
    window = Window(region)  # never paused: no empty-zone picture
    frames = [_with_astronaut(_empty(renderer, i), astronaut_bgr) for i in range(16)]
    seen = window.run(frames[:10], detected=True, torso=True)
    assert all(e.occupied for e in seen) and seen[-1].cues == ("detector", "pose", "motion")
    missed = window.run(frames[10:])
    assert missed[0].cues == ("detector", "motion")
    assert missed[0].occupancy > 0.5  # the filter remembers her...
    assert not any(e.occupied for e in missed)  # ...but nothing this frame says someone is there


def test_a_zone_unlike_its_reference_counts_only_while_supported(region, renderer, astronaut_bgr) -> None:
    """A person-sized change nobody detects and nothing moves in (a bumped camera, a coat) fades out."""
    window = _learned(region, renderer)
    changed = _with_astronaut(_empty(renderer, 100), astronaut_bgr)
    arrival = window.run([changed, changed])  # the change itself is movement
    assert arrival[-1].occupied
    still = window.run([changed] * int(SETTINGS.reference_support_s / STEP_S))  # pixel-identical: no motion
    assert still[20].occupied and not still[-1].occupied


def test_the_filter_restarts_when_time_goes_backwards() -> None:
    presence = PresenceFilter(SETTINGS)
    for i in range(10):
        presence.update(PresenceEvidence(detected=True), ts=100.0 + i)
    restarted = presence.update(PresenceEvidence(detected=False), ts=5.0)
    assert restarted.occupancy < 0.2 and not restarted.occupied


@pytest.mark.parametrize("field, value", [("reference_learn_s", 0.0), ("motion_above", 1.5),
                                          ("empty_below", 0.9), ("reference_empty_below", 0.5)])
def test_invalid_settings_name_the_field(field, value) -> None:
    with pytest.raises(ValueError, match=field):
        PresenceSettings(**{field: value})
