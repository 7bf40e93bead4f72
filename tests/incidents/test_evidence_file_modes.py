"""Evidence files and folders are private to the service's user (0600 / 0700) whatever the umask: snapshots and
clips, sampled frames for labelling, and the incidents.jsonl log."""
from __future__ import annotations

import os
import stat
from datetime import timedelta
from pathlib import Path

import pytest

from counterwatch.dataset import CandidateFrame, store_sample
from counterwatch.incidents.events import EventKind
from counterwatch.incidents.evidence import EvidenceRecorder
from counterwatch.incidents.sink import JsonlSink
from tests.incidents.conftest import CAMERA, T0, make_event, staff_observation


class NoFaces:
    def detect(self, image):
        return ()


@pytest.fixture
def usual_umask():
    """The umask most systems start services with (022: new files 0644, folders 0755)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def assert_private(root: Path, expected: set[str]) -> None:
    found = {p.relative_to(root).as_posix(): mode(p) for p in root.rglob("*")}
    assert set(found) == expected
    assert {name: oct(m) for name, m in found.items() if m & 0o077} == {}


def test_snapshot_clip_and_their_folders_are_private(usual_umask, tmp_path, scene, regions) -> None:
    data_dir = tmp_path / "data"
    recorder = EvidenceRecorder(data_dir, {CAMERA: regions}, NoFaces(), pre_s=1, post_s=1)
    for k in range(5):
        frame = scene.frame(k, jitter=0.0)
        recorder.add_frame(frame, staff_observation(frame))
    recorder.on_event(make_event(EventKind.OPENED, 4 / 2))
    (update,) = recorder.flush()
    assert update.evidence.clip == "evidence/inc-0001/clip.mp4"
    assert_private(data_dir, {"evidence", "evidence/inc-0001", "evidence/inc-0001/snapshot.jpg",
                              "evidence/inc-0001/clip.mp4"})
    assert mode(data_dir / "evidence/inc-0001") == 0o700
    assert mode(data_dir / "evidence/inc-0001/clip.mp4") == 0o600


def test_sampled_frames_for_labelling_are_private(usual_umask, tmp_path, scene) -> None:
    frame = CandidateFrame(CAMERA, "w01", T0 + timedelta(seconds=3), scene.image(0))
    path = store_sample(tmp_path, frame)
    assert path.is_file()
    relative = path.relative_to(tmp_path).as_posix()
    assert_private(tmp_path, {"samples", f"samples/{CAMERA}", f"samples/{CAMERA}/w01", relative})


def test_incident_log_is_private_and_an_old_group_readable_one_is_tightened(usual_umask, tmp_path) -> None:
    sink = JsonlSink(tmp_path / "data")
    sink.deliver(make_event(EventKind.OPENED, 10.0))
    sink.close()
    assert_private(tmp_path / "data", {"incidents.jsonl"})
    assert mode(tmp_path / "data") == 0o700

    old = tmp_path / "old"
    old.mkdir()
    (old / "incidents.jsonl").write_text("")
    os.chmod(old / "incidents.jsonl", 0o640)  # what earlier versions created
    JsonlSink(old).close()
    assert mode(old / "incidents.jsonl") == 0o600
