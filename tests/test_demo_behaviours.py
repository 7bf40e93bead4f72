"""The bundled demo scene shows every behaviour the rules flag. Its behaviour parts (DEMO_SCRIPT's segments with a
behaviour), rendered from real photo content at the analysis rate, go through the real pipeline of `counterwatch run`
(camera reader, cascade, shipped behaviour heads, window states, rules) with configs/demo.yaml: phone_use and
drinking are raised at w01, sleeping at w02, and the plain astronaut (both windows before, w02 during w01's
behaviours) raises nothing."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import pytest

from counterwatch.config import load_config
from counterwatch.demo_scene import BEHAVIOUR_POSES, DEMO_SCRIPT, Segment, render_scene, segment, truth_at
from counterwatch.evaluation.clip_run import for_clip
from counterwatch.incidents.events import EventKind, IncidentEvent
from counterwatch.rules.sleeping import EyeBaseline
from counterwatch.rules.state import WindowState
from counterwatch.sign import sign_images
from tests.conftest import REPO

pytestmark = pytest.mark.slow

LEAD_S = 10.0  # both staff members at work first: the plain negative, and w02's open-eye baseline (20 frames)
BEHAVIOURS = ("phone_use", "drinking", "eating", "sleeping")
EXPECTED = {"phone_use": "w01", "drinking": "w01", "sleeping": "w02"}  # where DEMO_SCRIPT shows each behaviour


class FrameCues:
    """Per analysed frame and window, each behaviour's evidence as its rule reads it (counterwatch/rules/*.py):
    what the measurements below count. Sleeping judges the main person's eyes against an open-eye baseline of
    the window, as the rule does per track."""

    def __init__(self, rules) -> None:
        self._rules = rules
        self._eyes: dict[str, EyeBaseline] = {}

    def of(self, state: WindowState) -> dict[str, bool]:
        rules, staff = self._rules, state.main_staff
        if staff is None:
            return dict.fromkeys(BEHAVIOURS, False)
        cues, s = staff.cues, rules.sleeping
        eyes = self._eyes.setdefault(state.window_id, EyeBaseline(
            ratio=s.eyes_closed_ratio, percentile=s.ear_baseline_percentile,
            min_samples=s.ear_baseline_min_samples, history=s.ear_history_frames))
        closed = cues.eye_aspect_ratio is not None and bool(eyes.judge(cues.eye_aspect_ratio))
        return {
            "phone_use": cues.phone >= rules.phone_use.min_score or cues.call or cues.head_fired("phone_use"),
            "drinking": cues.hand_to_mouth and (cues.drink_near or cues.head_fired("drinking")),
            "eating": cues.hand_to_mouth and (cues.food_near or cues.head_fired("eating")),
            "sleeping": (closed or cues.head_fired("sleeping")) and state.motion <= s.max_motion,
        }


@dataclass(frozen=True)
class DemoRun:
    script: tuple[Segment, ...]
    events: tuple[IncidentEvent, ...]
    frames: Counter[tuple[str, str]]  # (window, behaviour or "plain"/"away") -> analysed frames
    cue_frames: Counter[tuple[str, str, str]]  # (window, segment behaviour, cue behaviour) -> frames showing it

    def opened(self) -> list[IncidentEvent]:
        return [e for e in self.events if e.kind is EventKind.OPENED]

    def span(self, behaviour: str) -> tuple[float, float]:
        """Start and end (stream seconds) of the script's segment showing `behaviour`."""
        start = 0.0
        for part in self.script:
            if part.behaviour_of(EXPECTED[behaviour]) == behaviour:
                return start, start + part.seconds
            start += part.seconds
        raise AssertionError(f"no {behaviour} segment")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, loaded_models) -> DemoRun:
    from counterwatch.perception import camera_reader
    from counterwatch.rules.pause import QueueStatus
    from counterwatch.runtime.worker import CameraPipeline

    config = load_config(REPO / "configs/demo.yaml")
    script = (segment(LEAD_S, ("w01", "w02")), *(part for part in DEMO_SCRIPT if part.behaviour),
              segment(5, ("w01", "w02")))
    video = tmp_path_factory.mktemp("demo") / "behaviours.mp4"
    fps = config.cameras[0].analysis_fps
    render_scene(video, script, sign_images(config), fps=fps)  # every rendered frame is analysed
    clip_config, camera = for_clip(config, video, "demo")
    pipeline = CameraPipeline(clip_config, camera, loaded_models, QueueStatus(), evidence_dir=None)
    events: list[IncidentEvent] = []
    frames: Counter[tuple[str, str]] = Counter()
    cue_frames: Counter[tuple[str, str, str]] = Counter()
    cues = FrameCues(clip_config.rules)
    try:
        with camera_reader(clip_config, camera) as reader:  # as counterwatch.evaluation.clip_run.run_clip reads
            while True:
                frame = reader.get(timeout=camera.stall_timeout_s)
                if frame is None:
                    assert reader.finished, reader.health().reason
                    break
                result = pipeline.step(frame)
                part = truth_at(script, frame.ts)
                for state in result.states:
                    doing = part.behaviour_of(state.window_id) or (
                        "plain" if state.window_id in part.present else "away")
                    frames[state.window_id, doing] += 1
                    for behaviour, shown in cues.of(state).items():
                        cue_frames[state.window_id, doing, behaviour] += shown
                events.extend(result.events)
    finally:
        events.extend(pipeline.close())
    return DemoRun(script, tuple(events), frames, cue_frames)


def test_each_behaviour_of_the_demo_raises_its_incident_at_its_window(demo_run) -> None:
    opened = demo_run.opened()
    summary = [(e.incident_type, e.window_id, round(e.start_ts, 1), round(e.ts, 1)) for e in opened]
    for behaviour, window_id in EXPECTED.items():
        start, end = demo_run.span(behaviour)
        raised = [e for e in opened if e.incident_type == behaviour]
        assert len(raised) == 1, (behaviour, summary, dict(demo_run.cue_frames))
        assert raised[0].window_id == window_id, summary
        assert start - 1.0 <= raised[0].start_ts and raised[0].ts <= end, (behaviour, (start, end), summary)


def test_nothing_else_is_raised_and_the_plain_astronaut_shows_no_behaviour(demo_run) -> None:
    summary = [(e.incident_type, e.window_id, round(e.ts, 1)) for e in demo_run.opened()]
    assert sorted(e.incident_type for e in demo_run.opened()) == sorted(EXPECTED), summary
    for window_id in ("w01", "w02"):
        assert demo_run.frames[window_id, "plain"] >= 2 * LEAD_S  # both were at work, unflagged, for a while
        for behaviour in BEHAVIOURS:
            assert demo_run.cue_frames[window_id, "plain", behaviour] == 0, (window_id, behaviour)


def test_the_behaviour_segments_show_their_cue_on_enough_frames(demo_run) -> None:
    count = demo_run.cue_frames
    phone = count["w01", "phone_use", "phone_use"] / demo_run.frames["w01", "phone_use"]
    assert phone >= 0.9, phone  # the rule needs 70 % of its dwell
    assert count["w01", "drinking", "drinking"] >= 4  # two sips of 3 s
    assert count["w01", "phone_use", "drinking"] == count["w01", "drinking", "phone_use"] == 0
    assert count["w02", "sleeping", "phone_use"] == count["w02", "sleeping", "drinking"] == 0


def test_the_demo_script_outlasts_the_demo_dwells() -> None:
    """Each behaviour segment, and the absence without the sign, lasts longer than what configs/demo.yaml needs to
    raise it; the script keeps an absence with the sign up (no incident)."""
    rules = load_config(REPO / "configs/demo.yaml").rules
    cycle = BEHAVIOUR_POSES["drinking"]
    first_sip = sum(seconds for _, seconds in cycle[:[pose for pose, _ in cycle].index("sip")])
    period = sum(seconds for _, seconds in cycle)
    # Two sips within the drinking dwell; never three within the eating dwell (the cup at her mouth is also seen as
    # a bowl): 2 periods exceed it by more than an analysed frame's jitter.
    assert period <= rules.drinking.dwell_s and rules.eating.min_hand_to_mouth >= 3
    assert 2 * period > rules.eating.dwell_s + 1.0
    needs = {"phone_use": rules.phone_use.dwell_s, "drinking": first_sip + period,  # the second sip
             "sleeping": rules.sleeping.dwell_s}
    shown = {name: part.seconds for part in DEMO_SCRIPT for _, name in part.behaviour}
    assert set(shown) == set(needs)
    for name, seconds in shown.items():
        assert seconds >= needs[name] + 5.0, name
    absences = [part for part in DEMO_SCRIPT if "w01" not in part.present and "w01" not in part.sign]
    assert max(part.seconds for part in absences) >= rules.absent_without_pause.dwell_s + 10.0
    assert any("w01" in part.sign for part in DEMO_SCRIPT)
    assert sum(part.seconds for part in DEMO_SCRIPT) <= 240.0  # everything within four minutes



def test_segments_name_known_behaviours_of_present_staff_and_cycle_their_poses() -> None:
    with pytest.raises(ValueError, match="unknown demo behaviour"):
        segment(5, ("w01",), behaviour={"w01": "juggling"})
    with pytest.raises(ValueError, match="not present"):
        segment(5, ("w02",), behaviour={"w01": "phone_use"})
    drinking = segment(30, ("w01", "w02"), behaviour={"w01": "drinking"})
    assert drinking.behaviour_of("w01") == "drinking" and drinking.behaviour_of("w02") is None
    poses = [dict(drinking.poses_at(k / 2))["w01"] for k in range(60)]
    assert poses[0] == "cup_down" and poses[16] == "sip" and poses[22] == "cup_down" and poses[38] == "sip"
    assert segment(5, ("w01",)).poses_at(3.0) == frozenset()
