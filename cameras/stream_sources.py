"""Live cameras: network streams (RTSP, HTTP) and USB devices, through OpenCV.

Importing this module makes FFmpeg use RTSP over TCP: it adds `rtsp_transport;tcp` to the process environment
variable OPENCV_FFMPEG_CAPTURE_OPTIONS unless that already sets `rtsp_transport`. OpenCV reads the variable on every
open and offers no per-capture option for it; it is set at import, before any capture thread runs, because changing
the environment while another thread opens a capture is not safe. TCP because UDP loses packets (and frames) on busy
hall networks and does not pass NAT; the option is ignored by non-RTSP inputs.
"""
from __future__ import annotations

import os
import sys
import time
from typing import Any, NoReturn
from urllib.parse import urlsplit, urlunsplit

import cv2
import numpy.typing as npt

from cameras._capture import enable_metadata_rotation, release_quietly
from cameras._checks import positive_seconds
from cameras.base import SourceError, SourceStalled, SplitFrameSource

_CAPTURE_OPTIONS_VAR = "OPENCV_FFMPEG_CAPTURE_OPTIONS"

# A read that fails after at least this share of the read timeout failed by timing out (FFmpeg's interrupt
# callback), not because the peer closed the stream.
_TIMED_OUT_SHARE = 0.8


def _prefer_rtsp_over_tcp() -> None:
    current = os.environ.get(_CAPTURE_OPTIONS_VAR, "")
    if "rtsp_transport" in current:
        return
    os.environ[_CAPTURE_OPTIONS_VAR] = f"{current}|rtsp_transport;tcp" if current else "rtsp_transport;tcp"


_prefer_rtsp_over_tcp()


def redact_url(url: str) -> str:
    """The URL without its password, for logs and health reasons."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid url>"
    if parts.password is None and parts.username is None:
        return url
    host = parts.hostname or ""
    if parts.port is not None:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, f"***@{host}", parts.path, parts.query, parts.fragment))


class _LiveCapture(SplitFrameSource):
    """A cv2.VideoCapture on a live device or stream; timestamp is time.monotonic() at capture.

    grab() receives and decodes the next frame (VideoCapture.grab()), retrieve() converts it to BGR
    (VideoCapture.retrieve()); a subclass says in _grab_failed() what a failed grab means.
    """

    realtime = True

    def __init__(self) -> None:
        self._capture: cv2.VideoCapture | None = None
        self._timestamp = 0.0
        self._retrievable = False  # a frame was grabbed and not yet retrieved

    @property
    def timestamp(self) -> float:
        return self._timestamp

    def grab(self) -> bool:
        if self._capture is None:
            raise SourceError(f"{self.description}: grab() before open()")
        self._retrievable = False
        started = time.monotonic()
        ok = self._capture.grab()
        self._timestamp = time.monotonic()
        if not ok:
            self._grab_failed(self._timestamp - started)
        self._retrievable = True
        return True

    def _grab_failed(self, waited_s: float) -> NoReturn:
        """Raises the SourceError that a failed grab after waited_s seconds means for this kind of camera."""
        raise SourceError(f"{self.description} delivered no frame")

    def retrieve(self) -> npt.NDArray[Any] | None:
        if self._capture is None or not self._retrievable:
            return None
        self._retrievable = False
        ok, image = self._capture.retrieve()
        return image if ok else None

    def close(self) -> None:
        release_quietly(self._capture)
        self._capture = None


class NetworkStreamSource(_LiveCapture):
    """An RTSP(S) or HTTP(S) stream read through OpenCV's FFmpeg backend, with open and read timeouts."""

    def __init__(self, url: str, *, open_timeout_s: float, read_timeout_s: float, auto_orient: bool = True) -> None:
        super().__init__()
        if not isinstance(url, str) or not url.strip():
            raise ValueError(f"url must be a non-empty string, got {url!r}")
        self._url = url.strip()
        self._open_timeout_s = positive_seconds("open_timeout_s", open_timeout_s)
        self._read_timeout_s = positive_seconds("read_timeout_s", read_timeout_s)
        self._auto_orient = bool(auto_orient)

    @property
    def description(self) -> str:
        return f"stream {redact_url(self._url)}"

    @property
    def open_timeout_s(self) -> float | None:
        return self._open_timeout_s

    def open(self) -> None:
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self._open_timeout_s * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self._read_timeout_s * 1000),
        ]
        capture = cv2.VideoCapture(self._url, cv2.CAP_FFMPEG, params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(
                f"cannot open {self.description}: unreachable, refused, not a video, "
                f"or no answer within {self._open_timeout_s:g} s"
            )
        enable_metadata_rotation(capture, self._auto_orient)
        self._capture = capture

    def _grab_failed(self, waited_s: float) -> NoReturn:
        if waited_s >= _TIMED_OUT_SHARE * self._read_timeout_s:
            raise SourceStalled(f"no data from {self.description} for {waited_s:.1f} s (read timeout)")
        # FFmpeg already skips undecodable packets; a failed grab means the stream ended or the connection broke.
        raise SourceError(f"{self.description} ended or the connection was lost")


class UsbDeviceSource(_LiveCapture):
    """A local camera by device index (V4L2 on Linux). OpenCV has no read timeout here: the reader's stall
    watchdog covers a device that stops delivering."""

    def __init__(self, index: int) -> None:
        super().__init__()
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise ValueError(f"index must be an int >= 0, got {index!r}")
        self._index = index

    @property
    def description(self) -> str:
        return f"usb camera {self._index}"

    def open(self) -> None:
        backend = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY
        capture = cv2.VideoCapture(self._index, backend)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open {self.description}: no such device, busy, or no permission")
        self._capture = capture

    def _grab_failed(self, waited_s: float) -> NoReturn:
        raise SourceError(f"{self.description} delivered no frame (unplugged?)")
