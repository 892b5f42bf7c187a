"""The server's periodic audit checkpoint: an asyncio task that runs `make_checkpoint` on the thread pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from sqlalchemy import Engine

from access.checkpoints import CheckpointRefused, make_checkpoint, node_signer
from catalogue.database import session_scope

__all__ = ["checkpoint_once", "periodic_checkpoints"]

log = logging.getLogger("genomegate.audit")


def checkpoint_once(engine: Engine, data_dir: Path, origin: str) -> int | None:
    """One tick: the size of the checkpoint made, or None (nothing new, refused, or the database failed)."""
    try:
        with session_scope(engine) as session:
            row = make_checkpoint(session, node_signer(data_dir), origin=origin)
            return row.size if row else None
    except CheckpointRefused:
        return None  # already logged as tampering; tried again next tick
    except Exception:  # the server keeps serving; the next tick tries again
        log.exception("audit checkpoint failed")
        return None


async def _loop(engine: Engine, data_dir: Path, origin: str, seconds: int) -> None:
    while True:
        await asyncio.sleep(seconds)
        await asyncio.to_thread(checkpoint_once, engine, data_dir, origin)


@contextlib.asynccontextmanager
async def periodic_checkpoints(engine: Engine, data_dir: Path, origin: str, seconds: int) -> AsyncIterator[None]:
    """While the app runs, checkpoint the audit log every `seconds` (0: never); for the app's lifespan."""
    if seconds <= 0:
        yield
        return
    task = asyncio.create_task(_loop(engine, data_dir, origin, seconds), name="audit-checkpoints")
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
