"""Notifications: an outbox table written with the change it announces, delivered by SMTP when configured.

`notify` also submits the delivery job (access.notifications.deliver_outbox) in the same transaction, so mail goes
out as soon as a worker takes it; the same job runs periodically for what is left (SMTP down, retries).
"""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import timedelta
from email.message import EmailMessage

from sqlalchemy import or_, update
from sqlmodel import Session, col, func, select

from access.models import Notification
from catalogue.models import utcnow
from catalogue.sealed import is_sealed, unseal
from catalogue.settings import Settings
from jobs import ledger

__all__ = ["ADDRESS_PURPOSE", "CLAIM_SECONDS", "DELIVER", "Delivery", "deliver_outbox", "notify"]

MAX_ATTEMPTS = 5
DELIVER = "access.notifications.deliver_outbox"
ADDRESS_PURPOSE = "notice address"  # what sealed recipients (catalogue.sealed) are sealed for
CLAIM_SECONDS = 300  # a delivery that died mid-send leaves its messages to another after this long

# updates that leave the session's loaded objects alone (they hold naive datetimes on SQLite)
_NOTES = update(Notification).execution_options(synchronize_session=False)

def notify(session: Session, recipients: list[str], *, kind: str, subject: str, body: str,
           request_id: str | None = None) -> int:
    """Queue an e-mail to every recipient that is an address (subjects that are not are skipped), and the job
    that delivers the outbox once the caller's transaction commits."""
    queued = 0
    for recipient in dict.fromkeys(r for r in recipients if r and (is_sealed(r) or ("@" in r and " " not in r))):
        session.add(Notification(recipient=recipient, subject=subject, body=body, kind=kind, request_id=request_id))
        queued += 1
    if queued:
        ledger.submit(session, DELIVER, {})
    return queued


@dataclass(frozen=True, slots=True)
class Delivery:
    sent: int
    failed: int
    pending: int


def _waiting(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Notification).where(
        col(Notification.sent_at).is_(None), Notification.attempts < MAX_ATTEMPTS)).one())


def _claim(session: Session, limit: int) -> list[Notification]:
    """Take up to `limit` unsent messages for this delivery (committed), so that a concurrent delivery (another
    worker, the CLI) skips them: each message is sent by one delivery at a time."""
    now = utcnow()
    free = or_(col(Notification.claimed_until).is_(None), col(Notification.claimed_until) < now)
    unsent = (col(Notification.sent_at).is_(None), col(Notification.attempts) < MAX_ATTEMPTS, free)
    ids = list(session.exec(select(Notification.id).where(*unsent).order_by(col(Notification.id)).limit(limit)).all())
    if not ids:
        return []
    taken = list(session.execute(
        _NOTES.where(col(Notification.id).in_(ids), *unsent)
        .values(claimed_until=now + timedelta(seconds=CLAIM_SECONDS)).returning(col(Notification.id))).scalars())
    session.commit()
    return list(session.exec(select(Notification).where(col(Notification.id).in_(taken))
                             .order_by(col(Notification.id))).all())


def deliver_outbox(session: Session, settings: Settings, *, limit: int = 200) -> Delivery:
    """Send queued notifications; failures stay queued (up to MAX_ATTEMPTS) with their last error."""
    if not settings.smtp_host:
        return Delivery(0, 0, _waiting(session))
    queued = _claim(session, limit)
    if not queued:
        return Delivery(0, 0, _waiting(session))
    sent = failed = 0
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
    except OSError as exc:
        for note in queued:
            note.attempts += 1
            note.last_error = f"cannot reach {settings.smtp_host}:{settings.smtp_port}: {exc}"
            note.claimed_until = None
            session.add(note)
        session.commit()
        return Delivery(0, len(queued), _waiting(session))
    with smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        for note in queued:
            message = EmailMessage()
            # a sealed recipient (a participant's address, kept encrypted) is opened only to send
            to = (unseal(settings.participant_key, ADDRESS_PURPOSE, note.recipient) if is_sealed(note.recipient)
                  else note.recipient)
            message["From"], message["To"], message["Subject"] = settings.smtp_from, to or "", note.subject
            message.set_content(note.body)
            note.attempts += 1
            try:
                if to is None:
                    raise smtplib.SMTPRecipientsRefused({"sealed": (550, b"cannot open: the participant key changed")})
                smtp.send_message(message)
                note.sent_at, note.last_error = utcnow(), None
                sent += 1
            except smtplib.SMTPException as exc:
                note.last_error = str(exc)
                failed += 1
            note.claimed_until = None
            session.add(note)
            session.commit()  # each message as it goes: a delivery killed mid-way re-sends only the one in flight
    return Delivery(sent, failed, _waiting(session))
