"""The web tests' world: a lab, two DACs, datasets of each kind, people in every role, and browsers for them."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import Role
from catalogue.runtime import Runtime
from ingest.models import IngestionJob
from ingest.services import run_job, start_ingestion
from ingest.synthetic import simulate_cohort, write_sample_sheet
from tests.factories import grant, make_dac, make_dataset, make_organisation

RESEARCHER = "researcher@university.example"
OTHER_RESEARCHER = "someone-else@university.example"
DAC_MEMBER = "dac-chair@biobank.example"
OTHER_DAC_MEMBER = "member@other-dac.example"
STEWARD = "steward@biobank.example"
OTHER_STEWARD = "steward@other-lab.example"
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


class Browser:
    """A TestClient with its own cookie jar that fills in the CSRF token of the session, like a browser would."""

    def __init__(self, app: FastAPI) -> None:
        self.client = TestClient(app, raise_server_exceptions=False, follow_redirects=False)

    def csrf(self) -> str:
        match = _CSRF.search(self.client.get("/signin").text)
        assert match, "the sign-in page carries a CSRF token"
        return match.group(1)

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict[str, Any] | None = None, **kwargs: Any) -> httpx.Response:
        return self.client.post(url, data={"csrf_token": self.csrf(), **(data or {})}, **kwargs)

    def sign_in(self, subject: str) -> Browser:
        response = self.post("/signin/local", {"subject": subject, "next": "/"})
        assert response.status_code == 303, response.text
        return self


@dataclass
class World:
    app: FastAPI
    org: str
    other_org: str
    dac: str
    other_dac: str
    public: str
    controlled: str  # CONTROLLED, DAC 1, DS (cardiomyopathy) + IRB
    elsewhere: str  # CONTROLLED, the other DAC
    draft: str  # a draft of the lab

    def browser(self, subject: str | None = None) -> Browser:
        browser = Browser(self.app)
        return browser.sign_in(subject) if subject else browser

    def draft_request(self, subject: str = RESEARCHER, *, dataset: str | None = None,
                      purpose: str = "DUO:0000040", **fields: Any) -> str:
        browser = self.browser(subject)
        data = {"datasets": dataset or self.controlled, "project_title": "Heart genes",
                "lay_summary": "Which variants cause cardiomyopathy?", "purpose": purpose,
                "disease_terms": "MONDO:0004994", "institution": "University", **fields}
        response = browser.post("/requests", data)
        assert response.status_code == 303 and response.headers["location"].startswith("/requests/GGR"), (
            response.headers.get("location"))
        return str(response.headers["location"].rsplit("/", 1)[1])

    def submitted_request(self, subject: str = RESEARCHER, **kwargs: Any) -> str:
        request_id = self.draft_request(subject, **kwargs)
        browser = self.browser(subject)
        dataset = kwargs.get("dataset") or self.controlled
        assert browser.post(f"/requests/{request_id}/agreements", {"accept": f"{dataset}@1"}).status_code == 303
        assert browser.post(f"/requests/{request_id}/submit").status_code == 303
        return request_id


@pytest.fixture
def world(session: Session, client: TestClient) -> World:
    org = make_organisation(session)
    other_org = make_organisation(session, suffix="B")
    dac = make_dac(session, name="Biobank DAC")
    other = make_dac(session, name="Other DAC", contact_email="other@example.org")
    grant(session, DAC_MEMBER, Role.dac_member, dac=dac.id)
    grant(session, OTHER_DAC_MEMBER, Role.dac_member, dac=other.id)
    grant(session, STEWARD, Role.steward, org=org.id)
    grant(session, OTHER_STEWARD, Role.steward, org=other_org.id)
    # The privacy budget is off here: these pages explain the granularity policy; test_lookup.py has a budgeted one.
    controlled: dict[str, Any] = {"security": "CONTROLLED", "dua_text": "Use it well.", "dua_version": "1",
                                  "publish": True, "privacy_p": 0.0}
    public = make_dataset(session, organisation_id=org.id, title="Population panel", publish=True,
                          keywords=["population"], licence="CC-BY-4.0", privacy_p=0.0)
    cardio = make_dataset(session, organisation_id=org.id, title="Cardiomyopathy cohort", dac_id=dac.id,
                          duo=["DS", "IRB"], disease_terms=["MONDO:0004994"], **controlled)
    elsewhere = make_dataset(session, organisation_id=other_org.id, title="Other cohort", dac_id=other.id,
                             duo=["GRU"], **controlled)
    draft = make_dataset(session, organisation_id=org.id, title="Unfinished cohort")
    app = client.app
    assert isinstance(app, FastAPI)
    return World(app=app, org=org.id, other_org=other_org.id, dac=dac.id, other_dac=other.id, public=public.id,
                 controlled=cardio.id, elsewhere=elsewhere.id, draft=draft.id)


def text_of(response: httpx.Response) -> str:
    """The page's text without tags, spaces collapsed: what a person reads."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.text)).split())


Page = Callable[[str], httpx.Response]


@pytest.fixture(scope="session")
def cohort_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A small simulated cohort (30 samples, chromosomes 1 and 22) and its sample sheet, made once."""
    folder = tmp_path_factory.mktemp("web-cohort")
    simulated = simulate_cohort(folder / "cohort.vcf.gz", samples=30, variants_per_contig=120, contigs=("1", "22"),
                                seed=5, indel_rate=0.1)
    return simulated.path, write_sample_sheet(folder / "samples.tsv", simulated)


def ingest_into(runtime: Runtime, dataset_id: str, files: tuple[Path, Path]) -> IngestionJob:
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, Caller.cli_operator(), dataset_id, files=[files[0]], samples=files[1])
    done = run_job(runtime.engine, job.id, store_root=runtime.settings.store_root)
    assert done.state == "succeeded", done.error
    return done


@pytest.fixture
def ingested(world: World, runtime: Runtime, cohort_files: tuple[Path, Path]) -> World:
    """The world with the cohort ingested into the public and the controlled dataset."""
    for dataset_id in (world.public, world.controlled):
        ingest_into(runtime, dataset_id, cohort_files)
    return world
