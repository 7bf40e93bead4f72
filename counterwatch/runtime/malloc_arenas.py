"""glibc malloc arenas of a camera worker process: capped, so that its resident memory levels off early and low.

glibc gives each new thread that allocates a malloc arena of its own, up to 8 per core, and never frees an arena. A
camera worker has some twenty threads (the camera reader and FFmpeg's decoder threads, MediaPipe's graph executors,
the TFLite and onnxruntime pools, a clip's encoder), so its allocations spread over a dozen or more arenas. Memory a
thread frees stays in its arena, reusable only by the threads of that arena; each arena grows to the high-water
mark of its own traffic, and RSS is their sum. The memory soak (`counterwatch bench soak`, one camera looping a real
clip) showed it: the worker rose by ~50 MB over its first 6-12 minutes (+8 MB/min at first), then levelled off and
dropped by 20-35 MB now and then (an arena's free top returned) to climb back within minutes. None of it was live
data: Python's traced allocations stay at ~9 MB after the first minute (the evidence ring buffer's JPEGs), and
malloc_trim(3) gave most of it back at once.

With the arenas capped at WORKER_MALLOC_ARENAS the same worker (measured in-process on the soak's clip) levels off
after 2-3 minutes, 55-60 MB lower, and stays flat (0.0 MB/h after a 10-minute warm-up, against 17.5 MB/h with the
default, with drops and regrowth of ~2 MB instead of ~20). The pipeline's models run one after another on the
pipeline's thread, so the threads rarely allocate at the same moment and two arenas cost no measurable contention.

`cap_malloc_arenas` must run before the process starts a thread: glibc fixes the number of arenas the first time a
thread needs one. The worker calls it first thing.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Callable

logger = logging.getLogger("counterwatch.runtime.malloc_arenas")

M_ARENA_MAX = -8  # mallopt(3) parameter, <malloc.h>
WORKER_MALLOC_ARENAS = 2

Mallopt = Callable[[int, int], int]


def _glibc() -> Mallopt | None:
    """glibc's mallopt, or None where the C library is not glibc (another OS, musl: its mallopt does nothing)."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    except OSError:
        return None
    if not hasattr(libc, "gnu_get_libc_version") or not hasattr(libc, "mallopt"):  # only glibc has the first
        return None
    mallopt: Mallopt = libc.mallopt
    return mallopt


def cap_malloc_arenas(arenas: int = WORKER_MALLOC_ARENAS, *, mallopt: Mallopt | None = None) -> bool:
    """Cap this process's glibc malloc arenas at `arenas` (mallopt(M_ARENA_MAX)). True when set; False where there
    is no glibc or the call failed (logged: the process runs on with the default). `mallopt`: the C function to call
    (tests pass their own); glibc's by default."""
    if isinstance(arenas, bool) or not isinstance(arenas, int) or arenas < 1:
        raise ValueError(f"arenas must be an int >= 1, got {arenas!r}")
    function = mallopt if mallopt is not None else _glibc()
    if function is None:
        return False
    if function(M_ARENA_MAX, arenas) != 1:  # mallopt returns 1 on success, 0 on error
        logger.warning("mallopt(M_ARENA_MAX, %d) failed: malloc keeps its default arenas", arenas)
        return False
    return True
