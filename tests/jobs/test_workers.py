"""Jobs on real `genomegate worker` processes, on the embedded queue and on Redis, with SQLite and PostgreSQL.

A worker killed with SIGKILL mid-job leaves the job to another worker once its lease lapses (or failed when its
attempts are used up), never stuck; a job delivered twice runs once; periodic jobs run once per slot however
many workers tick; `genomegate jobs retry` runs a failed job again.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from catalogue.settings import Settings
from jobs import broker as brokers
from jobs import ledger
from jobs.models import Job, JobState
from jobs.reaper import LAPSED
from tests.jobs import kinds
from tests.jobs.conftest import LEASE
from tests.workers import ROOT, Workers, settings_env, wait_for

TEST_KINDS = ("--import", "tests.jobs.kinds")


def _job(engine: Engine, job_id: int) -> Job:
    with Session(engine) as session:
        job = session.get(Job, job_id)
        assert job is not None
        return job


def _submit(engine: Engine, kind: str, payload: dict[str, object]) -> int:
    with Session(engine) as session:
        job = ledger.submit(session, kind, payload)
        session.commit()
        assert job.id is not None
        return job.id


def _lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def test_a_worker_killed_mid_job_leaves_it_to_another_which_finishes_it_once(
        node: Settings, engine: Engine, dispatch: brokers.Broker, workers: Workers, tmp_path: Path) -> None:
    log = tmp_path / "slow.log"
    first = workers.start(node, "--concurrency", "1", *TEST_KINDS)
    job_id = _submit(engine, "tests.slow", {"log": str(log), "seconds": 4})
    running = wait_for("the first worker runs the job", 30,
                       lambda: (j := _job(engine, job_id)).state == JobState.running and (j.progress_done or 0) > 0
                       and j, workers.logs)
    assert running.lease_owner is not None and f":{first.pid}:" in running.lease_owner
    first.kill()
    killed = time.monotonic()
    second = workers.start(node, "--concurrency", "1", *TEST_KINDS)
    done = wait_for("the job ends", 40, lambda: (j := _job(engine, job_id)).state in (
        JobState.succeeded, JobState.failed) and j, workers.logs)
    assert done.state == JobState.succeeded, done.error
    assert done.attempts == 2 and done.lease_owner is None and done.result == {"steps": 40}
    assert time.monotonic() - killed < LEASE + 4 + 20
    lines = _lines(log)
    assert lines == [f"started {job_id} attempt 1", f"started {job_id} attempt 2", f"done {job_id}"]
    assert second.stop() == 0  # SIGTERM: a clean stop


def test_a_killed_job_whose_attempts_are_used_up_fails_and_its_give_up_hook_runs(
        node: Settings, engine: Engine, dispatch: brokers.Broker, workers: Workers, tmp_path: Path) -> None:
    log = tmp_path / "once.log"
    first = workers.start(node, "--concurrency", "1", *TEST_KINDS)
    job_id = _submit(engine, "tests.slow_once", {"log": str(log), "seconds": 30})
    wait_for("the worker runs the job", 30, lambda: _job(engine, job_id).state == JobState.running and _lines(log),
             workers.logs)  # claimed, and the kind began (it notes so just after the claim)
    first.kill()
    workers.start(node, *TEST_KINDS)  # its reaper finds the lapsed lease
    failed = wait_for("the job fails", LEASE + 30, lambda: (j := _job(engine, job_id)).state == JobState.failed
                      and j, workers.logs)
    assert failed.attempts == 1 and failed.finished_at is not None and failed.lease_owner is None
    assert failed.error is not None and LAPSED in failed.error and "\n" not in failed.error
    assert _lines(log) == [f"started {job_id} attempt 1", f"gave up: {failed.error}"]


def test_a_job_delivered_three_times_runs_once(node: Settings, engine: Engine, dispatch: brokers.Broker,
                                               workers: Workers, tmp_path: Path) -> None:
    log = tmp_path / "dup.log"
    with Session(engine) as session:  # recorded without handing it over, then handed over three times
        job = Job(kind="tests.slow", payload={"log": str(log), "seconds": 1}, max_attempts=3)
        session.add(job)
        session.commit()
        job_id = job.id
    assert job_id is not None
    dispatch.send([job_id, job_id, job_id])
    workers.start(node, "--concurrency", "3", *TEST_KINDS)
    done = wait_for("the job succeeds", 30, lambda: (j := _job(engine, job_id)).state == JobState.succeeded and j,
                    workers.logs)
    time.sleep(1.5)  # the other deliveries were taken by the other threads by now
    assert done.attempts == 1
    assert _lines(log) == [f"started {job_id} attempt 1", f"done {job_id}"]


def test_a_failed_job_is_retried_with_the_cli_and_then_succeeds(
        node: Settings, engine: Engine, dispatch: brokers.Broker, workers: Workers, tmp_path: Path) -> None:
    log, mended = tmp_path / "flaky.log", tmp_path / "mended"
    workers.start(node, *TEST_KINDS)
    job_id = _submit(engine, "tests.flaky", {"log": str(log), "mended": str(mended)})
    failed = wait_for("the job fails twice", 30, lambda: (j := _job(engine, job_id)).state == JobState.failed and j,
                      workers.logs)
    assert failed.attempts == 2
    assert failed.error == "RuntimeError: not mended yet"  # one line, never a traceback
    assert _lines(log)[-1] == "gave up: RuntimeError: not mended yet"
    env = settings_env(node)
    mended.touch()
    retried = subprocess.run([sys.executable, "-m", "genomegate", "jobs", "retry", str(job_id)], env=env, cwd=ROOT,
                             capture_output=True, text=True, timeout=60)
    assert retried.returncode == 0, retried.stderr
    assert f"job {job_id} (tests.flaky) is queued again" in retried.stdout
    wait_for("the retried job succeeds", 30, lambda: _job(engine, job_id).state == JobState.succeeded,
             workers.logs)
    again = subprocess.run([sys.executable, "-m", "genomegate", "jobs", "retry", str(job_id)], env=env, cwd=ROOT,
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 1
    assert again.stderr.strip() == f"error (id): job {job_id} is succeeded: only a failed job can be retried"
    assert "Traceback" not in again.stderr


def test_a_periodic_job_runs_once_per_slot_with_two_workers(
        node: Settings, engine: Engine, dispatch: brokers.Broker, workers: Workers, tmp_path: Path) -> None:
    ticks = tmp_path / "ticks.log"
    for _ in range(2):
        workers.start(node, *TEST_KINDS, test_ticks=str(ticks))
    wait_for("the first run", 30, lambda: _lines(ticks), workers.logs)
    time.sleep(5)
    for worker in workers.started:
        assert worker.stop() == 0
    runs = [line.split() for line in _lines(ticks)]
    with Session(engine) as session:
        jobs = session.exec(select(Job).where(Job.kind == "tests.tick").order_by(col(Job.id))).all()
    ran = [int(r[0]) for r in runs]
    assert len(set(ran)) == len(ran)  # no job ran twice
    assert ran == [j.id for j in jobs if j.state == JobState.succeeded]
    # a slot claimed as the workers stopped waits, queued, for the next worker
    assert all(j.state == JobState.queued for j in jobs if j.id not in ran) and len(jobs) - len(ran) <= 2
    slots = [j.dedupe_key for j in jobs]
    assert len(set(slots)) == len(slots)
    # once per slot, not once per worker per slot: runs at most one slot apart, as many as the slots they span
    # (counted from their own times: stopping two workers on a loaded machine may take a few slots more)
    assert len(runs) >= 4, runs
    times = [float(r[2]) for r in runs]
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    assert min(gaps) > kinds.PERIODIC_SECONDS * 0.5, gaps
    assert len(runs) - 1 <= (times[-1] - times[0]) / kinds.PERIODIC_SECONDS + 1, runs
