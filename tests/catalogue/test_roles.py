"""The last admin keeps the admin role: removing it is refused with 409, over HTTP and between racing admins."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, select

from catalogue.errors import Conflict, DomainError, NotFound
from catalogue.identity import Caller, Principal, Roles
from catalogue.models import Role, RoleGrant
from catalogue.services import roles
from tests.factories import grant

Auth = Callable[[str], dict[str, str]]
ADA, BOB = "ada@example.org", "bob@example.org"


def _grant_id(session: Session, subject: str) -> int:
    session.expire_all()
    row = session.exec(select(RoleGrant).where(RoleGrant.subject == subject, RoleGrant.role == "admin")).one()
    assert row.id is not None
    return row.id


def _admins(session: Session) -> list[str]:
    session.expire_all()
    return sorted(g.subject for g in session.exec(select(RoleGrant).where(RoleGrant.role == "admin")))


def test_the_last_admin_cannot_remove_their_own_admin_role(client: TestClient, session: Session, auth: Auth) -> None:
    grant(session, ADA, Role.admin)
    refused = client.delete(f"/api/admin/roles/{_grant_id(session, ADA)}", headers=auth(ADA))
    assert refused.status_code == 409
    assert refused.headers["content-type"] == "application/problem+json"
    assert "last admin" in refused.json()["detail"] and "grant the admin role to someone else" in \
        refused.json()["detail"]
    assert _admins(session) == [ADA]


def test_an_admin_can_leave_while_another_stays(client: TestClient, session: Session, auth: Auth) -> None:
    grant(session, ADA, Role.admin)
    grant(session, BOB, Role.admin)
    assert client.delete(f"/api/admin/roles/{_grant_id(session, ADA)}", headers=auth(ADA)).status_code == 204
    assert client.delete(f"/api/admin/roles/{_grant_id(session, BOB)}", headers=auth(ADA)).status_code == 403
    assert client.delete(f"/api/admin/roles/{_grant_id(session, BOB)}", headers=auth(BOB)).status_code == 409
    assert _admins(session) == [BOB]


def test_other_roles_of_the_last_admin_are_removed_as_before(client: TestClient, session: Session,
                                                             auth: Auth) -> None:
    grant(session, ADA, Role.admin)
    granted = client.post("/api/admin/roles", headers=auth(ADA), json={"subject": ADA, "role": "admin"})
    assert granted.status_code == 201  # the one grant it already held
    steward = client.post("/api/organisations", json={"name": "Lab"}, headers=auth(ADA)).json()["id"]
    role = client.post("/api/admin/roles", headers=auth(ADA),
                       json={"subject": ADA, "role": "steward", "organisation_id": steward}).json()
    assert client.delete(f"/api/admin/roles/{role['id']}", headers=auth(ADA)).status_code == 204


def test_two_admins_removing_themselves_at_once_leave_one(engine: Engine, session: Session) -> None:
    grant(session, ADA, Role.admin)
    grant(session, BOB, Role.admin)
    ids = {who: _grant_id(session, who) for who in (ADA, BOB)}
    start = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def leave(who: str) -> None:
        caller = Caller(principal=Principal(subject=who, issuer="test"), roles=Roles(admin=True))
        with Session(engine) as own:
            start.wait()
            try:
                roles.revoke_role(own, caller, ids[who])
                outcomes[who] = "left"
            except DomainError as exc:
                outcomes[who] = type(exc).__name__

    threads = [threading.Thread(target=leave, args=(who,)) for who in (ADA, BOB)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(outcomes.values()) == ["Conflict", "left"], outcomes
    assert len(_admins(session)) == 1


def test_the_service_refuses_a_missing_grant_and_the_last_admin(session: Session) -> None:
    grant(session, ADA, Role.admin)
    caller = Caller(principal=Principal(subject=ADA, issuer="test"), roles=Roles(admin=True))
    with pytest.raises(NotFound, match="role grant 999 does not exist"):
        roles.revoke_role(session, caller, 999)
    with pytest.raises(Conflict, match="ada@example.org is the last admin"):
        roles.revoke_role(session, caller, _grant_id(session, ADA))
