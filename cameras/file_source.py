"""Video files as cameras: for offline evaluation ("fast") and for simulating a live camera ("realtime")."""
from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import cv2
import numpy.typing as npt

from cameras._capture import enable_metadata_rotation, release_quietly
from cameras.base import EndOfStream, SourceError, SplitFrameSource

PACES: tuple[str, ...] = ("realtime", "fast")

# Files with no usable frame rate in their header are paced and timed as if they had this one.
_FALLBACK_FPS = 25.0


def check_pace(pace: object) -> str:
    if pace not in PACES:
        raise ValueError(f"pace must be one of {PACES}, got {pace!r}")
    return str(pace)


class VideoFileSource(SplitFrameSource):
    """A video file read through OpenCV's FFmpeg backend.

    timestamp: the frame's position in the file in seconds (its presentation time). With `loop`, each restart
    continues from the end of the previous pass, so timestamps keep growing.
    grab() decodes the next frame (VideoCapture.grab()); retrieve() converts it to BGR (VideoCapture.retrieve(), which
    also applies the container's rotation metadata when auto_orient); read() is both.
    pace "realtime": grab() sleeps so frames come at the file's own rate, like a live camera (`realtime` is True).
    pace "fast": frames come as fast as they decode (`realtime` is False: the reader applies back-pressure).
    End of file: EndOfStream(final=True) without loop; with loop the file is reopened, so a file that disappeared
    in the meantime raises SourceError("file not found: PATH") and the reader reconnects until it is back.
    """

    def __init__(self, path: str | Path, *, loop: bool, pace: str, auto_orient: bool = True) -> None:
        if not isinstance(loop, bool):
            raise ValueError(f"loop must be a bool, got {loop!r}")
        self._path = Path(path)
        self._loop = loop
        self.realtime = check_pace(pace) == "realtime"
        self._auto_orient = bool(auto_orient)
        self._capture: cv2.VideoCapture | None = None
        self._frame_period_s = 1.0 / _FALLBACK_FPS
        self._loop_offset_s = 0.0  # stream time taken by the passes already completed
        self._pass_frames = 0
        self._pass_position_s = -math.inf  # position of the last frame of the current pass
        self._timestamp = 0.0
        self._pace_origin: tuple[float, float] | None = None  # (monotonic, timestamp) of the first frame
        self._retrievable = False  # a frame was grabbed and not yet retrieved

    @property
    def description(self) -> str:
        return f"file {self._path}"

    @property
    def path(self) -> Path:
        return self._path

    @property
    def timestamp(self) -> float:
        return self._timestamp

    def open(self) -> None:
        self._capture = self._open_capture()

    def _open_capture(self) -> cv2.VideoCapture:
        if not self._path.is_file():
            raise SourceError(f"file not found: {self._path}")
        capture = cv2.VideoCapture(str(self._path), cv2.CAP_FFMPEG)
        if not capture.isOpened():
            capture.release()
            raise SourceError(f"cannot open video file (unreadable or not a video): {self._path}")
        enable_metadata_rotation(capture, self._auto_orient)
        fps = capture.get(cv2.CAP_PROP_FPS)
        if math.isfinite(fps) and 0 < fps <= 1000:
            self._frame_period_s = 1.0 / fps
        return capture

    def grab(self) -> bool:
        if self._capture is None:
            raise SourceError(f"{self.description}: grab() before open()")
        self._retrievable = False
        if not self._capture.grab():
            if not self._loop:
                raise EndOfStream("end of file", final=True)
            if self._pass_frames == 0:
                raise SourceError(f"video file has no readable frame: {self._path}")
            self._restart()
            if not self._capture.grab():
                raise SourceError(f"video file has no readable frame after restarting: {self._path}")
        self._retrievable = True
        self._timestamp = self._loop_offset_s + self._next_position()
        self._pass_frames += 1
        if self.realtime:
            self._sleep_until_due()
        return True

    def retrieve(self) -> npt.NDArray[Any] | None:
        if self._capture is None or not self._retrievable:
            return None
        self._retrievable = False
        ok, image = self._capture.retrieve()
        return image if ok else None

    def _next_position(self) -> float:
        """Position of the frame just read; forced to grow, since some containers report 0 or repeat values."""
        assert self._capture is not None
        position = self._capture.get(cv2.CAP_PROP_POS_MSEC) / 1000.0
        if not math.isfinite(position) or position < 0 or position <= self._pass_position_s:
            position = max(self._pass_position_s + self._frame_period_s, 0.0)
        self._pass_position_s = position
        return position

    def _restart(self) -> None:
        self._loop_offset_s += self._pass_position_s + self._frame_period_s
        self._pass_frames = 0
        self._pass_position_s = -math.inf
        release_quietly(self._capture)
        self._capture = None
        self._capture = self._open_capture()

    def _sleep_until_due(self) -> None:
        now = time.monotonic()
        if self._pace_origin is None:
            self._pace_origin = (now, self._timestamp)
            return
        origin_clock, origin_ts = self._pace_origin
        delay = origin_clock + (self._timestamp - origin_ts) - now
        if delay > 0:
            time.sleep(delay)

    def close(self) -> None:
        release_quietly(self._capture)
        self._capture = None
