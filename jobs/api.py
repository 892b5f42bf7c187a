"""HTTP API of the job ledger under /api/jobs: list, show and retry jobs (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from catalogue.deps import SessionDep, SignedInDep
from catalogue.limits import MAX_ID, MAX_OFFSET
from catalogue.problems import problems
from catalogue.services.roles import require_admin
from jobs import ledger
from jobs.models import JobPublic, JobsPublic, JobState

__all__ = ["router"]

# Every route here is for admins: 403 for anyone else.
router = APIRouter(prefix="/api/jobs", tags=["jobs"], responses=problems(403))
JobId = Annotated[int, Path(ge=1, le=MAX_ID, description="a job's id")]


@router.get("", summary="Jobs, newest first, filtered by state and kind (admins)")
def list_jobs(session: SessionDep, caller: SignedInDep, state: JobState | None = None,
              kind: Annotated[str | None, Query(min_length=1, max_length=100)] = None,
              parent: Annotated[int | None, Query(ge=1, le=MAX_ID, description="children of this job")] = None,
              limit: Annotated[int, Query(ge=1, le=ledger.MAX_LIST)] = 50,
              offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0) -> JobsPublic:
    require_admin(caller)
    return ledger.list_jobs(session, state=state, kind=kind, parent_id=parent, limit=limit, offset=offset)


@router.get("/{job_id}", responses=problems(404), summary="One job: state, attempts, progress, error (admins)")
def get_job(job_id: JobId, session: SessionDep, caller: SignedInDep) -> JobPublic:
    require_admin(caller)
    return ledger.public(ledger.get(session, job_id))


@router.post("/{job_id}/retry", responses=problems(404, 409),
             summary="Queue a failed job again with all its attempts (admins; 409 unless it failed)")
def retry_job(job_id: JobId, session: SessionDep, caller: SignedInDep) -> JobPublic:
    require_admin(caller)
    return ledger.public(ledger.retry(session, job_id, actor=caller.subject or "admin"))
