"""HTTP API of ingestion: ask for one (stewards), follow its progress and result."""

from __future__ import annotations

from fastapi import APIRouter, status

from catalogue.deps import RuntimeDep, SessionDep, SignedInDep
from catalogue.problems import problems
from ingest import services
from ingest.models import IngestionCreate, IngestionPublic

__all__ = ["router"]

router = APIRouter(prefix="/api", tags=["ingestion"], responses=problems(403))  # stewards of the dataset's organisation


@router.post("/datasets/{dataset_id}/ingestions", responses=problems(409), status_code=status.HTTP_202_ACCEPTED,
             summary="Ingest files from the import directory into a dataset (stewards of its organisation; admins)")
def request_ingestion(dataset_id: str, data: IngestionCreate, session: SessionDep, caller: SignedInDep,
                      runtime: RuntimeDep) -> IngestionPublic:
    """Queued for the workers (ingest/tasks.py); its state and progress are on the ingestion."""
    job = services.request_ingestion(session, caller, dataset_id, data, runtime.settings.import_root)
    return IngestionPublic.model_validate(job)


@router.get("/datasets/{dataset_id}/ingestions", summary="A dataset's ingestions, newest first (stewards; admins)")
def list_ingestions(dataset_id: str, session: SessionDep, caller: SignedInDep) -> list[IngestionPublic]:
    return [IngestionPublic.model_validate(j) for j in services.list_jobs(session, caller, dataset_id)]


@router.get("/ingestions/{job_id}", summary="State, progress, counts and errors of an ingestion (stewards; admins)")
def get_ingestion(job_id: str, session: SessionDep, caller: SignedInDep) -> IngestionPublic:
    return IngestionPublic.model_validate(services.get_job(session, caller, job_id))
