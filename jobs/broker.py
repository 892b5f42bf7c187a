"""The broker: a Huey queue that carries job ids to workers. It holds no state of its own worth keeping.

Huey has exactly one task, `genomegate.run_job(job_id)`; what a job is and how far it got lives in the
ledger (jobs_job). A message lost by the broker is re-sent by the reaper, and one delivered twice is run
once (the claim is a conditional update), so the broker may be a file (SQLite, the default), Redis or
PostgreSQL without changing what the node promises.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.api import TaskWrapper
from sqlalchemy import Engine

from catalogue.settings import Settings

__all__ = ["TASK_NAME", "Broker", "attach", "broker_of", "detach", "open_broker", "queue_label"]

log = logging.getLogger("genomegate.jobs")
TASK_NAME = "genomegate.run_job"


@dataclass(frozen=True, slots=True)
class Broker:
    huey: Huey
    run_job: TaskWrapper
    settings: Settings

    def send(self, job_ids: Iterable[int], *, delay: float = 0.0) -> None:
        """Hand jobs to the broker. A failure is logged, not raised: the jobs stay queued in the ledger and the
        reaper hands them over again once the broker answers."""
        for job_id in job_ids:
            try:
                if delay > 0:
                    self.run_job.schedule(args=(job_id,), delay=delay)
                else:
                    self.run_job(job_id)
            except Exception as exc:  # redis, sqlite3 or psycopg errors alike: the reaper re-sends it
                log.warning("job %s stays queued: the broker %s did not take it (%s)", job_id,
                            queue_label(self.settings), _one_line(exc))

    def close(self) -> None:
        try:
            self.huey.storage.close()
        except Exception as exc:  # closing a broker that went away
            log.debug("closing the broker: %s", exc)


def _one_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:300]


def queue_label(settings: Settings, queue_url: str | None = None) -> str:
    """The broker as people may read it in logs (no password)."""
    url = settings.queue_url if queue_url is None else queue_url
    if not url:
        return f"embedded SQLite queue {_sqlite_file(settings, url)} ({settings.queue_name})"
    scheme, _, rest = url.partition("://")
    host = rest.rsplit("@", 1)[-1]
    return f"{scheme}://{host} ({settings.queue_name})"


def _sqlite_file(settings: Settings, url: str) -> Path:
    return Path(url.removeprefix("sqlite:///")) if url else settings.data_dir / "queue.db"


def _make_huey(settings: Settings, url: str) -> Huey:
    name = settings.queue_name
    if not url or url.startswith("sqlite:///"):
        path = _sqlite_file(settings, url)
        path.parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name=name, filename=str(path), results=False, timeout=30)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name=name, url=url, results=False)
    if url.startswith(("postgresql://", "postgresql+psycopg://", "postgres://")):
        dsn = url.replace("postgresql+psycopg://", "postgresql://", 1)
        return PostgresHuey(name=name, dsn=dsn, results=False)
    raise ValueError(f"GENOMEGATE_QUEUE_URL: {url.split('://')[0]}:// is not a broker (redis://, postgresql://)")


def _not_here(job_id: int) -> None:
    raise RuntimeError(f"job {job_id}: this process only sends jobs; run them with `genomegate worker`")


def open_broker(settings: Settings, *, queue_url: str | None = None,
                run: Callable[[int], None] | None = None) -> Broker:
    """Connect to the broker the settings name (or `queue_url`); `run` executes a job id (workers only)."""
    huey = _make_huey(settings, settings.queue_url if queue_url is None else queue_url)
    target = run or _not_here

    def run_job(job_id: int) -> None:
        target(job_id)

    # Huey names a message by its function's module and the task's name: one function of this module, so that
    # what a server sends is what a worker knows, whatever `run` is.
    task = huey.task(name=TASK_NAME, retries=0)(run_job)
    return Broker(huey=huey, run_job=task, settings=settings)


# The broker each engine's jobs are handed to (set by the composition: the app, the worker, the CLI).
_brokers: weakref.WeakKeyDictionary[Engine, Broker] = weakref.WeakKeyDictionary()


def attach(engine: Engine, broker: Broker) -> None:
    """Jobs submitted on `engine`'s sessions go to `broker` once their transaction commits."""
    _brokers[engine] = broker


def detach(engine: Engine) -> None:
    broker = _brokers.pop(engine, None)
    if broker is not None:
        broker.close()


def broker_of(engine: Engine) -> Broker | None:
    """The broker attached to `engine`; None when nothing was (jobs then wait for a worker's reaper)."""
    return _brokers.get(engine)
