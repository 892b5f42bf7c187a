"""The access tests' world: a lab, two DACs with members, controlled datasets, helpers to drive requests."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.models import Role
from tests.factories import grant, make_dac, make_dataset, make_organisation

Auth = Callable[[str], dict[str, str]]


@dataclass
class World:
    client: TestClient
    auth: Auth
    dac: str
    other_dac: str
    hmb: str  # CONTROLLED, DAC 1, HMB
    gru: str  # CONTROLLED, DAC 1, GRU + IRB
    elsewhere: str  # CONTROLLED, DAC 2
    public: str

    def call(self, method: str, path: str, who: str | None, **kwargs: Any) -> Any:
        headers = {**(self.auth(who) if who else {}), **kwargs.pop("headers", {})}
        return self.client.request(method, f"/api/access{path}", headers=headers, **kwargs)

    def draft(self, who: str, datasets: list[str], *, purpose: list[str] | None = None, accept: bool = True,
              **fields: Any) -> str:
        body = {"project_title": "Cardiac variants", "lay_summary": "We study heart disease.",
                "purpose": purpose or ["HMB"], "institution": "University", "datasets": datasets, **fields}
        created = self.call("POST", "/requests", who, json=body)
        assert created.status_code == 201, created.text
        request_id = str(created.json()["id"])
        if accept:
            agreements = {d: "1" for d in datasets}
            patched = self.call("PATCH", f"/requests/{request_id}", who, json={"accept_agreements": agreements})
            assert patched.status_code == 200, patched.text
        return request_id

    def submitted(self, who: str, datasets: list[str], **kwargs: Any) -> str:
        request_id = self.draft(who, datasets, **kwargs)
        response = self.call("POST", f"/requests/{request_id}/submit", who)
        assert response.status_code == 200, response.text
        return request_id

    def approved(self, who: str, datasets: list[str], **kwargs: Any) -> str:
        request_id = self.submitted(who, datasets, **kwargs)
        response = self.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                             json={"decision": "approve"})
        assert response.status_code == 200, response.text
        return request_id


@pytest.fixture
def world(session: Session, client: TestClient, auth: Auth) -> World:
    org = make_organisation(session)
    dac = make_dac(session)
    other = make_dac(session, name="Other DAC", contact_email="other-dac@example.org")
    for member in ("dac1@example.org", "dac2@example.org"):
        grant(session, member, Role.dac_member, dac=dac.id)
    grant(session, "other-dac@example.org", Role.dac_member, dac=other.id)
    grant(session, "admin@example.org", Role.admin)
    controlled = {"security": "CONTROLLED", "dua_text": "Use it well.", "dua_version": "1", "publish": True}
    hmb = make_dataset(session, organisation_id=org.id, title="HMB cohort", dac_id=dac.id, duo=["HMB"], **controlled)
    gru = make_dataset(session, organisation_id=org.id, title="GRU cohort", dac_id=dac.id, duo=["GRU", "IRB"],
                       **controlled)
    elsewhere = make_dataset(session, organisation_id=org.id, title="Other DAC cohort", dac_id=other.id,
                             duo=["GRU"], **controlled)
    public = make_dataset(session, organisation_id=org.id, title="Open panel", publish=True)
    return World(client, auth, dac.id, other.id, hmb.id, gru.id, elsewhere.id, public.id)
