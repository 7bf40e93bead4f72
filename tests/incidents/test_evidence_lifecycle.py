"""EvidenceRecorder over an incident's life and when writing fails: never an exception into the pipeline."""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from counterwatch.incidents.events import EventKind, Evidence
from counterwatch.incidents.evidence import EvidenceRecorder
from tests.conftest import REPO
from tests.incidents.conftest import CAMERA, make_event, staff_observation

LOGGER = "counterwatch.incidents"


class NoFaces:
    def detect(self, image):
        return ()


class BrokenDetector:
    def detect(self, image):
        raise RuntimeError("detector crashed")


def clip_frame_count(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def feed(recorder, scene, ks):
    """Frames at exactly k / 2 s, so that which frames fall in a clip window is plain to read."""
    updates = []
    for k in ks:
        frame = scene.frame(k, jitter=0.0)
        updates += recorder.add_frame(frame, staff_observation(frame))
    return updates


def test_closing_before_the_post_window_writes_the_clip_with_the_frames_there_are(tmp_path, scene, regions,
                                                                                  face_detector) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, face_detector, pre_s=1, post_s=5)
    feed(recorder, scene, range(0, 7))
    (opened,) = recorder.on_event(make_event(EventKind.OPENED, 6 / 2, start_ts=6 / 2))  # alerted at its onset
    assert opened.evidence.clip is None
    assert feed(recorder, scene, range(7, 9)) == []
    (closed,) = recorder.on_event(make_event(EventKind.CLOSED, 8 / 2, start_ts=6 / 2))
    assert closed.evidence == Evidence("evidence/inc-0001/snapshot.jpg", "evidence/inc-0001/clip.mp4")
    # window [onset ts6 - 1, ts6 + 5) holds frames 4..8 when the incident closes at frame 8
    assert clip_frame_count(tmp_path / closed.evidence.clip) == 5
    assert feed(recorder, scene, range(9, 22)) == []  # nothing pending any more
    assert recorder.flush() == ()


def test_flush_writes_pending_clips_and_reports_them(tmp_path, scene, regions) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, NoFaces(), pre_s=2, post_s=10)
    feed(recorder, scene, range(0, 5))
    recorder.on_event(make_event(EventKind.OPENED, 4 / 2))
    (update,) = recorder.flush()
    assert update.kind is EventKind.UPDATED and update.evidence.clip == "evidence/inc-0001/clip.mp4"
    assert clip_frame_count(tmp_path / update.evidence.clip) == 5  # ts 0.0 .. 2.0
    assert recorder.flush() == ()
    (later,) = recorder.on_event(make_event(EventKind.UPDATED, 4 / 2, peak=0.8))
    assert later.evidence == update.evidence  # later events keep carrying the evidence


def test_snapshot_is_replaced_only_when_the_peak_confidence_rises_enough(tmp_path, scene, regions) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, NoFaces(), snapshot_peak_gain=0.05)
    path = tmp_path / "evidence/inc-0001/snapshot.jpg"
    feed(recorder, scene, [0])
    recorder.on_event(make_event(EventKind.OPENED, 0.0, peak=0.6))
    first = path.read_bytes()
    feed(recorder, scene, [1])
    (small,) = recorder.on_event(make_event(EventKind.UPDATED, 0.5, peak=0.63))
    assert path.read_bytes() == first and small.evidence.snapshot == "evidence/inc-0001/snapshot.jpg"
    feed(recorder, scene, [2])
    recorder.on_event(make_event(EventKind.UPDATED, 1.0, peak=0.9))
    assert path.read_bytes() != first  # frame 2 (its own sensor noise), a more telling moment
    view = recorder.view(CAMERA, "w01", 1280, 720)  # w01's part of the frame, under its header
    assert cv2.imread(str(path)).shape == (view.header_px + view.mask.shape[0], view.mask.shape[1], 3)


def test_an_incident_first_heard_of_by_an_update_gets_evidence_from_then_on(tmp_path, scene, regions) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, NoFaces(), pre_s=1, post_s=1)
    feed(recorder, scene, range(0, 4))
    (event,) = recorder.on_event(make_event(EventKind.UPDATED, 1.5))
    assert event.evidence.snapshot == "evidence/inc-0001/snapshot.jpg"
    (update,) = feed(recorder, scene, range(4, 6))
    assert update.evidence.clip == "evidence/inc-0001/clip.mp4"


def test_a_stream_restart_writes_the_pending_clip_before_the_buffer_is_cleared(tmp_path, scene, regions) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, NoFaces(), pre_s=1, post_s=5)
    feed(recorder, scene, range(0, 5))
    recorder.on_event(make_event(EventKind.OPENED, 4 / 2, start_ts=4 / 2))
    (update,) = feed(recorder, scene, [0])  # ts back to 0: the source reconnected
    assert clip_frame_count(tmp_path / update.evidence.clip) == 3  # ts 1.0 .. 2.0
    assert len(recorder.buffer(CAMERA)) == 1


def test_a_data_dir_that_is_a_file_gives_events_without_evidence_and_logs(tmp_path, scene, regions,
                                                                         caplog) -> None:
    data_dir = tmp_path / "data"
    data_dir.write_text("not a directory")
    recorder = EvidenceRecorder(data_dir, {CAMERA: regions}, NoFaces(), pre_s=1, post_s=1)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        feed(recorder, scene, range(0, 3))
        (opened,) = recorder.on_event(make_event(EventKind.OPENED, 1.0))
        assert feed(recorder, scene, range(3, 6)) == []  # the clip failed: no update, no exception
        (closed,) = recorder.on_event(make_event(EventKind.CLOSED, 2.5))
    assert opened.evidence == Evidence() and closed.evidence == Evidence()
    assert opened.kind is EventKind.OPENED and closed.kind is EventKind.CLOSED
    messages = [r.getMessage() for r in caplog.records if r.name == LOGGER and r.levelno >= logging.ERROR]
    assert any("snapshot could not be written" in m for m in messages)
    assert any("clip could not be written" in m for m in messages)
    assert data_dir.read_text() == "not a directory"


_DISK_FULL_CHILD = r"""
import json, logging, resource, signal, sys
from datetime import datetime, timezone
from pathlib import Path
import numpy as np
from cameras.frame import Frame
from counterwatch.incidents.events import EventKind, IncidentEvent
from counterwatch.incidents.evidence import EvidenceRecorder
from vision.regions import WindowRegion

class NoFaces:
    def detect(self, image):
        return ()

records = []
handler = logging.Handler()
handler.emit = lambda record: records.append(record.getMessage())
logging.getLogger("counterwatch.incidents").addHandler(handler)
import av  # loaded before the limit, like a running pipeline has it
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit then fails with EFBIG, like a full disk
resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))
region = WindowRegion("w01", staff_zone=((0, 0), (0.5, 0), (0.5, 0.7)), citizen_side=((0, 0.75), (1, 0.75), (1, 1)),
                      sign_region=((0, 0), (0.1, 0), (0, 0.1)), marker_id=1)
recorder = EvidenceRecorder(sys.argv[1], {"cam": (region,)}, NoFaces(), pre_s=1, post_s=1)
rng = np.random.default_rng(0)
now = datetime.now(timezone.utc)
events = []
def event(kind, ts):
    return IncidentEvent(kind, "inc-1", "sleeping", "h", "w01", "cam", None, now,
                         now if kind is EventKind.CLOSED else None, 0.0, ts, 0.5, 0.5, "test")
for k in range(8):
    image = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)  # noise: ~500 kB per JPEG
    events += recorder.add_frame(Frame("cam", k, k / 2, now, image))
    if k == 3:
        events += recorder.on_event(event(EventKind.OPENED, k / 2))
events += recorder.on_event(event(EventKind.CLOSED, 3.5))
print(json.dumps({"evidence": [[e.kind.value, e.evidence.snapshot, e.evidence.clip] for e in events],
                  "log": records}))
"""


def test_a_full_disk_gives_events_without_evidence_and_leaves_no_partial_files(tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    result = subprocess.run([sys.executable, "-c", _DISK_FULL_CHILD, str(tmp_path)], capture_output=True,
                            text=True, timeout=120, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr[-3000:]
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["evidence"] == [["opened", None, None], ["closed", None, None]]
    assert any("snapshot could not be written" in m for m in out["log"])
    assert any("clip could not be written" in m for m in out["log"])
    evidence_dir = tmp_path / "evidence/inc-1"
    assert evidence_dir.is_dir() and list(evidence_dir.iterdir()) == []  # no half file, no temporary left


def test_a_failing_face_detector_never_raises_into_the_pipeline(tmp_path, scene, regions, caplog) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, BrokenDetector(), pre_s=1, post_s=1)
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        feed(recorder, scene, range(0, 3))
        (opened,) = recorder.on_event(make_event(EventKind.OPENED, 1.0))
        assert feed(recorder, scene, range(3, 6)) == []
    assert opened.evidence == Evidence()
    assert "detector crashed" in caplog.text
    assert not (tmp_path / "evidence/inc-0001/snapshot.jpg").exists()


@pytest.mark.parametrize(("incident_id", "camera_id"), [("../escape", CAMERA), ("a/b", CAMERA),
                                                        (".hidden", CAMERA), ("inc-9", "cam-unknown")])
def test_unsafe_ids_and_unknown_cameras_get_no_evidence(tmp_path, scene, regions, caplog, incident_id,
                                                        camera_id) -> None:
    recorder = EvidenceRecorder(tmp_path / "data", {CAMERA: regions}, NoFaces())
    feed(recorder, scene, [0])
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        (event,) = recorder.on_event(make_event(EventKind.OPENED, 0.0, incident_id=incident_id,
                                                camera_id=camera_id))
    assert event.evidence == Evidence() and "no evidence" in caplog.text
    assert not list(tmp_path.rglob("*.jpg"))


def test_an_incident_without_any_frame_gets_no_snapshot(tmp_path, regions, caplog) -> None:
    recorder = EvidenceRecorder(tmp_path, {CAMERA: regions}, NoFaces())
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        (event,) = recorder.on_event(make_event(EventKind.OPENED, 3.0))
        (closed,) = recorder.on_event(make_event(EventKind.CLOSED, 4.0))
    assert event.evidence == Evidence() and closed.evidence == Evidence()
    assert "no frame" in caplog.text


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"pre_s": -1}, "pre_s"), ({"post_s": float("inf")}, "post_s"), ({"pre_s": 0, "post_s": 0}, "pre_s"),
    ({"annotate": "yes"}, "annotate"), ({"snapshot_peak_gain": -0.1}, "snapshot_peak_gain"),
    ({"max_buffer_frames": 0}, "max_frames"), ({"face_detector": object()}, "face_detector"),
    ({"regions_by_camera": {"cam": ("not a region",)}}, "regions_by_camera"), ({"data_dir": ""}, "data_dir"),
    ({"onset_lag_s": -1}, "onset_lag_s"), ({"clip_max_frames": 0}, "clip_max_frames"),
    ({"clip_frames_per_step": 1.5}, "clip_frames_per_step"), ({"tz": "Asia/Shanghai"}, "tz"),
    ({"window_names": {"w01": 1}}, "window_names"),
])
def test_constructor_arguments_are_validated(tmp_path, regions, kwargs, field) -> None:
    args = {"data_dir": tmp_path, "regions_by_camera": {CAMERA: regions}, "face_detector": NoFaces(), **kwargs}
    with pytest.raises(ValueError, match=field):
        EvidenceRecorder(args.pop("data_dir"), args.pop("regions_by_camera"), args.pop("face_detector"), **args)


def test_frames_of_a_camera_without_regions_are_not_buffered(tmp_path, scene, regions, caplog) -> None:
    recorder = EvidenceRecorder(tmp_path, {"other": regions}, NoFaces())
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        assert recorder.add_frame(scene.frame(0)) == ()
        recorder.add_frame(scene.frame(1))
    assert recorder.buffer(CAMERA) is None
    assert caplog.text.count("has no window regions") == 1  # logged once, not per frame
    np.testing.assert_equal(len(recorder.buffer("other") or ()), 0)
