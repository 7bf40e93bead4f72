"""FrameRingBuffer: frames of the last N seconds, JPEG-encoded, bounded in count and bytes over long runs."""
from __future__ import annotations

import logging
import tracemalloc
from datetime import UTC, datetime, timedelta

import cv2
import numpy as np
import pytest

from cameras.frame import Frame
from counterwatch.incidents.ring_buffer import FrameRingBuffer

T0 = datetime(2024, 5, 6, tzinfo=UTC)


@pytest.fixture(scope="module")
def small_images(scene) -> list[np.ndarray]:
    """Real scene content at 640x360 (JPEG cost per frame stays low enough for long runs in a test)."""
    return [cv2.resize(scene.image(k), (640, 360), interpolation=cv2.INTER_AREA) for k in range(8)]


def _frame(image: np.ndarray, k: int, fps: float = 2.0, camera: str = "cam") -> Frame:
    return Frame(camera, k, k / fps, T0 + timedelta(seconds=k / fps), image)


def test_memory_stays_bounded_over_many_frames(small_images) -> None:
    buffer = FrameRingBuffer("cam", 11.0)
    rng = np.random.default_rng(0)
    held, traced = [], []
    tracemalloc.start()
    try:
        for k in range(1200):  # 10 minutes at 2 fps
            noise = rng.integers(0, 3, small_images[0].shape, dtype=np.uint8)  # every frame a different JPEG
            buffer.add(_frame(cv2.add(small_images[k % 8], noise), k))
            held.append(buffer.bytes_held)
            if k in (200, 1199):
                traced.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    assert len(buffer) == 23  # 11 s at 2 fps, both ends included
    assert buffer.span_s == pytest.approx(11.0)
    assert buffer.fps() == pytest.approx(2.0)
    assert max(held[100:]) < 1.2 * max(held[:100])
    jpeg_total = sum(len(f.jpeg) for f in buffer.between(-1, 1e9))
    assert jpeg_total < buffer.bytes_held < jpeg_total + 23 * 1024
    assert buffer.bytes_held < 23 * 640 * 360 * 3 / 5  # JPEG keeps it far below raw frames
    assert traced[1] - traced[0] < 1_000_000  # the Python heap does not grow with the frame count


def test_count_and_byte_caps_evict_the_oldest_frames_and_warn(small_images, caplog) -> None:
    buffer = FrameRingBuffer("cam", 60.0, max_frames=5)
    with caplog.at_level(logging.WARNING, logger="counterwatch.incidents"):
        for k in range(12):
            buffer.add(_frame(small_images[k % 8], k))
    assert [f.index for f in buffer.between(0, 100)] == [7, 8, 9, 10, 11]
    assert "clips will be shorter" in caplog.text
    one = len(buffer.between(0, 100)[-1].jpeg)
    by_bytes = FrameRingBuffer("cam", 60.0, max_bytes=3 * one)
    for k in range(10):
        by_bytes.add(_frame(small_images[0], k))
    assert 1 <= len(by_bytes) <= 3 and by_bytes.bytes_held <= 3 * one


def test_between_is_half_open_and_frames_decode_with_their_observation(small_images) -> None:
    buffer = FrameRingBuffer("cam", 30.0)
    for k in range(10):
        buffer.add(_frame(small_images[k % 8], k), observation=None if k % 2 else f"obs{k}")  # type: ignore[arg-type]
    assert [f.ts for f in buffer.between(1.0, 3.0)] == [1.0, 1.5, 2.0, 2.5]
    assert buffer.between(5.0, 9.0) == []
    first = buffer.between(0.0, 0.1)[0]
    assert first.observation == "obs0" and (first.width, first.height) == (640, 360)
    decoded = first.decode()
    assert decoded.shape == (360, 640, 3)
    assert np.abs(decoded.astype(int) - small_images[0].astype(int)).mean() < 3  # JPEG quality 85
    assert buffer.nearest(2.2).ts == 2.0 and buffer.nearest(2.25).ts == 2.0 and buffer.nearest(99).ts == 4.5


def test_a_stream_restart_clears_the_buffer(small_images) -> None:
    buffer = FrameRingBuffer("cam", 30.0)
    for k in range(6):
        buffer.add(_frame(small_images[0], k))
    buffer.add(_frame(small_images[1], 1))  # ts went back: a reconnect or a looped file
    assert len(buffer) == 1 and buffer.last_ts == 0.5
    assert buffer.bytes_held == buffer.between(0, 10)[0].nbytes


def test_frames_of_another_camera_are_refused(small_images) -> None:
    buffer = FrameRingBuffer("cam", 10.0)
    with pytest.raises(ValueError, match="'other'"):
        buffer.add(_frame(small_images[0], 0, camera="other"))


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"camera_id": ""}, "camera_id"),
    ({"seconds": 0}, "seconds"),
    ({"seconds": float("nan")}, "seconds"),
    ({"max_frames": 0}, "max_frames"),
    ({"max_bytes": -1}, "max_bytes"),
    ({"jpeg_quality": 101}, "jpeg_quality"),
])
def test_constructor_arguments_are_validated(kwargs, field) -> None:
    args = {"camera_id": "cam", "seconds": 10.0, **kwargs}
    with pytest.raises(ValueError, match=field):
        FrameRingBuffer(args.pop("camera_id"), args.pop("seconds"), **args)
