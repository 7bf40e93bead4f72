"""Atomic evidence files: a crash at any moment leaves the final name empty or holding a complete file."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from counterwatch.incidents.media import atomic_path, even_size, remove_partials, write_bytes_atomic, write_clip
from tests.conftest import REPO

_WRITER = r"""
import hashlib, os, sys, time
from pathlib import Path
from counterwatch.incidents.media import atomic_path
final = Path(sys.argv[1])
n = 0
while True:
    body = os.urandom(2_000_000)
    data = hashlib.sha256(body).digest() + body
    with atomic_path(final) as temp:
        with open(temp, "xb") as handle:
            for start in range(0, len(data), 65536):  # a slow disk: ~0.1 s per file, so kills land mid-write
                handle.write(data[start:start + 65536])
                handle.flush()
                time.sleep(0.003)
    n += 1
    if n == 1:
        print("wrote", flush=True)
"""


def _complete(path: Path) -> bool:
    data = path.read_bytes()
    return hashlib.sha256(data[32:]).digest() == data[:32]


def test_kill_9_mid_write_never_leaves_a_half_file_under_the_final_name(tmp_path) -> None:
    final = tmp_path / "snapshot.jpg"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    killed_mid_write = 0
    for delay in (0.0, 0.021, 0.043, 0.067):
        child = subprocess.Popen([sys.executable, "-c", _WRITER, str(final)], stdout=subprocess.PIPE, env=env,
                                 cwd=REPO)
        try:
            assert child.stdout.readline().strip() == b"wrote"
            time.sleep(delay)
        finally:
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=30)
        assert _complete(final)
        killed_mid_write += remove_partials(tmp_path)  # the temporary the kill interrupted
    assert killed_mid_write >= 3  # the kills did land mid-write (else this test would prove nothing)
    assert [p.name for p in tmp_path.iterdir()] == ["snapshot.jpg"]


def test_an_error_mid_write_keeps_the_old_file_and_removes_the_temporary(tmp_path) -> None:
    final = tmp_path / "clip.mp4"
    write_bytes_atomic(final, b"old and complete")
    with pytest.raises(RuntimeError, match="encoder died"):
        with atomic_path(final) as temp:
            temp.write_bytes(b"half a fi")
            raise RuntimeError("encoder died")
    assert final.read_bytes() == b"old and complete"
    assert [p.name for p in tmp_path.iterdir()] == ["clip.mp4"]


def test_remove_partials_deletes_crash_leftovers_only(tmp_path) -> None:
    (tmp_path / "inc").mkdir()
    (tmp_path / "inc/.clip.mp4.1a2b3c4d.part").write_bytes(b"x")
    (tmp_path / "inc/clip.mp4").write_bytes(b"y")
    assert remove_partials(tmp_path) == 1
    assert [p.name for p in (tmp_path / "inc").iterdir()] == ["clip.mp4"]


def test_even_size_pads_odd_frames_at_the_bottom_right_only() -> None:
    image = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    padded = even_size(image)
    assert padded.shape == (6, 8, 3)
    assert np.array_equal(padded[:5, :7], image)
    assert even_size(padded) is padded


def test_write_clip_refuses_what_it_cannot_encode_faithfully(tmp_path) -> None:
    with pytest.raises(ValueError, match="even"):
        write_clip(tmp_path / "a.mp4", [np.zeros((5, 8, 3), np.uint8)], [0.0], 2.0)
    with pytest.raises(ValueError, match="one size"):
        write_clip(tmp_path / "b.mp4", [np.zeros((8, 8, 3), np.uint8), np.zeros((6, 8, 3), np.uint8)], [0, 1], 2.0)
    with pytest.raises(ValueError, match="fps"):
        write_clip(tmp_path / "c.mp4", [np.zeros((8, 8, 3), np.uint8)], [0.0], 0)
    assert not list(tmp_path.iterdir())
