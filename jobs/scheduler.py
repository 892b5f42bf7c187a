"""The scheduler: every worker ticks, and for each periodic kind one of them claims each slot and submits its job.

A slot is claimed with a conditional update of `jobs_schedule.next_due` (compare-and-set on the value read, and
only while it is due): of N workers ticking at once, exactly one moves it on, and that one submits the run as a
job with the dedupe key `name@slot` in the same transaction. Slots missed while no worker ran are not made up:
the next run is one interval after the last slot, or after now if that is already past.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta

from sqlalchemy import Engine, insert, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, col, select

from catalogue.errors import DomainError
from catalogue.models import as_utc, utcnow
from catalogue.settings import Settings
from jobs import ledger, registry
from jobs.models import Schedule

__all__ = ["TICK_SECONDS", "Ticker", "slot_key", "tick"]

log = logging.getLogger("genomegate.jobs")
TICK_SECONDS = 0.5

# updates that leave the session's loaded objects alone (they hold naive datetimes on SQLite)
_SLOTS = update(Schedule).execution_options(synchronize_session=False)

def slot_key(name: str, slot: datetime) -> str:
    return f"{name}@{as_utc(slot).isoformat(timespec='milliseconds')}"


def _ensure_rows(engine: Engine, names: list[str], now: datetime) -> None:
    with Session(engine) as session:
        known = set(session.exec(select(Schedule.name).where(col(Schedule.name).in_(names))).all())
    for name in names:
        if name in known:
            continue
        try:
            with Session(engine) as session:
                session.execute(insert(Schedule).values(name=name, next_due=now))  # the first slot: at once
                session.commit()
        except IntegrityError:  # another worker made it first
            pass


def tick(engine: Engine, settings: Settings, *, now: datetime | None = None) -> list[int]:
    """Claim every due slot this worker wins and submit its job; the ids of the jobs submitted."""
    now = now or utcnow()
    every = {p.name: p.every(settings) for p in registry.periodics()}
    every = {name: seconds for name, seconds in every.items() if seconds > 0}
    if not every:
        return []
    _ensure_rows(engine, sorted(every), now)
    submitted = []
    with Session(engine) as session:
        rows = session.exec(select(Schedule).where(col(Schedule.name).in_(sorted(every)))).all()
        slots = [(row.name, row.next_due) for row in rows]
    for name, stored in slots:
        interval = timedelta(seconds=every[name])
        due = as_utc(stored)
        if due > now + interval:  # the interval was shortened: the next slot is now
            due_next = now
        elif due <= now:
            due_next = due + interval if due + interval > now else now + interval
        else:
            continue
        with Session(engine) as session:
            won = session.execute(_SLOTS.where(col(Schedule.name) == name, col(Schedule.next_due) == stored)
                                  .values(next_due=due_next)).rowcount  # type: ignore[attr-defined]
            if not won:
                session.rollback()
                continue
            if due <= now:
                job = ledger.submit(session, name, {}, dedupe_key=slot_key(name, due))
                session.commit()
                if job.id is not None:
                    submitted.append(job.id)
            else:
                session.commit()
    return submitted


class Ticker:
    """The worker's scheduler thread: ticks every TICK_SECONDS until stopped."""

    def __init__(self, engine: Engine, settings: Settings, *, seconds: float = TICK_SECONDS) -> None:
        self.engine, self.settings, self.seconds = engine, settings, seconds
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="scheduler", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(timeout=10)

    def _run(self) -> None:
        while not self.stopped.is_set():
            try:
                for job_id in tick(self.engine, self.settings):
                    log.debug("scheduled job %s", job_id)
            except (SQLAlchemyError, DomainError) as exc:  # the database is away: the next tick tries again
                log.warning("the scheduler's tick failed: %s", (str(exc).splitlines() or [""])[0][:300])
            self.stopped.wait(self.seconds)
