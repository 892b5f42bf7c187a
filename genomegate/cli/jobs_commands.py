"""CLI commands of background work: `genomegate worker`, and `genomegate jobs list|show|retry`."""

from __future__ import annotations

import importlib
import json
import logging
import sys
from typing import Annotated

import typer
from rich.table import Table

from catalogue.settings import load_settings
from genomegate.cli.common import Exit, JsonOpt, app, cell, err, friendly, operator_session, out, runtime
from genomegate.kinds import register_all
from genomegate.schema import schema_status
from jobs import broker as brokers
from jobs import ledger
from jobs.models import JobPublic, JobState
from jobs.worker import run_worker

__all__ = ["jobs_app"]

jobs_app = typer.Typer(help="Background jobs: list, show, retry.", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
_COLUMNS = ["id", "kind", "state", "attempts", "progress", "created_at", "finished_at", "error"]


def _people_logs(level: str) -> None:
    """Worker logs for people: time, level, source, message (the server's are JSON lines for machines)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s"))
    for name, at in (("genomegate", level.upper()), ("huey", "WARNING")):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(at)
        logger.propagate = False


@app.command()
@friendly
def worker(
    concurrency: Annotated[int | None, typer.Option(min=1, max=256, help="jobs run at once (default: the setting "
                                                    "GENOMEGATE_WORKER_CONCURRENCY)")] = None,
    queue: Annotated[str | None, typer.Option(help="the broker's URL (default: GENOMEGATE_QUEUE_URL; empty: the "
                                              "embedded SQLite queue)")] = None,
    imports: Annotated[list[str] | None, typer.Option("--import", help="also register the kinds of this Python "
                                                      "module (repeatable)")] = None,
    parent: Annotated[int | None, typer.Option(hidden=True, help="stop when this process ends")] = None,
) -> None:
    """Run background jobs (and the periodic ones' schedule) in the foreground until SIGTERM or Ctrl-C."""
    if parent is not None:
        from ingest.workers import die_with_parent

        die_with_parent(parent)
    settings = load_settings(**({"queue_url": queue} if queue is not None else {}))
    _people_logs(settings.log_level)
    register_all()
    for module in imports or []:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise Exit(f"--import {module}: {exc}") from None
    rt = runtime()
    status = schema_status(rt.engine)
    rt.engine.dispose()
    if not status.is_current:
        raise Exit(f"the database schema is at {status.current or 'nothing'}, the code needs {status.head}: "
                   "run `genomegate db upgrade`")
    try:
        run_worker(settings, concurrency=concurrency or settings.worker_concurrency)
    except ValueError as exc:
        raise Exit(str(exc)) from None


def _row(job: JobPublic) -> dict[str, str]:
    done, total = job.progress_done, job.progress_total
    progress = "" if done is None else f"{done}/{total}" if total else str(done)
    row = job.model_dump(mode="json")
    row.update(attempts=f"{job.attempts}/{job.max_attempts}", progress=progress, state=job.state.value)
    return {k: cell(v) for k, v in row.items()}


@jobs_app.command("list")
@friendly
def jobs_list(state: Annotated[JobState | None, typer.Option(help="only jobs in this state")] = None,
              kind: Annotated[str | None, typer.Option(help="only jobs of this kind")] = None,
              limit: Annotated[int, typer.Option(min=1, max=ledger.MAX_LIST)] = 50,
              as_json: JsonOpt = False) -> None:
    """The newest jobs (and how many match)."""
    with operator_session() as (session, _):
        page = ledger.list_jobs(session, state=state, kind=kind, limit=limit)
    if as_json:
        print(page.model_dump_json(indent=2))
        return
    table = Table(title=f"Jobs ({len(page.data)} of {page.count})")
    for column in _COLUMNS:
        table.add_column(column, no_wrap=column in ("id", "kind", "state"))
    for job in page.data:
        row = _row(job)
        table.add_row(*(row[c] for c in _COLUMNS))
    out.print(table)


@jobs_app.command("show")
@friendly
def jobs_show(job_id: int, as_json: JsonOpt = False) -> None:
    """One job: its payload, state, attempts, lease, progress, error and result."""
    with operator_session() as (session, _):
        job = ledger.public(ledger.get(session, job_id))
    if as_json:
        print(job.model_dump_json(indent=2))
        return
    table = Table(show_header=False, title=f"Job {job.id}")
    for key, value in job.model_dump(mode="json").items():
        table.add_row(key, json.dumps(value) if isinstance(value, dict) else cell(value))
    out.print(table)


@jobs_app.command("retry")
@friendly
def jobs_retry(job_id: int) -> None:
    """Queue a failed job again, with all its attempts."""
    with operator_session() as (session, rt):
        try:
            brokers.attach(rt.engine, brokers.open_broker(rt.settings))
        except Exception as exc:  # the broker is down: a worker's reaper hands the job over
            err.print(f"the broker did not answer ({exc}); the job waits for a worker's reaper", highlight=False)
        try:
            job = ledger.retry(session, job_id, actor="cli")
        finally:
            brokers.detach(rt.engine)
    out.print(f"job {job.id} ({job.kind}) is queued again")
