"""The steward's pages: the organisation's datasets (drafts too) and their ingestions, with progress."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from catalogue.deps import RuntimeDep, SessionDep, SettingsDep
from catalogue.errors import Forbidden, InvalidInput, NotFound
from catalogue.models import DatasetStatus
from catalogue.services import registry
from catalogue.services.search import DatasetQuery, search_datasets
from ingest import services as ingestions
from ingest.models import IngestionCreate, IngestionJob, JobState
from web.forms import attempt
from web.i18n import translator
from web.routing import page_router
from web.session import SignedInPageDep
from web.templating import render

__all__ = ["router"]

router = page_router()
REFRESH_SECONDS = 3


@router.get("/steward", response_class=HTMLResponse)
def steward_page(request: Request, session: SessionDep, caller: SignedInPageDep,
                 settings: SettingsDep) -> HTMLResponse:
    organisations = (registry.list_organisations(session) if caller.is_admin
                     else [registry.get_organisation(session, o) for o in sorted(caller.roles.steward_of)])
    if not organisations and not caller.is_admin:
        raise Forbidden(translator(request).gettext("these pages are for the stewards of an organisation"))
    every_status = [DatasetStatus.draft, DatasetStatus.published, DatasetStatus.retired]
    sections = []
    for org in organisations:
        found = search_datasets(session, caller, DatasetQuery(organisation=[org.id], status=every_status,
                                                              limit=settings.max_page_size))
        sections.append((org, [(d, ingestions.list_jobs(session, caller, d.id)[:5]) for d in found.datasets],
                         found.count))
    return render(request, "steward.html", {"sections": sections, "import_root": settings.import_root})


@router.get("/steward/ingestions/{job_id}", response_class=HTMLResponse)
def ingestion_page(job_id: str, request: Request, session: SessionDep, caller: SignedInPageDep) -> HTMLResponse:
    job = ingestions.get_job(session, caller, job_id)
    running = job.state in (JobState.queued, JobState.running)
    return render(request, "ingestion.html", {"job": job, "running": running, "refresh": REFRESH_SECONDS})


@router.post("/steward/ingestions")
def start_ingestion(request: Request, session: SessionDep, caller: SignedInPageDep, runtime: RuntimeDep,
                    dataset: Annotated[str, Form(max_length=16)],
                    files: Annotated[str, Form(max_length=20_000)] = "",
                    samples: Annotated[str, Form(max_length=1_000)] = "",
                    reference: Annotated[str, Form(max_length=1_000)] = "",
                    pass_only: Annotated[bool, Form()] = False) -> RedirectResponse:
    """Ingest files of the import directory, as the ingestion API does; the job's page follows its progress."""
    names = [n for n in files.replace(",", "\n").splitlines() if n.strip()]
    _ = translator(request).gettext

    def start() -> IngestionJob:
        if not names:
            raise InvalidInput(_("name at least one file of the import directory"), field="files")
        data = IngestionCreate(files=[n.strip() for n in names], samples=samples.strip() or None,
                               reference=reference.strip() or None, pass_only=pass_only)
        try:
            job = ingestions.request_ingestion(session, caller, dataset, data, runtime.settings.import_root)
        except NotFound as exc:
            if exc.field != "files":
                raise  # the dataset itself: an error page
            raise InvalidInput(exc.message, field="files") from None
        return job  # a worker runs it (ingest/tasks.py)

    return attempt(request, start, done=_("Ingestion started."), back="/steward",
                   then=lambda job: f"/steward/ingestions/{job.id}")
