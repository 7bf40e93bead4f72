"""`counterwatch detect` on bad input: a header claiming a huge image, a missing file, a file that is not an image
all exit 2 naming the file, without a traceback and without decoding; a real photo still goes through."""
from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import cv2
import pytest
from click.testing import CliRunner

from counterwatch.cli import main
from counterwatch.image_input import MAX_IMAGE_PIXELS
from tests.conftest import REPO


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A valid PNG signature and IHDR (8-bit RGB) claiming width x height, with one tiny IDAT: a few dozen bytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + _chunk(b"IEND", b""))
    return path


def run_detect(*args: str) -> subprocess.CompletedProcess:
    """The installed `counterwatch` command, in its own process (a traceback there is what a user would see)."""
    return subprocess.run([str(Path(sys.executable).parent / "counterwatch"), "detect", *args], capture_output=True,
                          text=True, cwd=REPO, timeout=120)


def test_a_header_claiming_60000x60000_exits_2_naming_the_file_its_size_and_the_cap(tmp_path: Path) -> None:
    huge = png_claiming(tmp_path / "huge.png", 60000, 60000)
    assert huge.stat().st_size < 200
    result = run_detect(str(huge))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: {huge} is 60000x60000 pixels (3600 megapixels), over the cap of 50 megapixels" in result.stderr


@pytest.mark.parametrize("width, height", [(20000, 20000), (10000, MAX_IMAGE_PIXELS // 10000 + 1)])
def test_any_header_over_the_cap_is_refused_before_decoding(tmp_path: Path, width: int, height: int) -> None:
    image = png_claiming(tmp_path / "big.png", width, height)
    result = CliRunner().invoke(main, ["detect", str(image)])
    assert result.exit_code == 2, result.output
    assert f"{image} is {width}x{height} pixels" in result.output and "cap of 50 megapixels" in result.output


def test_a_missing_file_exits_2_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-frame.jpg"
    result = run_detect(str(missing))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert f"error: cannot read image {missing}: No such file or directory" in result.stderr


def test_a_file_that_is_not_an_image_exits_2_naming_it(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["detect", str(text)])
    assert result.exit_code == 2, result.output
    assert f"error: {text} is not an image" in result.output


def test_not_an_image_exits_2_even_with_pillow_patched_by_ultralytics(tmp_path: Path) -> None:
    # ultralytics (the detector extra) replaces PIL.Image.open with one that imports a HEIF plugin on a file Pillow
    # cannot identify; without that plugin installed it raises ImportError instead of UnidentifiedImageError.
    text = tmp_path / "notes.jpg"
    text.write_text("not a picture\n", encoding="utf-8")
    script = ("import sys, ultralytics.utils.patches; from counterwatch.cli import main; "
              "main(['detect', sys.argv[1]])")
    result = subprocess.run([sys.executable, "-c", script, str(text)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "YOLO_AUTOINSTALL": "False", "YOLO_OFFLINE": "True"},
                            check=False)
    assert result.returncode == 2, result.stderr[-2000:]
    assert f"error: {text} is not an image" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_truncated_image_exits_2_naming_it(tmp_path: Path, astronaut_bgr) -> None:
    ok, encoded = cv2.imencode(".png", astronaut_bgr)
    assert ok
    truncated = tmp_path / "cut.png"
    truncated.write_bytes(encoded.tobytes()[:200])  # the header is whole, the pixels are not
    result = CliRunner().invoke(main, ["detect", str(truncated)])
    assert result.exit_code == 2, result.output
    assert f"error: {truncated} is not a readable image" in result.output


def test_a_real_photo_still_goes_through(tmp_path: Path, astronaut_bgr) -> None:
    photo = tmp_path / "astronaut.jpg"
    assert cv2.imwrite(str(photo), astronaut_bgr)
    result = CliRunner().invoke(main, ["detect", str(photo)])
    assert result.exit_code == 0, result.output
    assert "1 person(s)" in result.output
