"""`counterwatch eval clip` on a short video rendered from real photo content, with dev-format annotations."""
from __future__ import annotations

import json
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from counterwatch.evaluation.cli import eval_cli
from counterwatch.evaluation.clip import PresenceAbsenceDetector, load_annotations

FPS = 10
SIZE = (640, 360)


@pytest.fixture(scope="module")
def clip_set(tmp_path_factory, astronaut_bgr, coffee_bgr):
    """4 s: empty room 0-1 s, the astronaut 1-3 s, empty again 3-4 s (an empty room = the coffee photo)."""
    root = tmp_path_factory.mktemp("clip")
    room = cv2.resize(coffee_bgr, SIZE, interpolation=cv2.INTER_AREA)
    with_person = room.copy()
    with_person[30:330, 170:470] = cv2.resize(astronaut_bgr, (300, 300), interpolation=cv2.INTER_AREA)
    video = root / "staged.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), FPS, SIZE)
    assert writer.isOpened()
    for index in range(4 * FPS):
        writer.write(with_person if FPS <= index < 3 * FPS else room)
    writer.release()
    annotations = root / "annotations.json"
    annotations.write_text(json.dumps({
        "note": "Times in seconds from the start of the file.",
        "staged.avi": {"size": list(SIZE), "fps": FPS, "duration_s": 4.0, "scene": "a person sits, then leaves",
                       "person_present": [[1.0, 3.0]], "person_absent": [[0.0, 1.0], [3.0, 4.0]],
                       "seated": [[1.0, 3.0]]},
    }))
    return video, annotations


def test_annotations_are_read_as_they_are(clip_set) -> None:
    _, path = clip_set
    clips = load_annotations(path)
    assert list(clips) == ["staged.avi"]  # "note" is not a clip
    clip = clips["staged.avi"]
    assert clip.present == ((1.0, 3.0),) and clip.absent == ((0.0, 1.0), (3.0, 4.0))
    assert dict(clip.other) == {"seated": ((1.0, 3.0),)}
    assert clip.present_at(0.5) is False and clip.present_at(1.0) is True and clip.present_at(3.5) is False
    assert clip.near_boundary(1.4, 0.5) and not clip.near_boundary(2.0, 0.5) and not clip.near_boundary(0.1, 0.5)


def test_clip_command_scores_presence_and_absence_onsets(clip_set) -> None:
    video, annotations = clip_set
    result = CliRunner().invoke(eval_cli, ["clip", str(video), "--annotations", str(annotations), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    timeline = [(f["ts"], f["present"], f["truth"]) for f in summary["per_frame"]]
    assert [ts for ts, _, _ in timeline] == pytest.approx([0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5])
    assert [present for _, present, _ in timeline] == [False, False, True, True, True, True, False, False]
    assert summary["presence_agreement"] == {"agree": 8, "of": 8, "value": 1.0}
    assert summary["presence_counts"] == {"present_detected": 4, "present_missed": 0, "absent_false_person": 0,
                                          "absent_empty": 4}
    assert summary["flagged_absences"] == [[0.0, 1.0], [3.0, 4.0]]
    first, last = summary["absences"]
    # the clip starts absent: no onset to measure, the arrival (offset) is on time; the leaving onset is on time
    assert first["onset_error_s"] is None and first["offset_error_s"] == pytest.approx(0.0)
    assert last["onset_error_s"] == pytest.approx(0.0) and last["offset_error_s"] is None
    assert summary["frame_size"] == list(SIZE)


def test_clip_command_rejects_an_unannotated_video(clip_set, tmp_path) -> None:
    video, _ = clip_set
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"x.mp4": {"person_present": [[0, 1]]}}))
    result = CliRunner().invoke(eval_cli, ["clip", str(video), "--annotations", str(other)])
    assert result.exit_code != 0 and "no entry for staged.avi" in result.output


def test_presence_absence_detector_needs_the_minimum_gap() -> None:
    detector = PresenceAbsenceDetector(min_absent_s=1.0)
    seen = SimpleNamespace(persons=(SimpleNamespace(score=0.9),))
    empty = SimpleNamespace(persons=())
    for ts, observation in ((0.0, seen), (0.5, empty), (1.0, seen), (1.5, empty), (2.0, empty), (2.5, seen),
                            (3.0, empty)):
        detector.feed(ts, observation)
    assert detector.intervals(3.5) == ((1.5, 2.5),)  # 0.5 s gaps are not absences; the last one is too short
    assert detector.intervals(4.0) == ((1.5, 2.5), (3.0, 4.0))
