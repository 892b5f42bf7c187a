"""Organisations (labs, biobanks) and data access committees: created by admins, read by anyone."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalogue.accessions import DAC, ORGANISATION, next_accession
from catalogue.errors import Conflict, NotFound
from catalogue.identity import Caller
from catalogue.models import Dac, DacCreate, Organisation, OrganisationCreate, Role, RoleGrant
from catalogue.services.roles import require_admin

__all__ = [
    "create_dac", "create_organisation", "dac_members", "get_dac", "get_organisation", "list_dacs",
    "list_organisations",
]


def create_organisation(session: Session, caller: Caller, data: OrganisationCreate) -> Organisation:
    """Register an organisation (admins); its id is assigned."""
    require_admin(caller)
    if session.exec(select(Organisation).where(Organisation.name == data.name)).first():
        raise Conflict(f"an organisation named {data.name!r} exists already", field="name")
    org = Organisation(id=next_accession(session, ORGANISATION), **data.model_dump())
    session.add(org)
    _commit_unique(session, f"an organisation named {data.name!r} exists already")
    return org


def create_dac(session: Session, caller: Caller, data: DacCreate) -> Dac:
    """Register a data access committee (admins); members are added as dac-member role grants."""
    require_admin(caller)
    if session.exec(select(Dac).where(Dac.name == data.name)).first():
        raise Conflict(f"a DAC named {data.name!r} exists already", field="name")
    dac = Dac(id=next_accession(session, DAC), **data.model_dump())
    session.add(dac)
    _commit_unique(session, f"a DAC named {data.name!r} exists already")
    return dac


def _commit_unique(session: Session, message: str) -> None:
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(message, field="name") from None


def get_organisation(session: Session, organisation_id: str) -> Organisation:
    org = session.get(Organisation, organisation_id)
    if org is None:
        raise NotFound(f"organisation {organisation_id} does not exist", field="organisation_id")
    return org


def get_dac(session: Session, dac_id: str) -> Dac:
    dac = session.get(Dac, dac_id)
    if dac is None:
        raise NotFound(f"DAC {dac_id} does not exist", field="dac_id")
    return dac


def list_organisations(session: Session) -> list[Organisation]:
    return list(session.exec(select(Organisation).order_by(col(Organisation.id))).all())


def list_dacs(session: Session) -> list[Dac]:
    return list(session.exec(select(Dac).order_by(col(Dac.id))).all())


def dac_members(session: Session, dac_id: str) -> list[str]:
    get_dac(session, dac_id)
    grants = session.exec(select(RoleGrant).where(
        RoleGrant.role == Role.dac_member.value, RoleGrant.dac_id == dac_id).order_by(col(RoleGrant.subject)))
    return [g.subject for g in grants]
