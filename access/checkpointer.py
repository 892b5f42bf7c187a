"""The periodic audit checkpoint as one function: sign a checkpoint of the log when lines were added.

It runs as the periodic job `audit.checkpoint` on a worker (access/tasks.py); `genomegate audit checkpoint` signs
one on demand.
"""

from __future__ import annotations

import logging
from pathlib import Path

from sqlalchemy import Engine

from access.checkpoints import make_checkpoint, node_signer
from catalogue.database import session_scope

__all__ = ["checkpoint_once"]

log = logging.getLogger("genomegate.audit")


def checkpoint_once(engine: Engine, data_dir: Path, origin: str) -> int | None:
    """Sign and store a checkpoint of the whole log: its size, or None when nothing was logged since the last.

    Raises CheckpointRefused (already logged as tampering) when the log no longer extends the last checkpoint,
    and database errors as they come: the job records them, and the next slot tries again.
    """
    with session_scope(engine) as session:
        row = make_checkpoint(session, node_signer(data_dir), origin=origin)
        return row.size if row else None
