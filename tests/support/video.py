"""Test videos whose frames say which frame they are, and which way up they are.

Every frame is black with a red square in its top-left corner (so any rotation shows) and the frame number as a row
of white/black blocks (one per bit) across the middle, big enough to survive JPEG compression.
"""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np

WIDTH = 160
HEIGHT = 120
BITS = 10
_BIT_W = 14
_BIT_X0 = 8
_BIT_Y0 = 56
_BIT_H = 24
_MARKER = 24
_RED = (0, 0, 255)


def numbered_image(number: int) -> np.ndarray:
    if not 0 <= number < 2**BITS:
        raise ValueError(f"number must be in [0, {2**BITS}), got {number}")
    image = np.zeros((HEIGHT, WIDTH, 3), np.uint8)
    image[:_MARKER, :_MARKER] = _RED
    for bit in range(BITS):
        if number >> bit & 1:
            x = _BIT_X0 + bit * _BIT_W
            image[_BIT_Y0 : _BIT_Y0 + _BIT_H, x : x + _BIT_W - 2] = 255
    return image


def decode_number(image: np.ndarray) -> int:
    """The frame number of an image in its written orientation (HEIGHT x WIDTH)."""
    if image.shape[:2] != (HEIGHT, WIDTH):
        raise ValueError(f"expected a {HEIGHT}x{WIDTH} image in written orientation, got {image.shape}")
    number = 0
    for bit in range(BITS):
        x = _BIT_X0 + bit * _BIT_W
        block = image[_BIT_Y0 + 4 : _BIT_Y0 + _BIT_H - 4, x + 3 : x + _BIT_W - 5]
        if block.mean() > 128:
            number |= 1 << bit
    return number


def marker_corner(image: np.ndarray) -> str:
    """Which corner holds the red marker: 'top-left', 'top-right', 'bottom-right' or 'bottom-left'."""
    red = (image[:, :, 2] > 180) & (image[:, :, 1] < 80) & (image[:, :, 0] < 80)
    ys, xs = np.nonzero(red)
    if len(xs) < 50:
        raise AssertionError("no red marker in the image")
    height, width = image.shape[:2]
    vertical = "top" if ys.mean() < height / 2 else "bottom"
    horizontal = "left" if xs.mean() < width / 2 else "right"
    return f"{vertical}-{horizontal}"


def write_numbered_video(path: Path, frames: int, fps: float = 25.0, fourcc: str = "MJPG") -> Path:
    """Writes frames 0..frames-1 (MJPG in .avi, or 'mp4v' in .mp4) and checks the file was written."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (WIDTH, HEIGHT))
    if not writer.isOpened():
        raise RuntimeError(f"cv2.VideoWriter cannot write {path} with {fourcc}")
    for number in range(frames):
        writer.write(numbered_image(number))
    writer.release()
    if not path.is_file() or path.stat().st_size == 0:
        raise RuntimeError(f"cv2.VideoWriter wrote nothing to {path}")
    return path


def ffmpeg() -> str:
    """Path of the ffmpeg binary; scripts/install-test-system-deps.sh installs it."""
    found = shutil.which("ffmpeg")
    if found is None:
        raise RuntimeError("ffmpeg is missing: run scripts/install-test-system-deps.sh")
    return found


def with_rotation_metadata(source: Path, target: Path, degrees: int) -> Path:
    """Copies an mp4 without re-encoding, adding a display-matrix rotation tag to its video stream."""
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(source), "-c", "copy",
         "-metadata:s:v:0", f"rotate={degrees}", str(target)],
        check=True, timeout=60,
    )
    return target


def ffmpeg_display_frame(path: Path, workdir: Path) -> np.ndarray:
    """The first frame as ffmpeg itself displays it (it applies rotation metadata): the reference orientation."""
    png = workdir / f"{path.stem}-display.png"
    subprocess.run(
        [ffmpeg(), "-hide_banner", "-loglevel", "error", "-y", "-i", str(path), "-frames:v", "1", str(png)],
        check=True, timeout=60,
    )
    image = cv2.imread(str(png))
    if image is None:
        raise RuntimeError(f"ffmpeg wrote no readable frame to {png}")
    return image
