"""Test data as plain functions: make_organisation(session, **overrides) and friends, via the services."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import uuid4

from fastapi.testclient import TestClient
from sqlmodel import Session

from access.models import AccessRequest, AccessRequestDataset, Entitlement
from catalogue.accessions import next_accession
from catalogue.identity import Caller
from catalogue.models import (
    Assembly,
    Dac,
    DacCreate,
    Dataset,
    DatasetCreate,
    Organisation,
    OrganisationCreate,
    Role,
    RoleGrantCreate,
    SecurityLevel,
    utcnow,
)
from catalogue.runtime import Runtime
from catalogue.services import datasets, registry, roles
from catalogue.settings import TrustedVisaIssuer
from catalogue.tokens import LocalIssuer, TokenVerifier
from genomegate.app import create_app

OPERATOR = Caller.cli_operator()


def make_organisation(session: Session, **overrides: Any) -> Organisation:
    data = {"name": f"Lab {overrides.pop('suffix', 'A')}", "contact_email": "lab@example.org", **overrides}
    return registry.create_organisation(session, OPERATOR, OrganisationCreate(**data))


def make_dac(session: Session, **overrides: Any) -> Dac:
    data = {"name": "Genome DAC", "contact_email": "dac@example.org", **overrides}
    return registry.create_dac(session, OPERATOR, DacCreate(**data))


def make_dataset(session: Session, *, organisation_id: str, publish: bool = False, **overrides: Any) -> Dataset:
    data: dict[str, Any] = {
        "title": "Cohort", "assembly": Assembly.GRCh38, "security": SecurityLevel.PUBLIC,
        "organisation_id": organisation_id, "duo": ["DUO:0000042"], "description": "whole genomes",
        **overrides,
    }
    dataset = datasets.create_dataset(session, OPERATOR, DatasetCreate(**data))
    if publish:
        dataset = datasets.publish_dataset(session, OPERATOR, dataset.id)
    return dataset


def grant(session: Session, subject: str, role: Role, *, org: str | None = None, dac: str | None = None) -> None:
    roles.grant_role(session, OPERATOR, RoleGrantCreate(subject=subject, role=role, organisation_id=org, dac_id=dac))


def make_entitlement(session: Session, subject: str, dataset_id: str, *, days: float = 365,
                     start_days_ago: float = 0, revoked: bool = False) -> Entitlement:
    """An entitlement as an approval leaves it (with an approved request behind it), optionally expired/revoked."""
    dataset = session.get(Dataset, dataset_id)
    assert dataset is not None and dataset.dac_id is not None, "entitlements are for datasets with a DAC"
    now = utcnow()
    request = AccessRequest(id=next_accession(session, "GGR"), applicant=subject, dac_id=dataset.dac_id,
                            state="approved", project_title="Test project", purpose=["DUO:0000042"])
    session.add(request)
    session.flush()
    session.add(AccessRequestDataset(request_id=request.id, dataset_id=dataset_id))
    start = now - timedelta(days=start_days_ago)
    entitlement = Entitlement(subject=subject, dataset_id=dataset_id, request_id=request.id, start=start,
                              end=start + timedelta(days=days), granted_by="dac@example.org",
                              revoked_at=now if revoked else None)
    session.add(entitlement)
    session.commit()
    return entitlement


def client_with(runtime: Runtime, **settings: Any) -> TestClient:
    """The app of this node with some settings changed (same database and signing key)."""
    changed = runtime.settings.model_copy(update=settings)
    node = Runtime(settings=changed, engine=runtime.engine, issuer=runtime.issuer,
                   verifier=TokenVerifier(changed, runtime.issuer), read_engine=runtime.read_engine)
    return TestClient(create_app(runtime=node))


def trusting_visas_of(runtime: Runtime, issuer: LocalIssuer, jku: str, folder: Path) -> TestClient:
    """The app of this node, trusting the visas `issuer` signs (its JWKS as a file, as an operator would set)."""
    jwks = folder / f"{uuid4().hex}-jwks.json"
    jwks.write_text(json.dumps(issuer.jwks()))
    return client_with(runtime, trusted_visa_issuers=[TrustedVisaIssuer(iss=issuer.issuer, jku=jku, jwks_file=jwks)])
