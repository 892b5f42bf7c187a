"""Real `genomegate worker` processes for tests: started with a node's settings, always stopped at teardown."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from catalogue.models import utcnow
from catalogue.settings import Settings
from genomegate.kinds import register_all
from jobs.models import Job, JobState
from jobs.runner import run_job

__all__ = ["WorkerProcess", "Workers", "run_queued", "settings_env", "wait_for"]

ROOT = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def settings_env(settings: Settings, **extra: Any) -> dict[str, str]:
    """The environment of a process configured as `settings` (and `extra` settings), nothing inherited of ours."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENOMEGATE_")}
    values = settings.model_dump(mode="json")
    values.update(extra)
    for key in ("data_dir", "database_url", "public_base_url", "queue_url", "queue_name", "job_lease_seconds",
                "job_max_attempts", "smtp_host", "smtp_port", "smtp_from", "reminder_days", "privacy_renew_days",
                "audit_checkpoint_seconds", "notifications_every_seconds", "reminders_every_seconds",
                "expiries_every_seconds", "budget_renewal_every_seconds", *extra):
        value = values.get(key)
        if value is not None:
            env[f"GENOMEGATE_{key.upper()}"] = str(value)
    env["PYTHONPATH"] = str(ROOT)
    return env


class WorkerProcess:
    def __init__(self, env: dict[str, str], log: Path, *args: str) -> None:
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen([sys.executable, "-m", "genomegate", "worker", *args], env=env,
                                            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT)

    @property
    def pid(self) -> int:
        return self.process.pid

    def kill(self) -> None:
        """SIGKILL: the worker gets no chance to finish or record anything."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 15) -> int:
        """SIGTERM (a clean stop: running jobs finish), then SIGKILL if it lingers; the exit code."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.process.returncode

    def output(self) -> str:
        return self.log.read_text(errors="replace")


class Workers:
    """Starts workers for one test; every one is killed at teardown whatever happened."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.started: list[WorkerProcess] = []

    def start(self, settings: Settings, *args: str, **extra: Any) -> WorkerProcess:
        log = self.folder / f"worker-{len(self.started) + 1}.log"
        worker = WorkerProcess(settings_env(settings, **extra), log, *args)
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"--- {w.log.name}\n{w.output()[-3000:]}" for w in self.started)

    def close(self) -> None:
        for worker in self.started:
            worker.kill()


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[Workers]:
    started = Workers(tmp_path)
    try:
        yield started
    finally:
        started.close()


def wait_for(what: str, seconds: float, probe: Callable[[], T | None], logs: Callable[[], str] = str) -> T:
    """Poll `probe` until it gives something truthy; fail naming `what` (with the workers' logs) after `seconds`."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {seconds} s\n{logs()}")
        time.sleep(0.1)


def run_queued(engine: Engine, settings: Settings, *, limit: int = 1_000) -> int:
    """Run every queued job that is due, in this process, with the worker's own runner (jobs.runner.run_job), until
    none is left (jobs they submit included); returns how many ran. For tests of what a job does; tests of the
    workers themselves start real worker processes."""
    register_all()
    ran = 0
    while ran < limit:
        with Session(engine) as session:
            due = session.exec(select(Job.id).where(col(Job.state) == JobState.queued.value,
                                                    col(Job.not_before) <= utcnow()).order_by(col(Job.id))).first()
        if due is None:
            return ran
        run_job(engine, settings, due)
        ran += 1
    raise AssertionError(f"more than {limit} jobs ran: a job that submits itself again?")
