"""Fixtures of the CLI tests (a fresh data directory, no database URL) and of the fuzz tests (a seeded world and
its callers, each with a real signed token)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from access.models import AccessRequest
from catalogue.models import Role, RoleGrant
from catalogue.runtime import Runtime
from tests.factories import grant, make_dac, make_dataset, make_entitlement, make_organisation


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The CLI of a node whose data directory is fresh (SQLite inside it)."""
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("GENOMEGATE_DATABASE_URL", raising=False)
    return CliRunner()


# Callers, each a subject with its roles in the seeded world (None: anonymous; "forged": a token no issuer signed).
CALLERS: dict[str, str | None] = {
    "anonymous": None,
    "forged": None,
    "researcher": "researcher@example.org",
    "dac_member": "dac@example.org",
    "steward": "steward@example.org",
    "admin": "admin@example.org",
}


def _seed(session: Session) -> dict[str, str]:
    """A lab with a steward, a DAC with a member, a public and a controlled dataset, a researcher's approved
    request and entitlement: the ids path parameters are pointed at, so operations reach real objects."""
    org = make_organisation(session)
    dac = make_dac(session)
    grant(session, "admin@example.org", Role.admin)
    grant(session, "steward@example.org", Role.steward, org=org.id)
    grant(session, "dac@example.org", Role.dac_member, dac=dac.id)
    make_dataset(session, organisation_id=org.id, title="Open panel", publish=True)
    controlled = make_dataset(session, organisation_id=org.id, title="Cohort", dac_id=dac.id, duo=["HMB"],
                              security="CONTROLLED", dua_text="Use it well.", dua_version="1", publish=True)
    entitlement = make_entitlement(session, "researcher@example.org", controlled.id)
    request = session.get(AccessRequest, entitlement.request_id)
    role_grant = session.exec(select(RoleGrant).where(RoleGrant.subject == "dac@example.org")).one()
    assert request is not None
    return {"dataset_id": controlled.id, "organisation_id": org.id, "dac_id": dac.id, "request_id": request.id,
            "entitlement_id": str(entitlement.id), "grant_id": str(role_grant.id)}


@pytest.fixture
def seeded(session: Session) -> dict[str, str]:
    return _seed(session)


@pytest.fixture
def headers_for(runtime: Runtime) -> Callable[[str], dict[str, str]]:
    assert runtime.issuer is not None
    issuer = runtime.issuer

    def headers(caller: str) -> dict[str, str]:
        if caller == "forged":
            return {"Authorization": "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9."}
        subject = CALLERS[caller]
        return {"Authorization": f"Bearer {issuer.issue(subject)}"} if subject else {}

    return headers
