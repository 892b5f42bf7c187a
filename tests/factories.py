"""Test data as plain functions: make_organisation(session, **overrides) and friends, via the services."""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

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
)
from catalogue.services import datasets, registry, roles

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
