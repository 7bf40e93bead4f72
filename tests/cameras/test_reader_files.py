"""CameraReader on real video files written by the tests: sampling, pacing, looping, rotation, files that vanish."""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

from cameras import CameraReader, CameraState, Frame
from tests.cameras.conftest import StateLog
from tests.support.video import (
    HEIGHT,
    WIDTH,
    decode_number,
    ffmpeg_display_frame,
    marker_corner,
    with_rotation_metadata,
    write_numbered_video,
)
from tests.support.waiting import Drain, wait_until

FileReader = Callable[..., CameraReader]

UNDO = {0: None, 90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}
APPLY = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def take_all(reader: CameraReader, pause_s: float = 0.0, timeout_s: float = 10.0) -> list[Frame]:
    """Every frame until the reader is finished, consuming slowly when pause_s > 0."""
    frames = []
    while (frame := reader.get(timeout=timeout_s)) is not None:
        frames.append(frame)
        time.sleep(pause_s)
    return frames


def started(reader: CameraReader) -> CameraReader:
    reader.start()
    return reader


def first_frame(reader: CameraReader) -> Frame:
    reader.start()
    frame = reader.get(timeout=10)
    assert frame is not None, reader.health()
    return frame


def test_fast_file_is_sampled_by_stream_time_and_waits_for_a_slow_consumer(
    tmp_path: Path, file_reader: FileReader
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=100, fps=25)
    runs = []
    for pause_s in (0.0, 0.05):  # a quick and a slow consumer see exactly the same frames
        reader = file_reader(video, pace="fast", analysis_fps=2.0)
        reader.start()
        frames = take_all(reader, pause_s=pause_s)
        runs.append(frames)
        assert [decode_number(f.image) for f in frames] == [0, 13, 25, 38, 50, 63, 75, 88]
        assert [f.index for f in frames] == [0, 13, 25, 38, 50, 63, 75, 88]
        assert [round(f.ts, 6) for f in frames] == [0.0, 0.52, 1.0, 1.52, 2.0, 2.52, 3.0, 3.52]
        # Offline wall times are the run start plus stream time.
        spacing = [(f.wall_time - frames[0].wall_time).total_seconds() for f in frames]
        assert spacing == pytest.approx([f.ts for f in frames], abs=1e-5)
        assert all(f.wall_time.utcoffset() is not None and f.wall_time.utcoffset().total_seconds() == 0
                   for f in frames)
        health = reader.health()
        assert (health.state, health.reason) == (CameraState.OFFLINE, "end of file")
        assert (health.frames_read, health.frames_dropped, health.frames_corrupt, health.reconnects) == (
            100, 92, 0, 0)
        assert reader.finished
        assert reader.get(timeout=5) is None  # at once: nothing more will come
        reader.stop()
        assert reader.health().state is CameraState.STOPPED
    assert [f.ts for f in runs[0]] == [f.ts for f in runs[1]]


def test_realtime_pace_follows_the_wall_clock(tmp_path: Path, file_reader: FileReader) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=50, fps=25)  # 2 s of video
    reader = file_reader(video, pace="realtime", analysis_fps=5.0)
    started = time.monotonic()
    reader.start()
    frames = take_all(reader, timeout_s=5)
    elapsed = time.monotonic() - started
    assert 1.6 <= elapsed <= 4.0, elapsed
    numbers = [decode_number(f.image) for f in frames]
    assert len(numbers) >= 7, numbers  # 10 sampled; a busy machine may replace one or two
    assert numbers == sorted(set(numbers))
    assert all(n % 5 == 0 for n in numbers), numbers
    assert reader.health().reason == "end of file"


def test_live_reader_keeps_only_the_newest_frame(tmp_path: Path, file_reader: FileReader) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=100, fps=25)  # 4 s of video
    reader = file_reader(video, pace="realtime", analysis_fps=25.0)
    reader.start()
    time.sleep(1.0)  # the consumer is late: about 25 frames went by
    late = reader.get(timeout=2)
    assert late is not None
    assert decode_number(late.image) >= 15  # the newest, not the first of a queue
    assert reader.health().frames_dropped >= 10
    newer = reader.get(timeout=2)
    assert newer is not None
    assert decode_number(newer.image) > decode_number(late.image)
    assert newer.ts > late.ts


def test_looping_file_restarts_and_keeps_timestamps_growing(tmp_path: Path, file_reader: FileReader) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=10, fps=25)
    reader = file_reader(video, pace="fast", loop=True, analysis_fps=25.0)
    reader.start()
    frames = [reader.get(timeout=5) for _ in range(30)]
    assert all(f is not None for f in frames), reader.health()
    assert [decode_number(f.image) for f in frames] == list(range(10)) * 3
    assert [round(f.ts, 6) for f in frames] == [round(i * 0.04, 6) for i in range(30)]
    health = reader.health()
    assert health.state is CameraState.ONLINE
    assert health.reconnects == 0
    assert not reader.finished


@pytest.mark.parametrize(
    ("rotation", "corner"), [(0, "top-left"), (90, "top-right"), (180, "bottom-right"), (270, "bottom-left")]
)
def test_configured_rotation_turns_every_frame_clockwise(
    tmp_path: Path, file_reader: FileReader, rotation: int, corner: str
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=5, fps=25)
    upright = take_all(started(file_reader(video, rotation=0, analysis_fps=25.0)))
    turned = take_all(started(file_reader(video, rotation=rotation, analysis_fps=25.0)))
    assert len(turned) == len(upright) == 5
    for number, (plain, frame) in enumerate(zip(upright, turned, strict=True)):
        expected_shape = (HEIGHT, WIDTH, 3) if rotation in (0, 180) else (WIDTH, HEIGHT, 3)
        assert frame.image.shape == expected_shape
        assert marker_corner(frame.image) == corner
        back = frame.image if rotation == 0 else cv2.rotate(frame.image, UNDO[rotation])
        assert decode_number(back) == number
        expected = plain.image if rotation == 0 else cv2.rotate(plain.image, APPLY[rotation])
        assert np.array_equal(frame.image, expected)
        assert not frame.image.flags.writeable


def test_rotation_metadata_is_applied_and_configured_rotation_goes_on_top(
    tmp_path: Path, file_reader: FileReader
) -> None:
    plain = write_numbered_video(tmp_path / "plain.mp4", frames=5, fps=25, fourcc="mp4v")
    tagged = with_rotation_metadata(plain, tmp_path / "tagged.mp4", 90)
    # What the container says the picture looks like, as ffmpeg itself displays it.
    display = ffmpeg_display_frame(tagged, tmp_path)
    assert display.shape == (WIDTH, HEIGHT, 3), "the tag should turn the picture to portrait"
    display_corner = marker_corner(display)
    assert display_corner != "top-left"

    honoured = first_frame(file_reader(tagged))
    assert honoured.image.shape == display.shape
    assert marker_corner(honoured.image) == display_corner

    raw = first_frame(file_reader(tagged, auto_orient=False))
    assert raw.image.shape == (HEIGHT, WIDTH, 3)
    assert marker_corner(raw.image) == "top-left"
    assert decode_number(raw.image) == 0

    on_top = first_frame(file_reader(tagged, rotation=90))
    assert on_top.image.shape == (HEIGHT, WIDTH, 3)
    assert marker_corner(on_top.image) == marker_corner(cv2.rotate(display, cv2.ROTATE_90_CLOCKWISE))
    assert np.array_equal(on_top.image, cv2.rotate(honoured.image, cv2.ROTATE_90_CLOCKWISE))

    untagged = first_frame(file_reader(plain))  # no metadata: auto orientation changes nothing
    assert marker_corner(untagged.image) == "top-left"


def test_a_file_that_disappears_and_reappears(tmp_path: Path, file_reader: FileReader) -> None:
    path = tmp_path / "camera.avi"
    stash = write_numbered_video(tmp_path / "stash.avi", frames=10, fps=25)
    log = StateLog()
    reader = file_reader(path, pace="fast", loop=True, analysis_fps=25.0, on_state_change=log)
    not_found = f"file not found: {path}"
    with Drain(reader) as drain:
        reader.start()
        wait_until(lambda: reader.health().reason == not_found, 5, "offline: file not found")
        assert reader.health().state is CameraState.OFFLINE
        wait_until(lambda: reader.health().reconnects >= 2, 5, "retries while the file is missing")
        assert reader.health().frames_read == 0

        os.rename(stash, path)
        wait_until(lambda: reader.health().state is CameraState.ONLINE and drain.count() >= 15, 10, "online")
        reconnects = reader.health().reconnects

        os.rename(path, stash)  # gone while looping: the next restart cannot reopen it
        wait_until(lambda: reader.health().reason == not_found, 5, "offline again")
        seen = drain.count()

        os.rename(stash, path)
        wait_until(lambda: reader.health().state is CameraState.ONLINE and drain.count() > seen + 10, 10,
                   "online again")
        assert reader.health().reconnects > reconnects
    frames = drain.snapshot()
    assert all(b.ts > a.ts for a, b in pairwise(frames)), "ts must never go backwards across reconnects"
    assert log.states()[0] == ("starting", "connecting")
    assert [s for s, _ in log.states()][1:4] == ["offline", "online", "offline"]


def test_garbage_file_is_reported_offline_and_retried(tmp_path: Path, file_reader: FileReader) -> None:
    garbage = tmp_path / "garbage.avi"
    garbage.write_bytes(np.random.default_rng(1).integers(0, 256, 50_000, dtype=np.uint8).tobytes())
    reader = file_reader(garbage)
    reader.start()
    wait_until(lambda: reader.health().reconnects >= 2, 5, "retries")
    health = reader.health()
    assert health.state is CameraState.OFFLINE
    assert health.reason.startswith("cannot open video file")
    assert health.frames_read == 0
    assert reader.get(timeout=0.1) is None
    assert reader.stop()


def test_truncated_file_gives_the_frames_it_has_and_ends(tmp_path: Path, file_reader: FileReader) -> None:
    whole = write_numbered_video(tmp_path / "whole.avi", frames=40, fps=25)
    data = whole.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: int(len(data) * 0.55)])  # the index at the end is gone, the last frame is half there
    reader = file_reader(cut, pace="fast", analysis_fps=25.0)
    reader.start()
    frames = take_all(reader)
    assert 5 < len(frames) < 40
    assert [decode_number(f.image) for f in frames[:-1]] == list(range(len(frames) - 1))
    health = reader.health()
    assert (health.state, health.reason) == (CameraState.OFFLINE, "end of file")
    assert health.frames_read == len(frames)
