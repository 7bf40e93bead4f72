"""Decoding at the analysis rate: the reader grabs every frame but retrieves only those its sampling takes.

The reference for "the same frames as before" is a plain cv2.VideoCapture.read() loop over the same file, sampled
with the same StreamTimeSampler: what the reader handed over when every frame was read whole.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from cameras import CameraReader, CameraState, EndOfStream, Frame, FrameSource, StreamTimeSampler, VideoFileSource
from tests.cameras.conftest import StateLog
from tests.support.scripted_source import ScriptedSource
from tests.support.video import decode_number, numbered_image, with_rotation_metadata, write_numbered_video
from tests.support.waiting import wait_until

MakeReader = Callable[..., CameraReader]
FileReader = Callable[..., CameraReader]

CV2_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


@dataclass(frozen=True)
class Expected:
    index: int
    ts: float
    image: np.ndarray


def plain_read_frames(path: Path, *, auto_orient: bool = False) -> tuple[list[float], list[np.ndarray]]:
    """(timestamps, images) of every frame, by cv2.VideoCapture.read(), as the reader saw them before the split."""
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    assert capture.isOpened()
    capture.set(cv2.CAP_PROP_ORIENTATION_AUTO, 1 if auto_orient else 0)
    timestamps: list[float] = []
    images: list[np.ndarray] = []
    try:
        while True:
            ok, image = capture.read()
            if not ok:
                break
            timestamps.append(capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
            images.append(image)
    finally:
        capture.release()
    assert images, f"no frame in {path}"
    return timestamps, images


def sample_like_before(
    timestamps: list[float], images: list[np.ndarray], fps: float, *, corrupt: Collection[int] = (), rotation: int = 0
) -> list[Expected]:
    """The frames a whole-read reader handed over: corrupt frames (by position) get no index and take no tick."""
    sampler = StreamTimeSampler(fps)
    expected = []
    good = 0
    for position, (ts, image) in enumerate(zip(timestamps, images, strict=True)):
        if position in corrupt:
            continue
        if sampler.due(ts):
            turned = cv2.rotate(image, CV2_ROTATE[rotation]) if rotation else image
            expected.append(Expected(good, ts, turned))
        good += 1
    return expected


def take_all(reader: CameraReader) -> list[Frame]:
    reader.start()
    frames = []
    while (frame := reader.get(timeout=10)) is not None:
        frames.append(frame)
    return frames


def assert_same_frames(frames: list[Frame], expected: list[Expected]) -> None:
    assert [f.index for f in frames] == [e.index for e in expected]
    assert [f.ts for f in frames] == [e.ts for e in expected]  # exactly: the same arithmetic on the same positions
    for frame, want in zip(frames, expected, strict=True):
        assert frame.image.shape == want.image.shape
        assert np.array_equal(frame.image, want.image), f"pixels differ at index {frame.index}"


class CountingFileSource(VideoFileSource):
    """A real file source that records what the reader asks of it; retrieve fails for the frames in `fail`."""

    def __init__(self, path: Path, *, fail: Collection[int] = (), **options: Any) -> None:
        super().__init__(path, **options)
        self.fail = frozenset(fail)
        self.grabs = 0
        self.reads = 0
        self.retrieved: list[tuple[int, float]] = []  # (frame number in the file, timestamp)
        self._lock = threading.Lock()

    def grab(self) -> bool:
        with self._lock:
            self.grabs += 1
        return super().grab()

    def read(self) -> np.ndarray | None:
        with self._lock:
            self.reads += 1
        return super().read()

    def retrieve(self) -> np.ndarray | None:
        number = self.grabs - 1
        image = super().retrieve()
        with self._lock:
            self.retrieved.append((number, self.timestamp))
        return None if number in self.fail else image


@pytest.mark.parametrize(
    ("name", "fourcc", "analysis_fps"),
    [("v.avi", "MJPG", 2.0), ("v.mp4", "mp4v", 2.0), ("v.mp4", "mp4v", 3.0)],
)
def test_sampled_frames_are_exactly_those_of_a_plain_read_loop(
    tmp_path: Path, file_reader: FileReader, name: str, fourcc: str, analysis_fps: float
) -> None:
    video = write_numbered_video(tmp_path / name, frames=150, fps=25, fourcc=fourcc)
    timestamps, images = plain_read_frames(video)
    expected = sample_like_before(timestamps, images, analysis_fps)
    assert len(expected) == 6 * analysis_fps  # 6 s of video

    reader = file_reader(video, pace="fast", analysis_fps=analysis_fps)
    frames = take_all(reader)

    assert_same_frames(frames, expected)
    if analysis_fps == 2.0:
        assert [decode_number(f.image) for f in frames] == [0, 13, 25, 38, 50, 63, 75, 88, 100, 113, 125, 138]
    health = reader.health()
    assert (health.state, health.reason) == (CameraState.OFFLINE, "end of file")
    assert (health.frames_read, health.frames_dropped, health.frames_corrupt) == (150, 150 - len(expected), 0)


def test_rotation_metadata_and_configured_rotation_apply_to_the_retrieved_frames(
    tmp_path: Path, file_reader: FileReader
) -> None:
    plain = write_numbered_video(tmp_path / "plain.mp4", frames=60, fps=25, fourcc="mp4v")
    tagged = with_rotation_metadata(plain, tmp_path / "tagged.mp4", 90)
    timestamps, images = plain_read_frames(tagged, auto_orient=True)
    assert images[0].shape[:2] == (160, 120), "the tag should turn the picture to portrait"
    expected = sample_like_before(timestamps, images, 2.0, rotation=90)

    frames = take_all(file_reader(tagged, pace="fast", analysis_fps=2.0, rotation=90))

    assert_same_frames(frames, expected)
    # The tag turns the picture a quarter counter-clockwise for display; the configured rotation turns it back.
    assert [decode_number(f.image) for f in frames] == [0, 13, 25, 38, 50]


def test_a_looping_file_sampled_across_restarts_gives_the_frames_of_a_plain_read_loop(
    tmp_path: Path, file_reader: FileReader
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=30, fps=25)  # 1.2 s a pass: ticks fall on other frames
    one_pass_ts, one_pass_images = plain_read_frames(video)
    timestamps: list[float] = []
    offset = 0.0
    for _ in range(4):  # the source's own looping rule: each pass continues one frame period after the last
        timestamps += [offset + ts for ts in one_pass_ts]
        offset += one_pass_ts[-1] + 1 / 25
    expected = sample_like_before(timestamps, one_pass_images * 4, 2.0)[:9]

    reader = file_reader(video, pace="fast", loop=True, analysis_fps=2.0)
    reader.start()
    frames = [reader.get(timeout=10) for _ in range(9)]

    assert all(f is not None for f in frames), reader.health()
    assert [decode_number(f.image) for f in frames] == [0, 13, 25, 8, 20, 3, 15, 28, 10]  # type: ignore[union-attr]
    assert [f.index for f in frames] == [e.index for e in expected]  # type: ignore[union-attr]
    assert [f.ts for f in frames] == pytest.approx([e.ts for e in expected], abs=1e-9)  # type: ignore[union-attr]
    for frame, want in zip(frames, expected, strict=True):
        assert np.array_equal(frame.image, want.image)  # type: ignore[union-attr]
    assert reader.health().reconnects == 0


@pytest.mark.parametrize(("pace", "frames", "sampled"), [("fast", 100, 8), ("realtime", 50, 4)])
def test_only_the_sampled_frames_are_retrieved(
    tmp_path: Path, make_reader: MakeReader, pace: str, frames: int, sampled: int
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=frames, fps=25)
    sources: list[CountingFileSource] = []

    def factory() -> FrameSource:
        sources.append(CountingFileSource(video, loop=False, pace=pace))
        return sources[-1]

    reader = make_reader(factory, analysis_fps=2.0)
    got = take_all(reader)

    (source,) = sources
    assert source.reads == 0  # the reader never reads whole frames
    assert source.grabs == frames + 1  # every frame, and the grab that met the end of the file
    assert [n for n, _ in source.retrieved] == [0, 13, 25, 38, 50, 63, 75, 88][:sampled]
    assert [ts for _, ts in source.retrieved] == [f.ts for f in got]
    assert [decode_number(f.image) for f in got] == [n for n, _ in source.retrieved]
    health = reader.health()
    assert (health.frames_read, health.frames_dropped, health.frames_corrupt) == (frames, frames - sampled, 0)


def test_a_sampled_frame_that_fails_to_retrieve_is_corrupt_and_the_next_good_frame_takes_its_tick(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=100, fps=25)
    fail = {13, 14, 50}  # frames the sampling takes, then the frame that takes 13's tick in its place
    timestamps, images = plain_read_frames(video)
    expected = sample_like_before(timestamps, images, 2.0, corrupt=fail)
    sources: list[CountingFileSource] = []

    def factory() -> FrameSource:
        sources.append(CountingFileSource(video, fail=fail, loop=False, pace="fast"))
        return sources[-1]

    reader = make_reader(factory, analysis_fps=2.0)
    frames = take_all(reader)

    assert_same_frames(frames, expected)
    assert [decode_number(f.image) for f in frames] == [0, 15, 25, 38, 51, 63, 75, 88]
    assert [n for n, _ in sources[0].retrieved] == [0, 13, 14, 15, 25, 38, 50, 51, 63, 75, 88]
    health = reader.health()
    assert (health.frames_read, health.frames_corrupt, health.frames_dropped) == (97, 3, 89)
    assert (health.reason, health.reconnects) == ("end of file", 0)


def test_a_run_of_sampled_frames_that_fail_to_retrieve_triggers_a_reconnect(
    tmp_path: Path, make_reader: MakeReader
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=40, fps=25)
    sources: list[CountingFileSource] = []

    def factory() -> FrameSource:
        # The first connection fails to retrieve anything from frame 10 on; the ones after it work.
        sources.append(CountingFileSource(video, fail=range(10, 40) if not sources else (), loop=True, pace="fast"))
        return sources[-1]

    log = StateLog()
    reader = make_reader(factory, analysis_fps=2.0, corrupt_run_limit=3, on_state_change=log)
    reader.start()
    assert reader.get(timeout=10) is not None  # frame 0
    wait_until(lambda: ("offline", "3 corrupt or missing frames in a row") in log.states(), 10, "the run")
    # Frames 10-12 are skipped by the sampling (never retrieved, good); 13, 14, 15 are the run of three.
    assert sources[0].grabs == 16
    assert [n for n, _ in sources[0].retrieved] == [0, 13, 14, 15]
    wait_until(lambda: reader.health().state is CameraState.ONLINE and reader.health().reconnects == 1, 10,
               "online again")
    assert reader.health().frames_corrupt == 3


def test_a_source_that_only_reads_is_grabbed_through_the_default_and_keeps_its_counts(
    make_reader: MakeReader,
) -> None:
    script: list[object] = [numbered_image(n) for n in range(40)]
    script[5] = None  # missing, not sampled
    script[13] = "not an image"  # garbage where the 0.5 s tick falls: frame 14 takes the tick
    script[20] = np.zeros((4, 4, 2), np.uint8)  # unusable, not sampled: still corrupt, although never retrieved
    source = ScriptedSource(script, realtime=False, ts_step_s=0.04, end=EndOfStream("end of script", final=True))
    reader = make_reader(lambda: source, analysis_fps=2.0)

    frames = take_all(reader)

    assert [decode_number(f.image) for f in frames] == [0, 14, 25, 38]
    assert [f.index for f in frames] == [0, 12, 22, 35]  # good frames before each one
    assert [round(f.ts, 6) for f in frames] == [0.0, 0.56, 1.0, 1.52]
    health = reader.health()
    assert (health.frames_read, health.frames_corrupt, health.frames_dropped) == (37, 3, 33)
    assert source.reads == 41


def test_default_grab_and_retrieve_of_a_read_only_source() -> None:
    image = numbered_image(7)
    source = ScriptedSource([image, None, "garbage"], ts_step_s=0.5)
    assert source.retrieve() is None  # nothing grabbed yet
    assert source.grab() is True
    assert source.timestamp == 0.0
    kept = source.retrieve()
    assert kept is not None and np.array_equal(kept, image)
    assert source.retrieve() is None  # at most once per grab
    assert source.grab() is False  # missing
    assert source.retrieve() is None
    assert source.grab() is False  # unusable
    assert source.timestamp == 1.0


def test_file_source_split_read_matches_videocapture_read(tmp_path: Path) -> None:
    video = write_numbered_video(tmp_path / "v.mp4", frames=20, fps=25, fourcc="mp4v")
    timestamps, images = plain_read_frames(video)
    source = VideoFileSource(video, loop=False, pace="fast")
    assert source.retrieve() is None  # before open
    source.open()
    try:
        assert source.retrieve() is None  # before the first grab
        for number in range(20):
            if number % 3 == 0:
                image = source.read()  # read() is grab() + retrieve()
            else:
                assert source.grab() is True
                image = source.retrieve() if number % 3 == 1 else None
                if image is not None:
                    assert source.retrieve() is None  # at most once per grab
            assert source.timestamp == timestamps[number]
            if image is not None:
                assert np.array_equal(image, images[number])
        with pytest.raises(EndOfStream):
            source.grab()
    finally:
        source.close()


def test_realtime_pacing_still_follows_the_wall_clock_when_frames_are_only_grabbed(
    tmp_path: Path, file_reader: FileReader
) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=50, fps=25)  # 2 s of video
    reader = file_reader(video, pace="realtime", analysis_fps=1.0)  # 48 of 50 frames never retrieved
    started = time.monotonic()
    frames = take_all(reader)  # returns as soon as the reader has finished the file
    elapsed = time.monotonic() - started
    assert 1.6 <= elapsed <= 4.0, elapsed
    assert [decode_number(f.image) for f in frames] == [0, 25]
    assert reader.health().frames_read == 50
