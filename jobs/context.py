"""What a running job sees: the engine, the settings, which job and attempt it is, and a way to report progress."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from catalogue.settings import Settings

__all__ = ["JobContext"]


@dataclass(frozen=True, slots=True)
class JobContext:
    engine: Engine
    settings: Settings
    job_id: int
    attempt: int  # 1 on the first run
    _report: Callable[[int, int | None], None] = field(repr=False)

    def progress(self, done: int, total: int | None = None) -> None:
        """Record how far the job got (shown by `genomegate jobs`, the API and the admin page)."""
        self._report(done, total)
