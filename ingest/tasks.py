"""Ingestion on the job queue: a plan job cuts the files into chunks, one job per chunk stages it (any worker,
any order), and the chunk that finds every chunk staged submits the job that publishes them in one transaction.

Each kind is safe to run again: planning replaces an earlier plan, staging replaces the chunk's earlier rows,
publishing a published ingestion does nothing. Bad input (a malformed record, another assembly) fails the
ingestion at once; anything else is tried again, and a job that fails for good fails its ingestion, dropping
what it staged (`chunks.fail`), so the catalogue never sees half of it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from access.tasks import DERIVE
from catalogue.database import session_scope
from catalogue.errors import Conflict, DomainError, InvalidInput
from ingest import chunks
from ingest.models import IngestionJob, JobState
from jobs import ledger, registry
from jobs.context import JobContext
from jobs.errors import GiveUp

__all__ = ["CHUNK", "PLAN", "PUBLISH", "plan_key", "submit_plan"]

PLAN, CHUNK, PUBLISH = "ingest.plan", "ingest.chunk", "ingest.publish"


def plan_key(ingestion_id: str) -> str:
    """The dedupe key of an ingestion's plan job: one per ingestion, however often it is submitted."""
    return f"{PLAN}:{ingestion_id}"


def submit_plan(session: Session, ingestion: IngestionJob) -> int:
    """Record the job that runs `ingestion` in the caller's transaction (brokered once it commits)."""
    job = ledger.submit(session, PLAN, {"ingestion": ingestion.id}, dedupe_key=plan_key(ingestion.id))
    assert job.id is not None
    ingestion.job_id = job.id
    session.add(ingestion)
    return job.id


def _ingestion(payload: Mapping[str, Any]) -> str:
    value = payload.get("ingestion")
    if not isinstance(value, str) or not 1 <= len(value) <= 16:
        raise GiveUp("the job names no ingestion")
    return value


def _fail(engine: Engine, payload: Mapping[str, Any], error: str) -> None:
    value = payload.get("ingestion")
    if isinstance(value, str):
        chunks.fail(engine, value, error)


def _state(engine: Engine, ingestion_id: str) -> str | None:
    with session_scope(engine) as session:
        job = session.get(IngestionJob, ingestion_id)
        return job.state if job is not None else None


@registry.task(PLAN, on_give_up=_fail)
def plan(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ingestion = _ingestion(payload)
    if _state(ctx.engine, ingestion) not in (JobState.queued, JobState.running):
        return {"skipped": "the ingestion ended"}
    try:
        parts = chunks.plan(ctx.engine, ingestion, store_root=ctx.settings.store_root,
                            chunk_records=ctx.settings.ingest_chunk_records)
    except DomainError as exc:  # the input is wrong: another attempt reads the same input
        raise GiveUp(exc.message) from None
    with session_scope(ctx.engine) as session:
        # keyed by this attempt: a plan run again (its worker died) replaced the earlier plan's staged rows
        for part in parts:
            ledger.submit(session, CHUNK, {"ingestion": ingestion, "chunk": part.number},
                          dedupe_key=f"{CHUNK}:{ingestion}:{ctx.attempt}:{part.number}", parent_id=ctx.job_id)
        if not parts:  # every file unchanged: publishing records that
            _submit_publish(session, ingestion, ctx.job_id)
        session.commit()
    ctx.progress(0, len(parts))
    return {"chunks": len(parts)}


@registry.task(CHUNK, on_give_up=_fail)
def stage(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ingestion = _ingestion(payload)
    number = payload.get("chunk")
    if not isinstance(number, int):
        raise GiveUp("the job names no chunk")
    try:
        summary = chunks.stage(ctx.engine, ingestion, number)
    except Conflict:
        if _state(ctx.engine, ingestion) != JobState.running:
            return {"skipped": "the ingestion ended"}  # another chunk failed it, or it was published
        raise
    except DomainError as exc:
        raise GiveUp(exc.message) from None
    if chunks.all_staged(ctx.engine, ingestion):
        with session_scope(ctx.engine) as session:
            parent = ledger.get(session, ctx.job_id).parent_id
            _submit_publish(session, ingestion, parent)
            session.commit()
    return {"records": summary.records_read, "rows": summary.rows}


def _submit_publish(session: Session, ingestion: str, plan_job: int | None) -> None:
    ledger.submit(session, PUBLISH, {"ingestion": ingestion}, dedupe_key=f"{PUBLISH}:{ingestion}:{plan_job}",
                  parent_id=plan_job)


@registry.task(PUBLISH, on_give_up=_fail)
def publish(ctx: JobContext, payload: Mapping[str, Any]) -> Mapping[str, Any] | None:
    ingestion = _ingestion(payload)
    try:
        done = chunks.publish(ctx.engine, ingestion)
    except Conflict:
        if _state(ctx.engine, ingestion) != JobState.running:
            return {"skipped": "the ingestion ended"}
        raise
    except InvalidInput as exc:  # two files holding the same variants: the input, not the moment
        raise GiveUp(exc.message) from None
    if done.options.get("recount"):  # opt-outs applied: the release copies that new permits get
        with session_scope(ctx.engine) as session:
            ledger.submit(session, DERIVE, {"dataset": done.dataset_id}, dedupe_key=f"{DERIVE}:{ingestion}",
                          parent_id=ctx.job_id)
            session.commit()
    return {"variants": done.counts.get("dataset_variants")}
