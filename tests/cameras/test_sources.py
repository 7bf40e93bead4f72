"""The source factory and the OpenCV-backed sources, used directly."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from cameras import (
    EndOfStream,
    NetworkStreamSource,
    SourceError,
    UsbDeviceSource,
    VideoFileSource,
    open_source,
)
from cameras.stream_sources import redact_url
from tests.support.video import decode_number, write_numbered_video

OPTS = {"loop": False, "pace": "fast", "open_timeout_s": 2.0, "read_timeout_s": 2.0}


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("rtsp://127.0.0.1:8554/cam", NetworkStreamSource),
        ("RTSPS://cam.example/1", NetworkStreamSource),
        ("http://127.0.0.1/video.mjpg", NetworkStreamSource),
        ("https://cam.example/video.mjpg", NetworkStreamSource),
        ("usb:0", UsbDeviceSource),
        ("USB:3", UsbDeviceSource),
        (0, UsbDeviceSource),
        ("/no/such/video.mp4", VideoFileSource),
        (Path("relative/video.avi"), VideoFileSource),
        ("file:///no/such/video%20one.mp4", VideoFileSource),
    ],
)
def test_open_source_picks_by_scheme(address: object, kind: type) -> None:
    assert isinstance(open_source(address, **OPTS), kind)  # type: ignore[arg-type]


def test_file_url_is_decoded_to_a_path() -> None:
    source = open_source("file:///no/such/video%20one.mp4", **OPTS)
    assert isinstance(source, VideoFileSource)
    assert source.path == Path("/no/such/video one.mp4")


@pytest.mark.parametrize(
    ("address", "options", "name"),
    [
        ("ftp://host/video.mp4", {}, "source"),
        ("", {}, "source"),
        (-1, {}, "source"),
        (True, {}, "source"),
        ("video.mp4", {"pace": "slow"}, "pace"),
        ("video.mp4", {"loop": "yes"}, "loop"),
        ("video.mp4", {"open_timeout_s": 0}, "open_timeout_s"),
        ("video.mp4", {"read_timeout_s": -1.0}, "read_timeout_s"),
    ],
)
def test_open_source_rejects_malformed_configuration(address: object, options: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        open_source(address, **{**OPTS, **options})  # type: ignore[arg-type]


def test_missing_file_does_not_raise_from_the_factory_but_from_open(tmp_path: Path) -> None:
    missing = tmp_path / "gone.avi"
    source = open_source(missing, **OPTS)
    with pytest.raises(SourceError, match=f"file not found: {missing}"):
        source.open()
    source.close()
    source.close()  # closing twice, and after a failed open, is allowed


def test_file_timestamps_are_positions_in_the_file_and_end_of_file_is_final(tmp_path: Path) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=6, fps=25)
    source = VideoFileSource(video, loop=False, pace="fast")
    source.open()
    try:
        seen = []
        for _ in range(6):
            image = source.read()
            assert image is not None
            seen.append((decode_number(image), round(source.timestamp, 6)))
        assert seen == [(i, round(i * 0.04, 6)) for i in range(6)]
        with pytest.raises(EndOfStream, match="end of file") as ended:
            source.read()
        assert ended.value.final
    finally:
        source.close()


def test_looping_file_restarts_with_growing_timestamps(tmp_path: Path) -> None:
    video = write_numbered_video(tmp_path / "v.avi", frames=4, fps=10)
    source = VideoFileSource(video, loop=True, pace="fast")
    source.open()
    try:
        seen = []
        for _ in range(10):
            image = source.read()
            assert image is not None
            seen.append((decode_number(image), round(source.timestamp, 6)))
        assert [n for n, _ in seen] == [0, 1, 2, 3, 0, 1, 2, 3, 0, 1]
        assert [ts for _, ts in seen] == [round(i * 0.1, 6) for i in range(10)]
    finally:
        source.close()


def test_rtsp_is_read_over_tcp() -> None:
    assert "rtsp_transport;tcp" in os.environ["OPENCV_FFMPEG_CAPTURE_OPTIONS"]


def test_credentials_never_appear_in_descriptions() -> None:
    url = "rtsp://admin:s3cret@10.0.0.5:554/stream1"
    assert redact_url(url) == "rtsp://***@10.0.0.5:554/stream1"
    source = open_source(url, **OPTS)
    assert "s3cret" not in source.description
    assert redact_url("rtsp://10.0.0.5/stream1") == "rtsp://10.0.0.5/stream1"
