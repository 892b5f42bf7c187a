"""Worker processes of `--jobs` that die with the process that started them, however it ends."""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

__all__ = ["SPOOL_PREFIX", "WATCH_SECONDS", "die_with_parent", "make_spool_dir", "remove_orphan_spools",
           "worker_pool"]

SPOOL_PREFIX = "genomegate-ingest-"

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
    os._exit(1)  # orphaned: the parent died (its ingestion's transaction is gone, so is the point of reading on)


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


def make_spool_dir() -> Path:
    """A new folder for the workers' spool chunks, named for this process (`genomegate-ingest-<pid>-...`)."""
    return Path(tempfile.mkdtemp(prefix=f"{SPOOL_PREFIX}{os.getpid()}-"))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True


def remove_orphan_spools() -> list[Path]:
    """Remove the spool folders of ingesting processes that died (a killed process cannot remove its own).

    Only folders whose process is gone are touched: a pid in use (even reused by another process) keeps its
    folder, so a live ingestion's spool is never removed."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{SPOOL_PREFIX}*-*"):
        pid = folder.name[len(SPOOL_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed
