"""The ledger and the scheduler in one process: hand-over after commit, dedupe, claims, slots, the reaper's rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from catalogue.errors import InvalidInput
from catalogue.models import utcnow
from catalogue.settings import Settings
from genomegate.kinds import register_all
from jobs import broker as brokers
from jobs import ledger, runner
from jobs.errors import NotRetryable
from jobs.models import Job, JobState
from jobs.reaper import LAPSED, reap
from jobs.scheduler import tick
from tests.jobs import kinds  # noqa: F401 (registers tests.slow)


def test_a_job_reaches_the_broker_only_when_its_transaction_commits(engine: Engine, dispatch: brokers.Broker) -> None:
    with Session(engine) as session:
        ledger.submit(session, "tests.slow", {"log": "/dev/null", "seconds": 0})
        session.rollback()
        assert dispatch.huey.pending_count() == 0
        first = ledger.submit(session, "tests.slow", {"log": "/dev/null", "seconds": 0})
        again = ledger.submit(session, "tests.slow", {"log": "/dev/null", "seconds": 0})
        assert again is first  # the same job twice in one transaction is one job
        assert dispatch.huey.pending_count() == 0
        session.commit()
    assert dispatch.huey.pending_count() == 1
    with Session(engine) as session:
        assert session.exec(select(Job)).one().max_attempts == 3  # the kind's own


def test_a_dedupe_key_makes_one_job(engine: Engine, dispatch: brokers.Broker) -> None:
    with Session(engine) as session:
        first = ledger.submit(session, "audit.checkpoint", {}, dedupe_key="audit.checkpoint@slot-1").id
        session.commit()
    with Session(engine) as session:
        second = ledger.submit(session, "audit.checkpoint", {}, dedupe_key="audit.checkpoint@slot-1")
        session.commit()
        assert second.id == first
        assert len(session.exec(select(Job)).all()) == 1


@pytest.mark.parametrize(("payload", "match"), [({"blob": "x" * 20_000}, "at most"), ({"when": object()}, "JSON")])
def test_payloads_are_small_json(session: Session, payload: dict[str, object], match: str) -> None:
    with pytest.raises(InvalidInput, match=match):
        ledger.submit(session, "tests.slow", payload)


def test_a_claim_is_taken_once_and_the_children_are_counted(engine: Engine, session: Session) -> None:
    parent = ledger.submit(session, "tests.slow", {"n": 0})
    session.commit()
    children = [ledger.submit(session, "tests.slow", {"n": n}, parent_id=parent.id) for n in (1, 2, 3)]
    session.commit()
    ids = [c.id for c in children if c.id is not None]
    assert runner.claim(engine, ids[0], 30) is not None
    assert runner.claim(engine, ids[0], 30) is None  # a second delivery finds it taken
    assert runner.claim(engine, ids[1], 30, now=utcnow() - timedelta(hours=1)) is None  # not due then
    assert ledger.children_states(session, parent.id or 0) == {
        JobState.queued: 2, JobState.running: 1, JobState.succeeded: 0, JobState.failed: 0}


def test_the_reaper_requeues_a_lapsed_job_then_fails_it_when_its_attempts_are_used_up(
        engine: Engine, session: Session, settings: Settings) -> None:
    job = ledger.submit(session, "tests.slow", {"log": "/dev/null", "seconds": 0})
    job.max_attempts = 2
    session.commit()
    assert job.id is not None
    start = utcnow()
    for attempt in (1, 2):
        at = start + timedelta(seconds=10 * attempt)
        assert runner.claim(engine, job.id, 1, now=at) is not None  # a worker takes it, then dies
        reaped = reap(engine, settings, now=at + timedelta(seconds=5))
        session.expire_all()
        found = session.get(Job, job.id)
        assert found is not None and found.attempts == attempt
        if attempt == 1:
            assert reaped.requeued == [job.id] and found.state == JobState.queued
            assert found.error == f"attempt 1: {LAPSED}"
        else:
            assert reaped.failed == [job.id] and found.state == JobState.failed
            assert found.error == f"{LAPSED}; its 2 attempt(s) are used up"
    assert ledger.retry(session, job.id, actor="test").state == JobState.queued
    with pytest.raises(NotRetryable, match="only a failed job"):
        ledger.retry(session, job.id, actor="test")


def test_a_lost_delivery_is_handed_over_again(engine: Engine, session: Session, settings: Settings,
                                              dispatch: brokers.Broker) -> None:
    job = Job(kind="tests.slow", payload={}, not_before=utcnow() - timedelta(minutes=5))
    session.add(job)
    session.commit()
    assert dispatch.huey.pending_count() == 0  # recorded, never handed over
    assert reap(engine, settings).redelivered == [job.id]
    assert dispatch.huey.pending_count() == 1
    assert reap(engine, settings).redelivered == []  # once a lease, not every look


def test_each_slot_is_claimed_once_and_a_zero_interval_turns_a_kind_off(engine: Engine, settings: Settings) -> None:
    register_all()
    on = settings.model_copy(update={"audit_checkpoint_seconds": 10, "notifications_every_seconds": 0,
                                     "reminders_every_seconds": 0, "expiries_every_seconds": 0,
                                     "budget_renewal_every_seconds": 0, "witness_every_seconds": 0,
                                     "network_health_every_seconds": 0, "network_harvest_every_seconds": 0,
                                     "opt_out_apply_every_seconds": 0})
    now = utcnow()
    first = tick(engine, on, now=now)
    assert tick(engine, on, now=now) == []  # another worker ticking at the same moment wins nothing
    assert tick(engine, on, now=now + timedelta(seconds=5)) == []  # not due yet
    second = tick(engine, on, now=now + timedelta(seconds=10))
    with Session(engine) as session:
        kinds_run = [session.get(Job, i).kind for i in first + second]  # type: ignore[union-attr]
    # every 10 s and every 15 s (half the 30 s lease); the other kinds are off
    assert sorted(kinds_run) == ["audit.checkpoint", "audit.checkpoint", "jobs.reap"]


def test_a_dedupe_key_recorded_by_another_process_after_the_check_is_that_job(
        engine: Engine, dispatch: brokers.Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two workers finishing an ingestion's last chunks at once both find no publish job and both submit one:
    the second gets the first's job, without an error (on SQLite the check reads outside a transaction)."""
    with Session(engine) as session:
        first = ledger.submit(session, "audit.checkpoint", {}, dedupe_key="audit.checkpoint@slot-2").id
        session.commit()
    found, checks = ledger._known, []

    def known(s: Session, key: str) -> Job | None:  # the first check runs before the other process's commit
        checks.append(key)
        return None if len(checks) == 1 else found(s, key)

    monkeypatch.setattr(ledger, "_known", known)
    with Session(engine) as session:
        second = ledger.submit(session, "audit.checkpoint", {}, dedupe_key="audit.checkpoint@slot-2")
        session.commit()
        assert second.id == first
        assert len(session.exec(select(Job)).all()) == 1
