"""The camera worker caps glibc's malloc arenas (counterwatch.runtime.malloc_arenas) before it starts a thread."""
from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pytest

from counterwatch.runtime import runner
from counterwatch.runtime.malloc_arenas import M_ARENA_MAX, WORKER_MALLOC_ARENAS, _glibc, cap_malloc_arenas


def test_sets_m_arena_max_through_mallopt() -> None:
    calls = []

    def mallopt(param: int, value: int) -> int:
        calls.append((param, value))
        return 1

    assert cap_malloc_arenas(mallopt=mallopt) is True
    assert calls == [(M_ARENA_MAX, WORKER_MALLOC_ARENAS)]
    assert cap_malloc_arenas(1, mallopt=mallopt) is True
    assert calls[-1] == (M_ARENA_MAX, 1)


def test_a_failed_mallopt_is_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    assert cap_malloc_arenas(mallopt=lambda param, value: 0) is False
    assert "M_ARENA_MAX" in caplog.text


@pytest.mark.parametrize("arenas", [0, -1, 1.5, True, "2"])
def test_rejects_a_cap_that_is_not_a_positive_int(arenas: object) -> None:
    with pytest.raises(ValueError, match="arenas"):
        cap_malloc_arenas(arenas, mallopt=lambda param, value: 1)  # type: ignore[arg-type]


# A fresh interpreter: `threads` threads alive at once, each allocating through malloc (objects above pymalloc's
# 512-byte limit), then glibc's malloc_info(3) counts the arenas ("<heap nr=...>").
_COUNT_ARENAS = textwrap.dedent("""
    import ctypes, os, sys, tempfile, threading
    from counterwatch.runtime.malloc_arenas import cap_malloc_arenas
    if sys.argv[1] != "default":
        assert cap_malloc_arenas(int(sys.argv[1]))
    threads = 6
    barrier = threading.Barrier(threads + 1)
    def work():
        kept = [bytearray(64 * 1024) for _ in range(8)]
        barrier.wait()
        barrier.wait()
    started = [threading.Thread(target=work) for _ in range(threads)]
    for thread in started:
        thread.start()
    barrier.wait()  # every thread has allocated and is alive
    libc = ctypes.CDLL("libc.so.6")
    libc.fopen.restype = ctypes.c_void_p
    libc.fopen.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    libc.fclose.argtypes = [ctypes.c_void_p]
    libc.malloc_info.argtypes = [ctypes.c_int, ctypes.c_void_p]
    path = os.path.join(tempfile.mkdtemp(), "malloc_info.xml")
    stream = libc.fopen(path.encode(), b"w")
    libc.malloc_info(0, stream)
    libc.fclose(stream)
    barrier.wait()
    for thread in started:
        thread.join()
    print(open(path).read().count("<heap nr="))
""")


def _arenas(cap: str) -> int:
    done = subprocess.run([sys.executable, "-c", _COUNT_ARENAS, cap], capture_output=True, text=True, timeout=60,
                          check=True)
    return int(done.stdout.strip())


def test_threads_share_the_capped_arenas() -> None:
    # The supported platform (Debian, make test) has glibc: its absence is a failure, not a reason to skip.
    assert _glibc() is not None, "glibc's mallopt not found: the arena cap cannot work on this machine"
    assert _arenas("default") > WORKER_MALLOC_ARENAS  # without the cap: an arena per thread (up to 8 per core)
    assert _arenas(str(WORKER_MALLOC_ARENAS)) <= WORKER_MALLOC_ARENAS


def test_the_worker_caps_the_arenas_before_it_loads_models_or_starts_readers() -> None:
    source = inspect.getsource(runner._worker_main)
    cap = source.index("cap_malloc_arenas()")
    assert cap < source.index("load_models(config)")
    assert cap < source.index("camera_reader(")
    assert cap < source.index("ParentWatch(parent_pid)")
