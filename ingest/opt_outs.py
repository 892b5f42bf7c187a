"""The scheduled job that applies opt-outs: each dataset with pending requests is counted again without them.

Every `opt_out_apply_every_seconds` (4 hours by default, at most 12) one worker runs `ingest.opt_outs.apply`:
for each dataset where what was asked (catalogue.services.opt_outs) differs from what is in effect, it records an
ingestion that counts the dataset's stored files again (`recount`: ingest/chunks.py reads them without the
samples whose opt-out is wanted, through the same chunks, staging and publishing as any ingestion) and queues
its plan job. Publishing replaces the dataset's variants and records the exclusion as applied in the same
transaction, so the counts and what is recorded as in effect never disagree; every request made up to the plan
is applied together, in one batch per dataset. A dataset with an ingestion still running waits for the next
run. The release files without the excluded samples are made once it is published (access.release.derived).
"""

from __future__ import annotations

from sqlmodel import Session, col, select

from catalogue.accessions import next_accession
from catalogue.database import session_scope
from catalogue.services import opt_outs
from ingest import tasks
from ingest.models import IngestionJob, JobState
from ingest.services import INGESTION
from jobs import registry
from jobs.context import JobContext

__all__ = ["APPLY", "REQUESTED_BY", "apply_opt_outs", "start_recounts"]

APPLY = "ingest.opt_outs.apply"
REQUESTED_BY = "opt-out job"


def start_recounts(session: Session) -> list[str]:
    """Record a recount (and its plan job) for every dataset with pending opt-outs or opt-ins that has no
    ingestion under way; commits. Returns the ingestions' ids."""
    started: list[str] = []
    for dataset_id in opt_outs.pending_datasets(session):
        busy = session.exec(select(IngestionJob.id).where(
            IngestionJob.dataset_id == dataset_id,
            col(IngestionJob.state).in_([JobState.queued.value, JobState.running.value]))).first()
        if busy is not None:
            continue
        job = IngestionJob(id=next_accession(session, INGESTION), dataset_id=dataset_id, requested_by=REQUESTED_BY,
                           options={"recount": True, "files": [], "jobs": 1})
        session.add(job)
        session.flush()
        tasks.submit_plan(session, job)
        started.append(job.id)
    session.commit()
    return started


@registry.periodic(APPLY, every=lambda settings: settings.opt_out_apply_every_seconds)
def apply_opt_outs(ctx: JobContext) -> dict[str, list[str]]:
    with session_scope(ctx.engine) as session:
        return {"recounts": start_recounts(session)}
