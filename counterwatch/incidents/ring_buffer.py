"""A per-camera ring buffer of recent analysed frames, the source of evidence clips.

Frames arrive at the analysis rate, not the camera's native rate: the reader hands the pipeline frames at the
camera's `analysis_fps` (2 fps by default), so a buffer, and every clip cut from it, holds frames at that rate (a
10 s clip at 2 fps is 20 frames). That is enough for a supervisor to see what happened and keeps the buffer small
enough to reach back to the onset of a behaviour that was alerted a dwell later.

Memory is bounded three ways: frames older than `seconds` (by frame ts) are dropped, frames are kept JPEG-encoded
(quality 85: about 70-150 kB for a 1280x720 frame instead of 2.7 MB raw), and both the count and the encoded bytes
are capped. The frames held are the raw camera images (unmasked): they stay in this process's memory and are
masked by the evidence recorder before anything is encoded for storage.
"""
from __future__ import annotations

import logging
import math
import statistics
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise

import cv2
import numpy as np

from cameras.frame import Frame
from vision.observation import Observation

logger = logging.getLogger("counterwatch.incidents")

DEFAULT_JPEG_QUALITY = 85
# The caps guard memory; the time window (`seconds`) is what normally bounds the buffer. The evidence recorder asks
# for pre-roll + the longest rule dwell + post-roll: 131 s with the defaults, 262 frames at 2 fps, 15 MiB of the
# demo's 1280x720 frames (measured) or an estimated 40-65 MiB of 1920x1080 ones. Past a cap the oldest frames go,
# and clips start later than the onset (logged).
DEFAULT_MAX_FRAMES = 1024  # 8.5 minutes at 2 fps
DEFAULT_MAX_BYTES = 96 * 1024 * 1024
# Python object overhead per held frame (the dataclass, the bytes header, deque slot); small but counted so that
# bytes_held is an honest upper estimate of what the buffer keeps alive, not just the JPEG payload.
_OVERHEAD_BYTES = 512


@dataclass(frozen=True)
class BufferedFrame:
    """One frame as the buffer keeps it: JPEG bytes plus what is needed to place and annotate it."""

    camera_id: str
    index: int
    ts: float
    wall_time: datetime
    width: int
    height: int
    jpeg: bytes
    observation: Observation | None = None

    def decode(self) -> np.ndarray:
        """The frame's BGR image (lossy: a JPEG round trip of the original)."""
        image = cv2.imdecode(np.frombuffer(self.jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise ValueError(f"buffered frame {self.index} of camera {self.camera_id!r} does not decode")
        return image

    @property
    def nbytes(self) -> int:
        return len(self.jpeg) + _OVERHEAD_BYTES


class FrameRingBuffer:
    """The last `seconds` of one camera's analysed frames, JPEG-encoded, in ts order.

    Not thread-safe: one camera's frames are handled by one thread (the camera's pipeline loop).
    """

    def __init__(self, camera_id: str, seconds: float, *, max_frames: int = DEFAULT_MAX_FRAMES,
                 max_bytes: int = DEFAULT_MAX_BYTES, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> None:
        if not isinstance(camera_id, str) or not camera_id:
            raise ValueError("FrameRingBuffer.camera_id must be a non-empty string")
        if not (isinstance(seconds, (int, float)) and math.isfinite(seconds) and seconds > 0):
            raise ValueError(f"FrameRingBuffer.seconds must be a finite number > 0, got {seconds!r}")
        if not isinstance(max_frames, int) or max_frames < 1:
            raise ValueError(f"FrameRingBuffer.max_frames must be an int >= 1, got {max_frames!r}")
        if not isinstance(max_bytes, int) or max_bytes < 1:
            raise ValueError(f"FrameRingBuffer.max_bytes must be an int >= 1, got {max_bytes!r}")
        if not isinstance(jpeg_quality, int) or not 1 <= jpeg_quality <= 100:
            raise ValueError(f"FrameRingBuffer.jpeg_quality must be an int within 1..100, got {jpeg_quality!r}")
        self.camera_id = camera_id
        self.seconds = float(seconds)
        self.max_frames = max_frames
        self.max_bytes = max_bytes
        self.jpeg_quality = jpeg_quality
        self._frames: deque[BufferedFrame] = deque()
        self._bytes = 0
        self._warned_cap = False

    def __len__(self) -> int:
        return len(self._frames)

    @property
    def bytes_held(self) -> int:
        """Estimated bytes kept alive by the buffer: the JPEG payloads plus a fixed per-frame overhead."""
        return self._bytes

    @property
    def span_s(self) -> float:
        """Seconds from the oldest to the newest frame held (0 with fewer than two frames)."""
        return self._frames[-1].ts - self._frames[0].ts if len(self._frames) >= 2 else 0.0

    @property
    def last_ts(self) -> float | None:
        return self._frames[-1].ts if self._frames else None

    def fps(self, default: float = 2.0) -> float:
        """The frame rate the buffer receives, from the median gap between recent frames (robust to a drop)."""
        ts = [f.ts for f in list(self._frames)[-32:]]
        gaps = [b - a for a, b in pairwise(ts) if b > a]
        if not gaps:
            return default
        return 1.0 / statistics.median(gaps)

    def add(self, frame: Frame, observation: Observation | None = None) -> BufferedFrame:
        """Encode and keep `frame` (with the observation made on it); evict what falls out of the window or caps."""
        if frame.camera_id != self.camera_id:
            raise ValueError(f"frame of camera {frame.camera_id!r} added to the buffer of {self.camera_id!r}")
        if self._frames and frame.ts <= self._frames[-1].ts:
            # ts is monotonic within one stream; a ts going back means the source restarted (reconnect, a looped
            # file). Frames of the old stream cannot be ordered against the new one, so they go.
            logger.info("camera %s: frame ts went from %.3f to %.3f; clearing its evidence buffer",
                        self.camera_id, self._frames[-1].ts, frame.ts)
            self.clear()
        ok, encoded = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        if not ok:
            raise ValueError(f"frame {frame.index} of camera {self.camera_id!r} cannot be JPEG-encoded")
        item = BufferedFrame(frame.camera_id, frame.index, frame.ts, frame.wall_time, frame.width, frame.height,
                             encoded.tobytes(), observation)
        self._frames.append(item)
        self._bytes += item.nbytes
        self._evict()
        return item

    def _evict(self) -> None:
        newest = self._frames[-1].ts
        while len(self._frames) > 1 and newest - self._frames[0].ts > self.seconds:
            self._bytes -= self._frames.popleft().nbytes
        capped = False
        while len(self._frames) > 1 and (len(self._frames) > self.max_frames or self._bytes > self.max_bytes):
            self._bytes -= self._frames.popleft().nbytes
            capped = True
        if capped and not self._warned_cap:
            # The caps are a memory guard; hitting them means clips come out shorter than asked for.
            logger.warning("camera %s: evidence buffer holds only %.1f s of the %.1f s asked for (caps: %d frames, "
                           "%d bytes); clips will be shorter", self.camera_id, self.span_s, self.seconds,
                           self.max_frames, self.max_bytes)
            self._warned_cap = True

    def between(self, t0: float, t1: float) -> list[BufferedFrame]:
        """Frames with t0 <= ts < t1, oldest first (half-open, so back-to-back ranges never share a frame)."""
        return [f for f in self._frames if t0 <= f.ts < t1]

    def nearest(self, ts: float) -> BufferedFrame | None:
        """The held frame whose ts is closest to `ts` (the earlier one on a tie)."""
        return min(self._frames, key=lambda f: (abs(f.ts - ts), f.ts), default=None)

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0
