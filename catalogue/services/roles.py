"""Roles: who is admin, steward of which organisation, member of which DAC; and the checks that use them."""

from __future__ import annotations

from sqlalchemy import delete, func, or_
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalogue.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthenticated
from catalogue.identity import Caller, Principal, Roles
from catalogue.models import Dac, Organisation, Role, RoleGrant, RoleGrantCreate

__all__ = [
    "caller_for", "grant_role", "list_role_grants", "require_admin", "require_authenticated",
    "revoke_role", "roles_of",
]


def roles_of(session: Session, subject: str) -> Roles:
    """The roles `subject` holds now."""
    grants = session.exec(select(RoleGrant).where(RoleGrant.subject == subject)).all()
    return Roles(
        admin=any(g.role == Role.admin for g in grants),
        steward_of=frozenset(g.organisation_id for g in grants if g.role == Role.steward and g.organisation_id),
        dac_member_of=frozenset(g.dac_id for g in grants if g.role == Role.dac_member and g.dac_id),
    )


def caller_for(session: Session, principal: Principal | None) -> Caller:
    if principal is None:
        return Caller()
    return Caller(principal=principal, roles=roles_of(session, principal.subject))


def require_authenticated(caller: Caller) -> str:
    if not caller.authenticated or caller.subject is None:
        raise Unauthenticated("this needs a signed-in caller: send Authorization: Bearer <token>")
    return caller.subject


def require_admin(caller: Caller) -> None:
    require_authenticated(caller)
    if not caller.is_admin:
        raise Forbidden("this needs the admin role")


def grant_role(session: Session, caller: Caller, grant: RoleGrantCreate) -> RoleGrant:
    """Give a subject a role (admins and the CLI operator only); granting a held role is a no-op."""
    require_admin(caller)
    role = Role(grant.role)
    org_id = grant.organisation_id if role is Role.steward else None
    dac_id = grant.dac_id if role is Role.dac_member else None
    if role is Role.steward and not org_id:
        raise InvalidInput("the steward role needs an organisation (--org)", field="organisation_id")
    if role is Role.dac_member and not dac_id:
        raise InvalidInput("the dac-member role needs a DAC (--dac)", field="dac_id")
    if role is Role.admin and (grant.organisation_id or grant.dac_id):
        raise InvalidInput("the admin role is global: give no organisation or DAC", field="role")
    if org_id and session.get(Organisation, org_id) is None:
        raise NotFound(f"organisation {org_id} does not exist", field="organisation_id")
    if dac_id and session.get(Dac, dac_id) is None:
        raise NotFound(f"DAC {dac_id} does not exist", field="dac_id")
    existing = session.exec(select(RoleGrant).where(
        RoleGrant.subject == grant.subject, RoleGrant.role == role.value,
        RoleGrant.organisation_id == org_id, RoleGrant.dac_id == dac_id,
    )).first()
    if existing is not None:
        return existing
    row = RoleGrant(subject=grant.subject, role=role.value, organisation_id=org_id, dac_id=dac_id,
                    granted_by=caller.subject or "operator")
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{grant.subject} already holds that role") from None
    session.refresh(row)
    return row


def revoke_role(session: Session, caller: Caller, grant_id: int) -> None:
    """Take a role grant away (admins); the last admin grant stays, or nobody could manage roles any more."""
    require_admin(caller)
    row = session.get(RoleGrant, grant_id)
    if row is None:
        raise NotFound(f"role grant {grant_id} does not exist")
    if row.role == Role.admin:
        # Two admins revoking each other at once must not both succeed. PostgreSQL: the admin grants are locked
        # and counted after the lock; SQLite: the count and the delete are one statement under the writer lock.
        session.exec(select(RoleGrant.id).where(RoleGrant.role == Role.admin.value).with_for_update()).all()
    admins = select(func.count()).select_from(RoleGrant).where(RoleGrant.role == Role.admin.value).scalar_subquery()
    done = session.execute(delete(RoleGrant).where(
        col(RoleGrant.id) == grant_id, or_(col(RoleGrant.role) != Role.admin.value, admins > 1)))
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise Conflict(f"{row.subject} is the last admin: grant the admin role to someone else first "
                       "(`genomegate admin grant`), or nobody could manage roles any more")
    session.commit()


def list_role_grants(session: Session, caller: Caller, subject: str | None = None) -> list[RoleGrant]:
    require_admin(caller)
    query = select(RoleGrant).order_by(col(RoleGrant.id))
    if subject:
        query = query.where(RoleGrant.subject == subject)
    return list(session.exec(query).all())
