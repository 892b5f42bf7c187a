"""Notifications: an outbox table written with the change it announces, delivered by SMTP when configured."""

from __future__ import annotations

import smtplib
from dataclasses import dataclass
from email.message import EmailMessage

from sqlmodel import Session, col, select

from access.models import Notification
from catalogue.models import utcnow
from catalogue.settings import Settings

__all__ = ["Delivery", "deliver_outbox", "notify"]

MAX_ATTEMPTS = 5


def notify(session: Session, recipients: list[str], *, kind: str, subject: str, body: str,
           request_id: str | None = None) -> int:
    """Queue an e-mail to every recipient that is an address (subjects that are not are skipped)."""
    queued = 0
    for recipient in dict.fromkeys(r for r in recipients if r and "@" in r and " " not in r):
        session.add(Notification(recipient=recipient, subject=subject, body=body, kind=kind, request_id=request_id))
        queued += 1
    return queued


@dataclass(frozen=True, slots=True)
class Delivery:
    sent: int
    failed: int
    pending: int


def deliver_outbox(session: Session, settings: Settings, *, limit: int = 200) -> Delivery:
    """Send queued notifications; failures stay queued (up to MAX_ATTEMPTS) with their last error."""
    if not settings.smtp_host:
        pending = len(session.exec(select(Notification.id).where(col(Notification.sent_at).is_(None))).all())
        return Delivery(0, 0, pending)
    queued = session.exec(select(Notification).where(
        col(Notification.sent_at).is_(None), Notification.attempts < MAX_ATTEMPTS,
    ).order_by(col(Notification.id)).limit(limit)).all()
    sent = failed = 0
    try:
        smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=10)
    except OSError as exc:
        for note in queued:
            note.attempts += 1
            note.last_error = f"cannot reach {settings.smtp_host}:{settings.smtp_port}: {exc}"
            session.add(note)
        session.commit()
        return Delivery(0, len(queued), len(queued))
    with smtp:
        if settings.smtp_starttls:
            smtp.starttls()
        if settings.smtp_user:
            smtp.login(settings.smtp_user, settings.smtp_password or "")
        for note in queued:
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = settings.smtp_from, note.recipient, note.subject
            message.set_content(note.body)
            note.attempts += 1
            try:
                smtp.send_message(message)
                note.sent_at, note.last_error = utcnow(), None
                sent += 1
            except smtplib.SMTPException as exc:
                note.last_error = str(exc)
                failed += 1
            session.add(note)
    session.commit()
    return Delivery(sent, failed, failed)
