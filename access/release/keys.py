"""Researchers' Crypt4GH public keys: register, list, revoke, and the key a download is encrypted to."""

from __future__ import annotations

import base64

from sqlmodel import Session, col, select

from access import audit
from access.release.crypt4gh import fingerprint, parse_public_key
from access.release.errors import NoKey
from access.release.models import KEY_PREFIX, ResearcherKey, ResearcherKeyCreate
from catalogue.accessions import next_accession
from catalogue.errors import Conflict
from catalogue.identity import Caller
from catalogue.models import utcnow
from catalogue.services.roles import require_authenticated

__all__ = ["download_key", "key_bytes", "list_keys", "register_key", "revoke_key"]


def _keys_of(session: Session, subject: str) -> list[ResearcherKey]:
    return list(session.exec(select(ResearcherKey).where(ResearcherKey.subject == subject)
                             .order_by(col(ResearcherKey.created_at).desc(), col(ResearcherKey.id).desc())).all())


def register_key(session: Session, caller: Caller, data: ResearcherKeyCreate, *,
                 client: str | None = None) -> ResearcherKey:
    """Register a public key for the caller; Conflict when they already registered the same key."""
    subject = require_authenticated(caller)
    raw = parse_public_key(data.public_key)
    digest = fingerprint(raw)
    existing = session.exec(select(ResearcherKey).where(
        ResearcherKey.subject == subject, ResearcherKey.fingerprint == digest)).first()
    if existing is not None:
        raise Conflict(f"this key is already registered as {existing.id}", field="public_key")
    key = ResearcherKey(id=next_accession(session, KEY_PREFIX), subject=subject, label=data.label,
                        public_key=base64.b64encode(raw).decode(), fingerprint=digest)
    session.add(key)
    audit.append(session, actor=subject, action="release.key.register", client=client,
                 details={"key": key.id, "fingerprint": digest})
    session.commit()
    return key


def list_keys(session: Session, caller: Caller) -> list[ResearcherKey]:
    """The caller's keys, newest first (revoked ones included, marked)."""
    return _keys_of(session, require_authenticated(caller))


def revoke_key(session: Session, caller: Caller, key_id: str, *, client: str | None = None) -> ResearcherKey:
    """Stop using a key for new downloads (files already downloaded stay readable with its private key)."""
    subject = require_authenticated(caller)
    key = session.get(ResearcherKey, key_id)
    if key is None or key.subject != subject:
        raise NoKey(f"you have no key {key_id}", field="key_id")
    if key.revoked_at is None:
        key.revoked_at = utcnow()
        session.add(key)
        audit.append(session, actor=subject, action="release.key.revoke", client=client, details={"key": key.id})
        session.commit()
    return key


def download_key(session: Session, subject: str, key_id: str | None = None) -> ResearcherKey:
    """The active key a download is encrypted to: the one named, else the newest."""
    keys = [k for k in _keys_of(session, subject) if k.revoked_at is None]
    if key_id is not None:
        keys = [k for k in keys if k.id == key_id]
    if not keys:
        named = f" {key_id}" if key_id else ""
        raise NoKey(f"no active Crypt4GH key{named} is registered for you; POST one to /api/access/keys",
                    field="key_id")
    return keys[0]


def key_bytes(key: ResearcherKey) -> bytes:
    """The 32 bytes of a stored key."""
    return base64.b64decode(key.public_key)
