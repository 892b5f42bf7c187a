"""Ingestion use cases: ask for an ingestion, run it all-or-nothing, report on it."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import as_completed
from pathlib import Path

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from catalogue.accessions import next_accession
from catalogue.database import make_engine, session_scope
from catalogue.errors import Conflict, DomainError, InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.services.datasets import get_dataset_for_update
from ingest import chunks, tasks
from ingest.models import IngestionCreate, IngestionJob, JobState
from ingest.workers import worker_pool
from jobs.runner import holding

__all__ = [
    "DEFAULT_LEASE_SECONDS", "INGESTION", "Progress", "get_job", "list_jobs", "request_ingestion", "run_job",
    "start_ingestion",
]

log = logging.getLogger("genomegate.ingest")
INGESTION = "GGI"
Progress = Callable[[int, int | None], None]
DEFAULT_LEASE_SECONDS = 30.0  # the lease an operator's foreground ingestion holds (settings.job_lease_seconds)


def _resolve_under(root: Path, relative: str, what: str) -> Path:
    path = (root / relative).resolve()
    if not path.is_relative_to(root):
        raise InvalidInput(f"{relative}: {what} must lie inside the import directory", field="files")
    if not path.is_file():
        raise NotFound(f"{relative}: no such file in the import directory", field="files")
    return path


def start_ingestion(session: Session, caller: Caller, dataset_id: str, *, files: Sequence[Path],
                    samples: Path | None = None, reference: Path | None = None, pass_only: bool = True,
                    jobs: int = 1) -> IngestionJob:
    """Record a queued ingestion of `files` into a dataset the caller stewards, and the job that runs it
    (ingest/tasks.py): a worker takes it once this commits, unless this process runs it first (`run_job`)."""
    dataset = get_dataset_for_update(session, caller, dataset_id)
    if jobs < 1 or jobs > 64:
        raise InvalidInput("jobs must be between 1 and 64", field="jobs")
    for path in (*files, *(p for p in (samples, reference) if p)):
        if not path.is_file():
            raise NotFound(f"{path}: no such file", field="files")
    job = IngestionJob(
        id=next_accession(session, INGESTION), dataset_id=dataset.id, requested_by=caller.subject or "operator",
        options={"files": [str(p) for p in files], "samples": str(samples) if samples else None,
                 "reference": str(reference) if reference else None, "pass_only": pass_only, "jobs": jobs},
    )
    session.add(job)
    session.flush()
    tasks.submit_plan(session, job)
    session.commit()
    return job


def request_ingestion(session: Session, caller: Caller, dataset_id: str, data: IngestionCreate,
                      import_root: Path) -> IngestionJob:
    """An ingestion asked for over HTTP: every path must lie inside the import directory."""
    get_dataset_for_update(session, caller, dataset_id)
    files = [_resolve_under(import_root, f, "a file") for f in data.files]
    samples = _resolve_under(import_root, data.samples, "a sample sheet") if data.samples else None
    reference = _resolve_under(import_root, data.reference, "a reference") if data.reference else None
    return start_ingestion(session, caller, dataset_id, files=files, samples=samples, reference=reference,
                           pass_only=data.pass_only)


def get_job(session: Session, caller: Caller, job_id: str) -> IngestionJob:
    """A job, for stewards of its dataset's organisation and admins."""
    job = session.get(IngestionJob, job_id)
    if job is None:
        raise NotFound(f"ingestion {job_id} does not exist")
    get_dataset_for_update(session, caller, job.dataset_id)
    return job


def list_jobs(session: Session, caller: Caller, dataset_id: str) -> list[IngestionJob]:
    get_dataset_for_update(session, caller, dataset_id)
    return list(session.exec(select(IngestionJob).where(IngestionJob.dataset_id == dataset_id)
                             .order_by(col(IngestionJob.created_at).desc())).all())


# --- running here ------------------------------------------------------------------------------------

def run_job(engine: Engine, job_id: str, *, store_root: Path, progress: Progress | None = None,
            chunk_records: int = chunks.CHUNK_RECORDS, lease_seconds: float = DEFAULT_LEASE_SECONDS) -> IngestionJob:
    """Run a queued ingestion in this process (an operator's `genomegate ingest`): plan it, stage its chunks
    (in `jobs` local processes when it asked for more than one) and publish them. Its data and its `succeeded`
    state are committed together, or not at all (a failure drops what was staged).

    This process holds the ingestion's plan job under a lease, as a worker would: should it die, the lease
    lapses and the reaper hands the job to a worker, which plans the ingestion again and completes it."""
    with session_scope(engine) as session:
        job = session.get(IngestionJob, job_id)
        if job is None:
            raise NotFound(f"ingestion {job_id} does not exist")
        if job.state != JobState.queued or job.job_id is None:
            raise Conflict(f"ingestion {job_id} is {job.state}: only a queued one can run")
        workers, plan_job = int(job.options.get("jobs", 1)), job.job_id
    with holding(engine, plan_job, lease_seconds):
        try:
            planned = chunks.plan(engine, job_id, store_root=store_root, chunk_records=chunk_records)
            _stage_all(engine, planned, workers, progress)
            return chunks.publish(engine, job_id)
        except DomainError as exc:
            chunks.fail(engine, job_id, exc.message)
            raise
        except Exception:
            log.exception("ingestion %s failed", job_id)
            chunks.fail(engine, job_id, "internal error (logged on the server); nothing was changed")
            raise
        except BaseException:  # interrupted (Ctrl-C): nothing of it stays
            chunks.fail(engine, job_id, "interrupted; nothing was changed: run it again")
            raise


def _stage_all(engine: Engine, planned: Sequence[chunks.Chunk], workers: int, progress: Progress | None) -> None:
    """Stage every chunk: here, one after another, or in `workers` local processes (largest chunks first)."""
    total = sum(c.records for c in planned) or None
    done = 0
    if workers <= 1 or len(planned) <= 1:
        for part in planned:
            base = done

            def tick(records: int, _: int | None, base: int = base) -> None:
                if progress:
                    progress(base + records, total)

            done += chunks.stage(engine, part.ingestion_id, part.number, progress=tick).records_read
            tick(0, None)
        return
    url = engine.url.render_as_string(hide_password=False)
    pool = worker_pool(min(workers, len(planned)))
    try:
        running = [pool.submit(_stage_in_worker, url, part.ingestion_id, part.number)
                   for part in sorted(planned, key=lambda c: -c.records)]
        for future in as_completed(running):
            done += future.result().records_read
            if progress:
                progress(done, total)
    except BaseException:
        # Not waited for: a chunk still being read finds its ingestion failed when it writes, and stages nothing.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()


_worker_engines: dict[str, Engine] = {}  # a worker process's engine per database, made on its first chunk


def _stage_in_worker(url: str, ingestion_id: str, number: int) -> chunks.ChunkSummary:
    engine = _worker_engines.get(url)
    if engine is None:
        engine = _worker_engines[url] = make_engine(url)
    return chunks.stage(engine, ingestion_id, number)
