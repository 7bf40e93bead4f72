"""Child processes that must not outlive their parent: `counterwatch run`'s camera workers.

A worker whose parent is gone (killed with SIGKILL, OOM-killed, crashed) would keep reading its cameras and
writing snapshots, clips and sampled frames that no database row will ever reference, and a restarted service
would have two pipelines on the same camera. Two mechanisms end such a worker:

- `ParentWatch.die_with_parent()`: on Linux, prctl(PR_SET_PDEATHSIG, SIGKILL) makes the kernel kill this process
  as soon as its parent exits, whatever the worker is doing (loading models, encoding a clip). The "parent" here is
  the *thread* that created the process: the runner starts its workers from the main thread, which lives as long
  as the service. The setting survives exec but not fork, so it is made in the worker itself, first thing; a
  parent that died before that is caught by the check that follows it.
- `ParentWatch.parent_gone()`: the portable backstop, polled by the worker's loop: the parent process id is no
  longer the one the worker started under (an orphan is adopted by PID 1 or a subreaper).

Both assume the worker's parent is the process that started it, as with the "spawn" and "fork" start methods of
multiprocessing (with "forkserver" the parent would be the fork server instead).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import signal
import sys

logger = logging.getLogger("counterwatch.parent_watch")

PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def set_parent_death_signal(signum: int = signal.SIGKILL) -> bool:
    """Ask the Linux kernel to send `signum` to this process when its parent thread exits (prctl(2),
    PR_SET_PDEATHSIG). False where that is not available (another OS, no libc found) or the call failed."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, ctypes.c_ulong(signum), ctypes.c_ulong(0), ctypes.c_ulong(0),
                      ctypes.c_ulong(0)) == 0:
            return True
        error = ctypes.get_errno()
        logger.warning("prctl(PR_SET_PDEATHSIG) failed: %s", os.strerror(error))
    except (OSError, AttributeError) as error:
        logger.warning("prctl(PR_SET_PDEATHSIG) is not available: %s", error)
    return False


class ParentWatch:
    """Tells a child process whether the parent it started under is still its parent."""

    def __init__(self, parent_pid: int) -> None:
        self.parent_pid = parent_pid

    def parent_gone(self) -> bool:
        return os.getppid() != self.parent_pid

    def die_with_parent(self) -> None:
        """Set the parent-death signal (Linux) and exit at once if the parent is already gone."""
        set_parent_death_signal(signal.SIGKILL)
        self.exit_if_orphaned()

    def exit_if_orphaned(self) -> None:
        """End this process now, without cleanup, if its parent is gone: nothing it would still write (a pending
        clip, an event for a dead queue) can reach the database any more."""
        if self.parent_gone():
            logger.error("parent process %d is gone: this worker exits", self.parent_pid)
            os._exit(1)
