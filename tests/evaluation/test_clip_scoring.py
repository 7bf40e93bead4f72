"""Clip annotations and event-level scoring with hand-made intervals and incidents (no models, no video)."""
from __future__ import annotations

import json

import pytest

from counterwatch.evaluation.clip import (
    IncidentRecord,
    WindowTruth,
    load_annotations,
    match_behaviour,
    per_hour,
    score_presence,
    score_window,
)
from counterwatch.evaluation.clip_run import scale_rule_times
from tests.conftest import REPO


def _incident(onset: float, opened: float, end: float, kind: str = "absent_without_pause") -> IncidentRecord:
    return IncidentRecord(f"id-{onset}-{opened}", kind, "w01", onset, opened, end, 0.9, "test")


def _write(tmp_path, data) -> object:
    path = tmp_path / "annotations.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------------- annotations
def test_per_window_annotations_are_read_with_their_defaults(tmp_path) -> None:
    path = _write(tmp_path, {
        "note": "not a clip",
        "a.mp4": {"duration_s": 60, "config": "hall.yaml", "scene": "s", "fps": 25, "size": [640, 360], "windows": {
            "w01": {"present": [[0, 10], [40, 60]], "absent": [[10, 40]], "phone_use": [[45, 55]]},
            "w02": {"absent": [[0, 60]], "absent_without_pause": []},
            "w03": {"eating": [[5, 9]]}}}})
    clip = load_annotations(path)["a.mp4"]
    assert clip.duration_s == 60 and clip.config_path() == tmp_path / "hall.yaml" and clip.size == (640, 360)
    w01, w02, w03 = clip.windows
    assert w01.intervals_of("absent_without_pause") == ((10.0, 40.0),)  # the absent list, by default
    assert w01.intervals_of("phone_use") == ((45.0, 55.0),) and w01.intervals_of("sleeping") == ()
    assert w02.intervals_of("absent_without_pause") == ()  # left with the pause sign up: no breach
    assert w03.present is None and w03.absent is None and w03.present_at(5.0) is None
    assert w01.present_at(9.9) is True and w01.present_at(10.0) is False
    assert w01.near_boundary(10.5, 1.0, 60) and not w01.near_boundary(0.5, 1.0, 60)  # the file start is no edge
    assert clip.truths_for(["w01", "w02", "w03"])["w02"] is w02
    with pytest.raises(ValueError, match="windows.w03: no such window"):
        clip.truths_for(["w01", "w02"])


def test_legacy_annotations_are_the_configs_first_window(tmp_path) -> None:
    path = _write(tmp_path, {"x.mp4": {"duration_s": 10, "fps": 30, "person_present": [[2, 10]],
                                       "person_absent": [[0, 2]], "seated": [[3, 5]]}})
    clip = load_annotations(path)["x.mp4"]
    (truth,) = clip.windows
    assert truth.window_id is None and truth.present == ((2.0, 10.0),)
    assert truth.intervals_of("absent_without_pause") == ((0.0, 2.0),)
    assert set(clip.truths_for(["front", "back"])) == {"front"}


@pytest.mark.parametrize("entry, message", [
    ({"duration_s": 10, "windows": {"w01": {"phone": [[1, 2]]}}}, r"windows\.w01: unknown key\(s\) phone"),
    ({"duration_s": 10, "windows": {"w01": {"present": [[1, 12]]}}}, r"windows\.w01\.present: interval \[1, 12\]"),
    ({"duration_s": 10, "windows": {"w01": {"present": [[0, 5]], "absent": [[4, 10]]}}}, "overlaps absent"),
    ({"windows": {"w01": {}}}, r"a\.mp4\.duration_s: required"),
    ({"duration_s": 10}, r"a\.mp4\.windows: required"),
    ({"duration_s": 10, "windows": {"w01": {}}, "confg": "x.yaml"}, r"unknown field\(s\) confg"),
])
def test_malformed_annotations_name_the_file_and_the_field(tmp_path, entry, message) -> None:
    path = _write(tmp_path, {"a.mp4": entry})
    with pytest.raises(ValueError, match=message) as error:
        load_annotations(path)
    assert str(path) in str(error.value)


def test_the_repository_clip_annotations_fit_their_configs() -> None:
    from counterwatch.config.loader import load_config

    clips = load_annotations(REPO / "configs/eval/clips/annotations.json")
    assert set(clips) == {"desk_arrival.mp4", "chair_sit_leave.mp4"}
    for clip in clips.values():
        config = load_config(clip.config_path())
        assert len(config.cameras) == 1
        assert set(clip.truths_for([w.id for w in config.windows])) == {w.id for w in config.windows}


# --------------------------------------------------------------------------------------------------- matching
def test_an_incident_raised_inside_the_interval_is_found_with_its_onset_error() -> None:
    truth = ((10.0, 30.0), (50.0, 52.0), (70.0, 90.0))
    incidents = [_incident(10.5, 16.5, 31.0), _incident(38.0, 44.0, 46.0)]
    score = match_behaviour("absent_without_pause", truth, incidents, tolerance_s=1.0, min_duration_s=6.0)
    first, short, missed = score.matches
    assert first.incident is incidents[0] and first.onset_error_s == pytest.approx(0.5)
    assert first.alert_delay_s == pytest.approx(6.5)
    assert short.incident is None and short.too_short  # 2 s is shorter than the 6 s dwell: not expected
    assert missed.incident is None and not missed.too_short
    assert (score.found, score.missed, score.too_short, score.false) == (1, 1, 1, 1)
    assert score.false_alerts == (incidents[1],)  # raised at 44 s, outside every interval
    assert score.onset_errors == (pytest.approx(0.5),)


@pytest.mark.parametrize("opened, matched", [(30.9, True), (31.5, False), (9.2, True), (8.5, False)])
def test_the_tolerance_widens_the_interval_on_both_sides(opened, matched) -> None:
    score = match_behaviour("phone_use", ((10.0, 30.0),), [_incident(opened - 2.0, opened, opened + 5.0, "phone_use")],
                            tolerance_s=1.0)
    assert (score.found, score.false, score.missed) == ((1, 0, 0) if matched else (0, 1, 1))


def test_matching_is_one_to_one_closest_onset_first() -> None:
    early, close = _incident(13.0, 15.0, 16.0, "eating"), _incident(10.2, 12.0, 13.0, "eating")
    score = match_behaviour("eating", ((10.0, 20.0),), [early, close], tolerance_s=1.0)
    assert score.matches[0].incident is close and score.false_alerts == (early,)


def test_no_onset_error_for_an_interval_that_starts_with_the_clip() -> None:
    score = match_behaviour("absent_without_pause", ((0.0, 20.0),), [_incident(0.0, 6.0, 20.0)], tolerance_s=1.0)
    assert score.found == 1 and score.matches[0].onset_error_s is None and score.onset_errors == ()


def test_presence_agreement_overall_and_away_from_boundaries() -> None:
    truth = WindowTruth("w01", present=((0.0, 5.0),), absent=((5.0, 10.0),), behaviours=())
    frames = [(t / 2, t / 2 < 5.5) for t in range(20)] + [(10.0, True)]  # late by one frame; 10.0 s is unannotated
    score = score_presence(frames, truth, duration_s=10.0, tolerance_s=1.0)
    assert (score.agree, score.of) == (19, 20)
    assert (score.agree_clear, score.of_clear) == (15, 15)  # 4.0 .. 6.0 s are within 1 s of the 5 s boundary
    assert (score.present_detected, score.absent_false_person, score.absent_empty) == (10, 1, 9)
    assert score_presence(frames, WindowTruth("w01", None, None, ()), duration_s=10.0, tolerance_s=1.0) is None


def test_a_window_scores_the_core_types_the_annotated_ones_and_whatever_the_rules_raised() -> None:
    truth = WindowTruth("w01", None, None, (("late_arrival", ((0.0, 3.0),)),))
    raised = [_incident(1.0, 2.0, 3.0, "left_during_service")]
    score = score_window("w01", truth, [], raised, {}, duration_s=1800.0, tolerance_s=1.0)
    names = [b.incident_type for b in score.behaviours]
    assert names[:3] == ["absent_without_pause", "phone_use", "eating"]
    assert "late_arrival" in names and "left_during_service" in names
    assert score.false_alerts == 1 and per_hour(score.false_alerts, 1800.0) == 2.0


# ------------------------------------------------------------------------------------------------ dwell scale
def test_the_dwell_scale_shortens_rule_times_in_a_copy(demo_config) -> None:
    scaled, times = scale_rule_times(demo_config, 0.1)
    rules = scaled.rules
    assert demo_config.rules.absent_without_pause.dwell_s == 30  # the validated config is left alone
    assert rules.absent_without_pause.dwell_s == 5  # 3 s is below the field's minimum of 5 s
    assert rules.absent_without_pause.return_s == pytest.approx(0.5)
    # demo.yaml: phone 15 s and sleeping 20 s scale below their minimums of 2 s and 5 s; eating's 20 s does not
    assert rules.phone_use.dwell_s == 2 and rules.phone_use.clear_s == 1 and rules.sleeping.dwell_s == 5
    assert rules.eating.dwell_s == 2 and rules.phone_use.cooldown_s == 6
    by_field = {t.field: t for t in times}
    assert by_field["absent_without_pause.dwell_s"].raised_to_minimum
    assert by_field["phone_use.dwell_s"].raised_to_minimum and by_field["sleeping.dwell_s"].raised_to_minimum
    assert not by_field["eating.dwell_s"].raised_to_minimum
    assert scaled.cameras == demo_config.cameras and scaled.base_dir == demo_config.base_dir
    with pytest.raises(ValueError, match="dwell-scale"):
        scale_rule_times(demo_config, 1.5)


# ------------------------------------------------------------------------------------------ whole-clip checks
def _run(off_schedule: int = 0):
    from counterwatch.evaluation.clip_run import ClipRun, WindowFrames

    frames = tuple((ts / 2, True) for ts in range(20))  # 0 .. 9.5 s
    return ClipRun("x.mp4", 20, (640, 360), 1.0, (WindowFrames("w01", frames, off_schedule),
                                                   WindowFrames("w02", frames, 0)), ())


def _annotation(tmp_path, duration: float):
    path = _write(tmp_path, {"x.mp4": {"duration_s": duration, "windows": {"w01": {"present": [[0, duration]]}}}})
    return load_annotations(path)["x.mp4"]


def test_a_clip_is_scored_per_annotated_window(tmp_path, demo_config) -> None:
    from counterwatch.evaluation.clip_run import score_clip

    score = score_clip(_run(), _annotation(tmp_path, 10.0), demo_config, config_label="demo.yaml", dwell_scale=1.0,
                       rule_times=(), tolerance_s=1.0)
    (w01,) = score.windows
    assert w01.window_id == "w01" and (w01.presence.agree, w01.presence.of) == (20, 20)
    assert score.unscored == (("w02", 0),)  # not in the annotation: not scored


@pytest.mark.parametrize("duration, off_schedule, message", [
    (60.0, 0, r"x\.mp4\.duration_s is 60 s but the last analysed frame of x\.mp4 is at 9\.5 s"),
    (10.0, 3, r"demo\.yaml: the calendar closed window w01 at 3 of 20 analysed frames"),
])
def test_a_clip_that_does_not_fit_its_annotation_or_calendar_is_an_error(tmp_path, demo_config, duration,
                                                                          off_schedule, message) -> None:
    from counterwatch.evaluation.clip_run import score_clip

    with pytest.raises(ValueError, match=message):
        score_clip(_run(off_schedule), _annotation(tmp_path, duration), demo_config, config_label="demo.yaml",
                   dwell_scale=1.0, rule_times=(), tolerance_s=1.0)
