"""Dropping the start-up lines that native runtimes (MediaPipe's absl log, TFLite) write straight to stderr."""

from __future__ import annotations

import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["native_start_filtered"]

# Start-up lines of the native libraries: absl INFO/WARNING lines written before absl::InitializeLog (their date
# reads 0000 00:00), absl's notice about them, and TFLite's delegate notice. absl ERROR and FATAL lines, and
# anything else written meanwhile, are kept.
_NATIVE_START_NOISE = re.compile(
    rb"(?:[IW]0000 00:00:\S+ +\d+ [^\]\s]+\] .*"
    rb"|WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    rb"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\.)\r?\n?"
)
# File descriptor 2 belongs to the whole process: one window at a time (reentrant: a nested window nests cleanly).
_stderr_lock = threading.RLock()


def _flush_python_stderr() -> None:
    stream = sys.stderr
    if stream is not None:
        try:
            stream.flush()
        except (OSError, ValueError):
            pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


@contextmanager
def native_start_filtered() -> Iterator[None]:
    """Run the body with file descriptor 2 sent to a temporary file, then write back to stderr every line except
    the native libraries' start-up lines (`_NATIVE_START_NOISE`). Output of other threads meanwhile is delayed, not
    lost; only if the process dies inside the window is what it wrote there lost."""
    with _stderr_lock:
        _flush_python_stderr()
        try:
            saved = os.dup(2)
        except OSError:  # no stderr to filter (closed by a daemon manager)
            yield
            return
        with tempfile.TemporaryFile() as capture:
            os.dup2(capture.fileno(), 2)
            try:
                yield
            finally:
                _flush_python_stderr()
                os.dup2(saved, 2)
                os.close(saved)
                capture.seek(0)
                kept = b"".join(line for line in capture if not _NATIVE_START_NOISE.fullmatch(line))
                if kept:
                    _write_all(2, kept)
