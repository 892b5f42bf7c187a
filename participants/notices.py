"""Optional e-mail notices to participants when a new approval covers their data (addresses kept sealed)."""

from __future__ import annotations

from sqlmodel import Session, col, func, select

from access import audit
from access.models import AuditEvent
from access.notifications import ADDRESS_PURPOSE, notify
from catalogue.errors import InvalidInput
from catalogue.models import Dataset
from catalogue.sealed import seal
from participants.links import Participant, linked_samples
from participants.models import NoticeSubscription

__all__ = ["MAX_ADDRESS", "NOTICE_KIND", "queue_notices", "subscribed", "subscribe", "unsubscribe"]

MAX_ADDRESS = 200  # sealed, it fits the outbox's recipient column
NOTICE_KIND = "participant.approval"


def subscribed(session: Session, participant: Participant) -> bool:
    return session.get(NoticeSubscription, participant.digest) is not None


def subscribe(session: Session, participant: Participant, address: str, *, key: str) -> None:
    """Tell the participant of approvals logged from now on, at `address` (kept sealed; replaces an earlier one)."""
    address = address.strip()
    local, _, domain = address.partition("@")
    if not local or "." not in domain or len(address) > MAX_ADDRESS or any(c.isspace() for c in address):
        raise InvalidInput(f"give an e-mail address of at most {MAX_ADDRESS} characters", field="email")
    last = session.exec(select(func.max(AuditEvent.id))).one() or 0
    row = session.get(NoticeSubscription, participant.digest) or NoticeSubscription(
        participant_hash=participant.digest, address="", after_line=int(last))
    row.address = seal(key, ADDRESS_PURPOSE, address)
    session.add(row)
    audit.append(session, actor=participant.actor, action="participants.notices_on")
    session.commit()


def unsubscribe(session: Session, participant: Participant) -> None:
    """No more notices; the sealed address is deleted."""
    row = session.get(NoticeSubscription, participant.digest)
    if row is not None:
        session.delete(row)
        audit.append(session, actor=participant.actor, action="participants.notices_off")
    session.commit()


def queue_notices(session: Session) -> int:
    """Queue one e-mail per subscribed participant for the approvals (entitlement grants) logged since their last
    notice that cover a dataset holding their data; commits. Returns how many were queued."""
    queued = 0
    for row in session.exec(select(NoticeSubscription)).all():
        datasets = sorted({d for d, _ in linked_samples(session, row.participant_hash)})
        newest = session.exec(select(func.max(AuditEvent.id))).one() or row.after_line
        lines = session.exec(select(AuditEvent).where(
            AuditEvent.action == "entitlement.grant", col(AuditEvent.id) > row.after_line,
            col(AuditEvent.id) <= newest, col(AuditEvent.dataset_id).in_(datasets))
            .order_by(col(AuditEvent.id))).all() if datasets else []
        if lines:
            titles = {d.id: d.title for d in session.exec(select(Dataset).where(col(Dataset.id).in_(datasets)))}
            approvals = sorted({(e.request_id or "", e.dataset_id or "") for e in lines})
            body = ("A new approval covers data held about you:\n\n" + "\n".join(
                f"- request {r} for {titles.get(d, d)} ({d})" for r, d in approvals)
                + "\n\nSee who, for what purpose and until when on your My data page; you can opt out there.\n")
            queued += notify(session, [row.address], kind=NOTICE_KIND, subject="A new approval covers your data",
                             body=body)
        row.after_line = int(newest)
        session.add(row)
    session.commit()
    return queued
