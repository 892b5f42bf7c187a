"""`genomegate serve --with-worker`: one worker process beside the server, which dies with it however it ends."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine
from sqlmodel import Session, select

from catalogue.settings import Settings
from jobs.models import Job
from tests.workers import ROOT, settings_env, wait_for


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    return not (status.exists() and "State:\tZ" in status.read_text())


@pytest.fixture
def server(node: Settings, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", str(port), "--with-worker"],
                               env=settings_env(node), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process, f"http://127.0.0.1:{port}"
    finally:
        for pid in _children(process.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        process.kill()
        process.wait()
        log.close()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL])
def test_the_worker_of_serve_runs_jobs_and_ends_with_the_server(
        server: tuple[subprocess.Popen[bytes], str], engine: Engine, how: signal.Signals) -> None:
    process, base = server
    wait_for("the server answers", 60, lambda: _answers(f"{base}/healthz"))
    [worker] = wait_for("its worker process", 30, lambda: _children(process.pid))
    with Session(engine) as session:  # the worker's reaper runs every half lease
        wait_for("the worker runs jobs", 30, lambda: session.exec(select(Job).where(Job.kind == "jobs.reap")).first())
    os.kill(process.pid, how)
    process.wait(timeout=40)
    wait_for("the worker ended with the server", 35, lambda: not _alive(worker))
