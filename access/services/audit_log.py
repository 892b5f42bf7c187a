"""Reading the audit log: admins see all of it, DAC members the lines about their DACs' datasets and requests."""

from __future__ import annotations

from sqlalchemy import or_
from sqlmodel import Session, col, select

from access.audit import ChainReport, verify_chain
from access.models import AccessRequest, AuditEvent
from catalogue.errors import Forbidden
from catalogue.identity import Caller
from catalogue.services.datasets import datasets_of_dacs
from catalogue.services.roles import require_admin, require_authenticated

__all__ = ["list_audit", "verify_audit"]


def list_audit(session: Session, caller: Caller, *, dataset_id: str | None = None, action: str | None = None,
               limit: int = 100, offset: int = 0) -> list[AuditEvent]:
    require_authenticated(caller)
    query = select(AuditEvent)
    if not caller.is_admin:
        if not caller.roles.dac_member_of:
            raise Forbidden("the audit log is for admins and DAC members")
        datasets = datasets_of_dacs(session, caller.roles.dac_member_of)
        requests = select(AccessRequest.id).where(col(AccessRequest.dac_id).in_(caller.roles.dac_member_of))
        query = query.where(or_(col(AuditEvent.dataset_id).in_(datasets), col(AuditEvent.request_id).in_(requests)))
    if dataset_id:
        query = query.where(AuditEvent.dataset_id == dataset_id)
    if action:
        query = query.where(AuditEvent.action == action)
    return list(session.exec(query.order_by(col(AuditEvent.id)).limit(limit).offset(offset)).all())


def verify_audit(session: Session, caller: Caller) -> ChainReport:
    require_admin(caller)
    return verify_chain(session)
