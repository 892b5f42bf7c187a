"""Local worker processes of `--jobs` that die with the process that started them, however it ends."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor

__all__ = ["WATCH_SECONDS", "die_with_parent", "worker_pool"]

WATCH_SECONDS = 0.5  # how often a worker looks whether its parent is still there (the portable fallback)
_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def _kill_on_parent_death() -> bool:
    """Linux: ask the kernel to SIGKILL this process when the thread that forked it ends. True if it took."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        return int(libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def _watch(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(WATCH_SECONDS)
    os._exit(1)  # orphaned: the parent died (its ingestion is failed by whoever looks next; its chunks are moot)


def die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when `parent` (the ingesting process) ends, even by SIGKILL.

    On Linux the kernel kills it (PR_SET_PDEATHSIG); a thread watching the parent's pid covers other systems
    and the moment before prctl took effect. Pool workers are forked by the thread that runs the ingestion,
    which outlives the pool (it shuts the pool down), so the death signal never fires early.
    """
    _kill_on_parent_death()
    if os.getppid() != parent:  # it died before the death signal was armed
        os._exit(1)
    threading.Thread(target=_watch, args=(parent,), name="parent-watch", daemon=True).start()


def worker_pool(jobs: int) -> ProcessPoolExecutor:
    """A pool of `jobs` worker processes bound to this process's life."""
    return ProcessPoolExecutor(max_workers=jobs, initializer=die_with_parent, initargs=(os.getpid(),))
