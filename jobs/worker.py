"""A worker process: a Huey consumer whose threads run delivered jobs, and the scheduler's ticker beside it.

It stops cleanly on SIGTERM (running jobs finish first) and at once on a second signal or SIGINT; a job cut
short by a hard stop is run again by another worker once its lease lapses.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine

from catalogue.database import make_engine
from catalogue.settings import Settings
from jobs import broker as brokers
from jobs.runner import run_job
from jobs.scheduler import Ticker

__all__ = ["POLL_SECONDS", "run_worker", "worker_engine"]

log = logging.getLogger("genomegate.jobs")
POLL_SECONDS = 0.5  # the longest a polled broker (the SQLite file, PostgreSQL) leaves a new job waiting


def worker_engine(settings: Settings, concurrency: int) -> Engine:
    """A worker's engine: a connection per job thread, its heartbeat and the ticker; writes wait for locks longer
    than a web request would (a job has no client waiting)."""
    return make_engine(settings.database_url, pool_size=2 * concurrency + 4, pool_timeout=30.0, lock_timeout=10.0)


def run_worker(settings: Settings, *, concurrency: int, queue_url: str | None = None) -> None:
    """Run jobs from the broker with `concurrency` threads until stopped by a signal (in the foreground)."""
    engine = worker_engine(settings, concurrency)
    broker = brokers.open_broker(settings, queue_url=queue_url,
                                 run=lambda job_id: run_job(engine, settings, int(job_id)))
    brokers.attach(engine, broker)
    consumer = broker.huey.create_consumer(
        workers=concurrency, worker_type="thread", periodic=False, initial_delay=0.05, backoff=1.5,
        max_delay=POLL_SECONDS, check_worker_health=True, graceful_signal="TERM")
    ticker = Ticker(engine, settings)
    log.info("worker: %s thread(s) on %s", concurrency, brokers.queue_label(settings, queue_url))
    ticker.start()
    try:
        consumer.run()
    finally:
        ticker.stop()
        brokers.detach(engine)
        engine.dispose()
        log.info("worker stopped")
