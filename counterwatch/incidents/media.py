"""Encoding evidence files (snapshot JPEG, H.264 MP4 clip) and writing them atomically.

Atomic: every file is written under a temporary name in the destination directory, fsynced, renamed over the final
name and the directory fsynced, so that after a crash the final name holds either nothing or a complete file.
Leftover temporaries start with "." and end in ".part"; `remove_partials` cleans them up. Final files are 0600
(counterwatch.private_files): the temporary is made so before it is renamed.

The images handed in here are already privacy-masked (counterwatch.incidents.privacy); this module only keeps
what the mask did intact: JPEG with 4:4:4 sampling and yuv420p converted by OpenCV keep the block-aligned mask
exactly MASK_BGR after decoding (see privacy.py for the measurement).
"""
from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator, Sequence
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np

from counterwatch.private_files import PRIVATE_FILE_MODE, open_private

SNAPSHOT_JPEG_QUALITY = 90  # a supervisor reads details (a phone in a hand) off the snapshot
CLIP_CRF = 23  # libx264's default quality: ~0.6 MB for 10 s of 1280x720 at 2 fps
CLIP_PRESET = "veryfast"  # the clip is written in the camera's pipeline loop; slower presets buy little at 2 fps
_TIME_BASE = Fraction(1, 1000)  # frame pts in milliseconds of stream time


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yields a temporary path next to `final` (not created yet); on success the file there is made 0600, fsynced
    and renamed to `final`.

    On any exception the temporary file is removed and the exception propagates; `final` is never touched.
    """
    final = Path(final)
    temp = _temp_path(final)
    try:
        yield temp
        _commit(temp, final)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def _temp_path(final: Path) -> Path:
    return final.with_name(f".{final.name}.{secrets.token_hex(4)}.part")


def _commit(temp: Path, final: Path) -> None:
    """Make the written temporary 0600, fsync it, rename it to `final` and fsync the directory."""
    with open(temp, "rb+") as handle:
        os.fchmod(handle.fileno(), PRIVATE_FILE_MODE)
        os.fsync(handle.fileno())
    os.replace(temp, final)
    _fsync_dir(final.parent)


def write_bytes_atomic(final: Path, data: bytes) -> None:
    with atomic_path(final) as temp:
        with os.fdopen(open_private(temp, os.O_WRONLY | os.O_EXCL), "wb") as handle:
            handle.write(data)


def remove_partials(directory: Path) -> int:
    """Delete temporaries left by a crash under `directory` (recursively); returns how many."""
    count = 0
    for path in Path(directory).rglob(".*.part"):
        with contextlib.suppress(OSError):
            path.unlink()
            count += 1
    return count


def encode_snapshot(image: np.ndarray) -> bytes:
    """JPEG bytes of a masked BGR image: quality 90, 4:4:4 sampling (no chroma mixing across the mask's edge)."""
    ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, SNAPSHOT_JPEG_QUALITY,
                                               cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444])
    if not ok:
        raise ValueError("snapshot cannot be JPEG-encoded")
    return encoded.tobytes()


def even_size(image: np.ndarray) -> np.ndarray:
    """`image` padded by one replicated row/column where its height/width is odd (yuv420p needs even sizes).

    Padding at the bottom/right keeps the block grid from the origin, which the mask is aligned to.
    """
    height, width = image.shape[:2]
    bottom, right = height % 2, width % 2
    if not bottom and not right:
        return image
    return cv2.copyMakeBorder(image, 0, bottom, 0, right, cv2.BORDER_REPLICATE)


def write_clip(final: Path, images: Sequence[np.ndarray], timestamps: Sequence[float], fps: float) -> None:
    """Encode masked BGR images (all the same even size) as an H.264 MP4 that browsers play while downloading
    (ClipWriter, all at once)."""
    if not images or len(images) != len(timestamps):
        raise ValueError("write_clip needs at least one image and one timestamp per image")
    height, width = images[0].shape[:2]
    writer = ClipWriter(final, fps, width, height)
    try:
        for image, ts in zip(images, timestamps, strict=True):
            writer.add(image, ts)
    except BaseException:
        writer.abort()
        raise
    writer.close()


class ClipWriter:
    """An H.264 MP4 written a frame at a time, appearing under its final name only once complete.

    libx264, yuv420p, BT.601 limited range tagged in the stream, `movflags=+faststart` (the moov atom goes before
    the media data, so playback starts before the whole file has arrived). Presentation times come from the frames'
    stream times `ts` (seconds), relative to the first, so dropped frames show as held frames, not as a faster
    clip; `fps` is the nominal rate (the buffer's), which sets the last frame's duration. The file is written under
    a temporary name next to `final` (atomic_path's naming: remove_partials finds it after a crash); `close`
    renames it, `abort` removes it.
    """

    def __init__(self, final: Path, fps: float, width: int, height: int) -> None:
        import av  # PyAV loads FFmpeg's libraries: only pay for that in the processes that write clips

        if not (fps > 0):
            raise ValueError(f"ClipWriter.fps must be > 0, got {fps!r}")
        if height % 2 or width % 2:
            raise ValueError(f"ClipWriter needs even frame sizes for yuv420p, got {width}x{height}")
        self.final = Path(final)
        self.size = (height, width)
        self._temp = _temp_path(self.final)
        self._t0: float | None = None
        self._last_pts = -1
        # options are AVOptions of the codec context: colour tags so that players convert back with the same matrix
        # OpenCV used (BT.601, limited range) instead of guessing from the frame size.
        self._container = av.open(str(self._temp), mode="w", format="mp4", options={"movflags": "+faststart"})
        try:
            self._stream = self._container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1000))
            self._stream.width, self._stream.height, self._stream.pix_fmt = width, height, "yuv420p"
            self._stream.codec_context.time_base = _TIME_BASE
            self._stream.options = {"crf": str(CLIP_CRF), "preset": CLIP_PRESET, "colorspace": "smpte170m",
                                    "color_primaries": "smpte170m", "color_trc": "smpte170m", "color_range": "tv"}
        except BaseException:
            self.abort()
            raise

    def add(self, image: np.ndarray, ts: float) -> None:
        import av

        if image.shape[:2] != self.size:
            raise ValueError(f"ClipWriter frames must share one size, got {image.shape[:2]} after {self.size}")
        if self._t0 is None:
            self._t0 = ts
        pts = int(round((ts - self._t0) / _TIME_BASE))
        if pts <= self._last_pts:  # two frames within a millisecond: keep the first, pts must increase
            return
        self._last_pts = pts
        # OpenCV's BGR->I420 is exact on flat areas; swscale's default path shifted mid-grey by 2-5 levels.
        yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
        frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")  # type: ignore[arg-type]  # cv2 stubs: any dtype
        frame.pts, frame.time_base = pts, _TIME_BASE
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def close(self) -> None:
        """Finish the file and move it to its final name; on failure nothing is left behind and it raises."""
        try:
            if self._t0 is None:
                raise ValueError("ClipWriter.close: no frame was added")
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
            _commit(self._temp, self.final)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        """Drop the file being written."""
        with contextlib.suppress(Exception):
            self._container.close()
        with contextlib.suppress(FileNotFoundError):
            self._temp.unlink()
