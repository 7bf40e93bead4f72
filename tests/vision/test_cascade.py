"""The perception cascade on real photos with the real offline models."""
from __future__ import annotations

import numpy as np
import pytest

from counterwatch.demo_scene import SceneRenderer
from counterwatch.perception import build_cascade
from counterwatch.sign import sign_images
from tests.conftest import make_frame


def test_astronaut_is_one_person_with_plausible_keypoints_face_and_eyes(astronaut_bgr, loaded_models) -> None:
    cascade = build_cascade(None, None, loaded_models)
    observation = cascade.observe(make_frame(astronaut_bgr))
    assert len(observation.persons) == 1
    person = observation.persons[0]
    assert person.score > 0.5
    assert person.box.height > 300  # she fills most of the 512 px photo
    pose = person.pose
    assert pose is not None
    nose, left_sh, right_sh = pose.get("nose", 0.5), pose.get("left_shoulder", 0.5), pose.get("right_shoulder", 0.5)
    assert nose and left_sh and right_sh
    assert nose.y < left_sh.y and nose.y < right_sh.y  # head above shoulders
    assert right_sh.x < nose.x < left_sh.x  # facing the camera: her right shoulder is on the image's left
    assert person.box.contains(nose.x, nose.y)
    assert person.face is not None
    assert person.face.box.contains(nose.x, nose.y)
    # both eyes measured by the face mesh: open eyes give an aspect ratio well above a closed eye's ~0.1
    assert person.eye_aspect_ratio is not None and 0.18 < person.eye_aspect_ratio < 0.5
    assert person.head_pitch_deg is not None and abs(person.head_pitch_deg) < 30
    left_eye, right_eye = person.face.get("left_eye"), person.face.get("right_eye")
    assert right_eye.x < left_eye.x and abs(right_eye.y - left_eye.y) < 30


def test_coffee_photo_yields_a_cup(coffee_bgr, loaded_models) -> None:
    observation = build_cascade(None, None, loaded_models).observe(make_frame(coffee_bgr))
    cups = [o for o in observation.objects if o.label == "cup"]
    assert cups and cups[0].score > 0.4
    assert not observation.persons


@pytest.fixture(scope="module")
def renderer(demo_config):
    return SceneRenderer(sign_images(demo_config))


def test_rendered_sign_is_read_for_the_right_window(demo_config, loaded_models, renderer) -> None:
    camera = demo_config.cameras[0]
    cascade = build_cascade(demo_config, camera, loaded_models)
    rng = np.random.default_rng(1)
    observation = cascade.observe(make_frame(renderer.frame(frozenset({"w02"}), frozenset({"w01"}), rng), camera.id))
    w01, w02 = observation.sign("w01"), observation.sign("w02")
    assert w01.checked and w01.visible and w01.marker_seen
    assert not w02.checked  # staff present at w02: the sign is not looked for
    assert not observation.persons_in("w01") or all(p.box.center[0] > 640 for p in observation.persons_in("w01"))
    assert observation.persons_in("w02")


def test_absent_staff_without_sign_is_no_sign(demo_config, loaded_models, renderer) -> None:
    camera = demo_config.cameras[0]
    cascade = build_cascade(demo_config, camera, loaded_models)
    rng = np.random.default_rng(2)
    observation = cascade.observe(make_frame(renderer.frame(frozenset({"w02"}), frozenset(), rng), camera.id))
    assert observation.sign("w01").checked and not observation.sign("w01").visible


def test_staff_present_in_their_window_with_pose_and_face(demo_config, loaded_models, renderer) -> None:
    camera = demo_config.cameras[0]
    cascade = build_cascade(demo_config, camera, loaded_models)
    rng = np.random.default_rng(3)
    observation = cascade.observe(make_frame(renderer.frame(frozenset({"w01", "w02"}), frozenset(), rng), camera.id))
    for window_id, x_range in (("w01", (0, 640)), ("w02", (640, 1280))):
        staff = [p for p in observation.persons_in(window_id) if x_range[0] <= p.box.center[0] < x_range[1]]
        assert len(staff) == 1, (window_id, observation.persons)
        assert staff[0].pose is not None and staff[0].face is not None
    assert any(o.label == "cup" for o in observation.objects)


def test_motion_gate_reuses_still_windows_and_rechecks_them(demo_config, loaded_models, renderer) -> None:
    camera = demo_config.cameras[0]
    cascade = build_cascade(demo_config, camera, loaded_models)
    still = renderer.frame(frozenset({"w01", "w02"}), frozenset(), np.random.default_rng(4))
    first = cascade.observe(make_frame(still, camera.id, 0, 0.0))
    assert all(m.analysed for m in first.motion)
    second = cascade.observe(make_frame(still, camera.id, 1, 0.5))
    assert not any(m.analysed for m in second.motion)
    assert not any(name == "detector" for name, _ in second.timings_ms)
    assert len(second.persons) == len(first.persons)  # the last result is carried, not dropped
    recheck = demo_config.perception.static_recheck_s
    third = cascade.observe(make_frame(still, camera.id, 2, recheck + 0.1))
    assert all(m.analysed for m in third.motion)  # a still scene is never skipped forever
    moved = renderer.frame(frozenset({"w02"}), frozenset(), np.random.default_rng(5))
    fourth = cascade.observe(make_frame(moved, camera.id, 3, recheck + 0.6))
    analysed = {m.window_id: m.analysed for m in fourth.motion}
    assert analysed == {"w01": True, "w02": False}


def test_naive_mode_runs_every_model(demo_config, loaded_models, renderer) -> None:
    camera = demo_config.cameras[0]
    image = renderer.frame(frozenset({"w01", "w02"}), frozenset(), np.random.default_rng(6))
    lean = build_cascade(demo_config, camera, loaded_models).observe(make_frame(image, camera.id))
    naive = build_cascade(demo_config, camera, loaded_models, naive=True).observe(make_frame(image, camera.id))
    lean_models = [name for name, _ in lean.timings_ms]
    naive_models = [name for name, _ in naive.timings_ms]
    assert "hands" in naive_models and "sign" in naive_models
    assert len(naive_models) > len(lean_models)
