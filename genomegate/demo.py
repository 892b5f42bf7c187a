"""Demo data for `make demo`: a lab, a DAC, example datasets and users; safe to run again."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlmodel import Session, select

from access.checkpoints import AuditSigner, make_checkpoint
from access.models import AccessRequest, Command, RequestCreate, RequestUpdate
from access.release.grants import ReleaseContext
from access.release.services import issue_ticket
from access.release.tickets import TicketQuery
from access.services import requests, review
from catalogue.identity import Caller, Principal
from catalogue.models import (
    Assembly,
    Dac,
    DacCreate,
    Dataset,
    DatasetCreate,
    DatasetStatus,
    Organisation,
    OrganisationCreate,
    Role,
    RoleGrantCreate,
    Sample,
    SecurityLevel,
)
from catalogue.services import datasets, registry, roles
from participants import links
from participants.models import LinkSheet

__all__ = ["DEMO_FILES", "DEMO_PANEL", "DEMO_USERS", "DemoResult", "seed_demo", "seed_participant"]

DEMO_USERS = {
    "admin": "admin@genomegate.example",
    "steward": "steward@biobank.example",
    "dac": "dac-chair@biobank.example",
    "researcher": "researcher@university.example",
    # a person whose genome the demo cohorts hold: the link sheet names this identifier (the `sub` of their sign-in)
    "participant": "demo-participant-0042",
}
# dataset title -> (data files, sample sheet, reference) as examples/make_example_data.py names them
DEMO_FILES: dict[str, tuple[list[str], str | None, str | None]] = {
    "Demo population panel": (["public_cohort.vcf.gz"], "public_samples.tsv", "reference.fa"),
    "Demo cardiomyopathy cohort": (["controlled_cohort.bcf"], "controlled_samples.tsv", None),
    "Demo population allele counts": (["public_sites.vcf.gz"], None, None),
}
# The public reference panel that prices Beacon questions (a stand-in for gnomAD: the demo cohorts' own sites).
DEMO_PANEL = ["public_sites.vcf.gz", "controlled_sites.vcf.gz"]
_ORG = "Demo Biobank"
_DAC = "Demo Biobank Data Access Committee"


@dataclass(slots=True)
class DemoResult:
    organisation: str = ""
    dac: str = ""
    datasets: dict[str, str] = field(default_factory=dict)  # title -> id
    created: list[str] = field(default_factory=list)


_DATASETS = (
    DatasetCreate(
        title="Demo population panel", assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC,
        organisation_id="", duo=["GRU"], keywords=["WGS", "population", "demo"], licence="CC-BY-4.0",
        description="Simulated whole genomes of a reference population; the Beacon tells signed-in users whether "
                    "a variant is present, within each account's privacy budget.",
    ),
    DatasetCreate(
        title="Demo cardiomyopathy cohort", assembly=Assembly.GRCh38, security=SecurityLevel.CONTROLLED,
        organisation_id="", duo=["DS", "IRB", "NPUNCU"], disease_terms=["MONDO:0004994"],
        keywords=["WGS", "cardiomyopathy", "demo"], description="Simulated patients with cardiomyopathy; "
        "individual-level data released by the DAC for cardiomyopathy research.",
        dua_text="The recipient uses the data only for the approved project and never tries to identify "
                 "participants.", dua_version="1.0",
    ),
    DatasetCreate(
        title="Demo population allele counts", assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC,
        organisation_id="", duo=["GRU"], keywords=["allele frequencies", "population", "demo"], licence="CC0-1.0",
        description="Allele counts (AC/AN) of the demo population, without genotypes: the Beacon answers anyone "
                    "with counts, as no individual's genotypes are behind them.",
    ),
)


def seed_demo(session: Session, operator: Caller) -> DemoResult:
    """Create whatever of the demo organisation, DAC, roles and datasets does not exist yet."""
    result = DemoResult()
    org = session.exec(select(Organisation).where(Organisation.name == _ORG)).first()
    if org is None:
        org = registry.create_organisation(session, operator, OrganisationCreate(
            name=_ORG, contact_email="contact@biobank.example"))
        result.created.append(f"organisation {org.id}")
    dac = session.exec(select(Dac).where(Dac.name == _DAC)).first()
    if dac is None:
        dac = registry.create_dac(session, operator, DacCreate(name=_DAC, contact_email="dac@biobank.example"))
        result.created.append(f"DAC {dac.id}")
    result.organisation, result.dac = org.id, dac.id
    for subject, role, org_id, dac_id in (
        (DEMO_USERS["admin"], Role.admin, None, None),
        (DEMO_USERS["steward"], Role.steward, org.id, None),
        (DEMO_USERS["dac"], Role.dac_member, None, dac.id),
    ):
        roles.grant_role(session, operator, RoleGrantCreate(subject=subject, role=role, organisation_id=org_id,
                                                            dac_id=dac_id))
    for template in _DATASETS:
        existing = session.exec(select(Dataset).where(
            Dataset.organisation_id == org.id, Dataset.title == template.title)).first()
        if existing is None:
            data = template.model_copy(update={
                "organisation_id": org.id,
                "dac_id": dac.id if template.security is SecurityLevel.CONTROLLED else None})
            existing = datasets.create_dataset(session, operator, data)
            result.created.append(f"dataset {existing.id}")
        if existing.status == DatasetStatus.draft:
            datasets.publish_dataset(session, operator, existing.id)
        result.datasets[existing.title] = existing.id
    return result


_LINKED = ("Demo cardiomyopathy cohort", "Demo population panel")
_DEMO_PROJECT = "Demo: genes of inherited cardiomyopathy"


def seed_participant(session: Session, operator: Caller, result: DemoResult, *, key: str,
                     ctx: ReleaseContext, origin: str, signer: AuditSigner) -> list[str]:
    """Link the demo participant to the first sample of the demo cohorts, and (once) let the researcher be
    approved for the cardiomyopathy cohort and fetch its file, so the participant's page shows a use at once;
    then sign a checkpoint so that its proofs are there too. Returns what it did."""
    done: list[str] = []
    subject = DEMO_USERS["participant"]
    for title in _LINKED:
        dataset_id = result.datasets.get(title)
        if dataset_id is None or session.exec(select(LinkSheet).where(LinkSheet.dataset_id == dataset_id)).first():
            continue
        sample = session.exec(select(Sample.sample_id).where(Sample.dataset_id == dataset_id)
                              .order_by(Sample.sample_id)).first()
        if sample is None:
            continue
        links.upload_sheet(session, operator, dataset_id=dataset_id, key=key,
                           content=f"sample_id\tparticipant_id\n{sample}\t{subject}\n".encode())
        done.append(f"linked {subject} to {sample} of {dataset_id}")
    cohort = result.datasets.get(_LINKED[0])
    researcher = Caller(principal=Principal(subject=DEMO_USERS["researcher"], issuer="demo",
                                            email=DEMO_USERS["researcher"]))
    chair = Caller(principal=Principal(subject=DEMO_USERS["dac"], issuer="demo"),
                   roles=roles.roles_of(session, DEMO_USERS["dac"]))
    approved = session.exec(select(AccessRequest).where(AccessRequest.project_title == _DEMO_PROJECT)).first()
    if cohort is not None and approved is None and session.exec(select(Sample).where(
            Sample.dataset_id == cohort)).first() is not None:
        request = requests.create_request(session, researcher, RequestCreate(
            project_title=_DEMO_PROJECT, datasets=[cohort], purpose=["DS"], disease_terms=["MONDO:0004994"],
            institution="Demo University Hospital", lay_summary="We look for inherited variants that cause heart "
            "muscle disease, so that families can be tested early."))
        requests.update_request(session, researcher, request.id, RequestUpdate(accept_agreements={cohort: "1.0"}))
        review.submit_request(session, researcher, request.id)
        review.decide(session, chair, request.id, Command.approve, reason="Ethics approval seen.")
        issue_ticket(session, researcher, ctx, dataset_id=cohort, file_id=None, query=TicketQuery(format="VCF"),
                     now=int(time.time()))
        done.append(f"approved {request.id} for {DEMO_USERS['researcher']} and released {cohort} under it")
    if make_checkpoint(session, signer, origin=origin) is not None:
        done.append("signed an audit checkpoint")
    return done
