"""Kinds of job for the tests only, registered in a worker by `genomegate worker --import tests.jobs.kinds`.

The node's own kinds are all quick; to kill a worker mid-job the tests need one that takes seconds. Each kind
writes what it did to a file named in its payload (one line per event), so a test can count runs exactly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from jobs import registry
from jobs.context import JobContext

PERIODIC_SECONDS = 1.0
TICKS_FILE_ENV = "GENOMEGATE_TEST_TICKS"


def _note(path: str, line: str) -> None:
    with Path(path).open("a") as out:
        out.write(line + "\n")


def _gave_up(engine: Engine, payload: Mapping[str, Any], error: str) -> None:
    _note(str(payload["log"]), f"gave up: {error}")


@registry.task("tests.slow", max_attempts=3, on_give_up=_gave_up)
def slow(ctx: JobContext, payload: Mapping[str, Any]) -> dict[str, int]:
    """Takes `seconds`, reporting progress; its effect (the 'done' line) is written once, at the end."""
    _note(payload["log"], f"started {ctx.job_id} attempt {ctx.attempt}")
    steps = int(payload["seconds"] * 10)
    for step in range(steps):
        time.sleep(0.1)
        if step % 5 == 0:
            ctx.progress(step, steps)
    _note(payload["log"], f"done {ctx.job_id}")
    return {"steps": steps}


@registry.task("tests.slow_once", max_attempts=1, on_give_up=_gave_up)
def slow_once(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    slow(ctx, payload)


@registry.task("tests.flaky", max_attempts=2, on_give_up=_gave_up)
def flaky(ctx: JobContext, payload: Mapping[str, Any]) -> None:
    """Fails until the file `mended` exists."""
    _note(payload["log"], f"started {ctx.job_id} attempt {ctx.attempt}")
    if not Path(payload["mended"]).exists():
        raise RuntimeError(f"not mended yet\n(a second line that must not reach the ledger) {payload['mended']}")
    _note(payload["log"], f"done {ctx.job_id}")


@registry.periodic("tests.tick", every=lambda settings: PERIODIC_SECONDS if os.environ.get(TICKS_FILE_ENV) else 0)
def tick(ctx: JobContext) -> None:
    _note(os.environ[TICKS_FILE_ENV], f"{ctx.job_id} {os.getpid()} {time.time():.3f}")
