"""Witnessing: each GenomeGate peer's latest signed audit checkpoint is verified and, if it extends the last one
this node witnessed, countersigned; one that does not raises an alarm instead.

The periodic job `network.witness.observe` (network/witness/tasks.py) calls `observe_peers`. For each peer with a
node URL it fetches the peer's audit key and latest checkpoint (and, when the log grew, a consistency proof from
the size witnessed before), with no database connection held meanwhile. The key is pinned the first time it is
seen (trust on first use); a different key later is an alarm until an operator trusts it (`trust_key`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import httpx
from pydantic import ValidationError
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access import audit
from access.checkpoints import AuditKey, SignedCheckpoint, checkpoint_verifies, node_signer
from catalogue.database import session_scope
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import utcnow
from catalogue.services.roles import require_admin
from catalogue.settings import Settings
from network import breaker
from network.discovery import PeerUnreachable, get_json, normal_url
from network.health import health_of
from network.models import Peer
from network.peers import get_peer, list_peers
from network.witness.domain import Witnessed, countersign, extends, stamp
from network.witness.models import AlarmKind, Countersignature, WatchedLog, WitnessAlarm

__all__ = ["Observation", "Outcome", "fetch_key", "last_witnessed", "observe_peers", "trust_key"]

log = logging.getLogger("genomegate.witness")
MAX_PROOF = 64  # hashes in a consistency proof of a tree of up to 2**31 leaves, with room to spare


class Outcome(StrEnum):
    """What one look at a peer came to."""

    countersigned = "countersigned"
    unchanged = "unchanged"  # the peer's latest checkpoint is the one witnessed already
    alarm = "alarm"
    unreachable = "unreachable"  # nothing judged: the peer (or its checkpoint or proof) could not be read


@dataclass(frozen=True, slots=True)
class Observation:
    peer_id: str
    origin: str
    outcome: Outcome
    size: int | None = None
    detail: str = ""


@dataclass(frozen=True, slots=True)
class _Look:
    """What one peer served: its key, its latest checkpoint, a consistency proof; or why they could not be read."""

    key: AuditKey | None = None
    checkpoint: SignedCheckpoint | None = None
    proof: list[bytes] | None = None
    error: str | None = None


def fetch_key(client: httpx.Client, node_url: str) -> AuditKey:
    """A node's audit public key, from its well-known JWK (PeerUnreachable when it cannot be read)."""
    jwk = get_json(client, f"{node_url}/.well-known/genomegate/audit-key")
    try:
        return AuditKey.from_jwk(jwk if isinstance(jwk, dict) else {})
    except (InvalidInput, ValueError):
        raise PeerUnreachable(f"{node_url} serves no Ed25519 audit key", field="url") from None


def _proof(client: httpx.Client, node_url: str, first: int, second: int) -> list[bytes]:
    answer = get_json(client, f"{node_url}/api/access/audit/proofs/consistency?first={first}&second={second}")
    hashes = answer.get("proof") if isinstance(answer, dict) else None
    if not isinstance(hashes, list) or len(hashes) > MAX_PROOF:
        return [b""]  # a malformed proof proves nothing: it fails verification like a wrong one
    try:
        return [bytes.fromhex(str(h)) for h in hashes]
    except ValueError:
        return [b""]


def _look(client: httpx.Client, node_url: str, previous: Witnessed | None) -> _Look:
    try:
        key = fetch_key(client, node_url)
        try:
            checkpoint = SignedCheckpoint.model_validate(
                get_json(client, f"{node_url}/.well-known/genomegate/audit-checkpoint"))
        except ValidationError:
            return _Look(key=key, error=f"{node_url} serves an audit checkpoint this node cannot read")
        proof = None
        if previous is not None and checkpoint.size > previous.size:
            proof = _proof(client, node_url, previous.size, checkpoint.size)
    except PeerUnreachable as exc:
        return _Look(error=exc.message[:500])
    return _Look(key=key, checkpoint=checkpoint, proof=proof)


def last_witnessed(session: Session, origin: str) -> Countersignature | None:
    """This node's latest countersignature of a log (the largest size)."""
    query = select(Countersignature).where(Countersignature.origin == origin)
    return session.exec(query.order_by(col(Countersignature.size).desc()).limit(1)).first()


def _witnessed(row: Countersignature | None) -> Witnessed | None:
    return Witnessed(row.size, bytes.fromhex(row.root)) if row else None


def _alarm(session: Session, peer: Peer, origin: str, kind: AlarmKind, message: str, *,
           checkpoint: SignedCheckpoint | None, evidence: dict[str, Any], now: datetime) -> None:
    """Record the refusal (once per distinct claim: seen again, it is counted) and log it as a warning."""
    size, root = (checkpoint.size, checkpoint.root) if checkpoint else (None, None)
    log.warning("witness alarm: %s (peer %s, %s): %s", origin, peer.id, kind.value, message)
    known = session.exec(select(WitnessAlarm).where(WitnessAlarm.origin == origin, WitnessAlarm.kind == kind.value,
                                                    WitnessAlarm.size == size, WitnessAlarm.root == root)).first()
    if known is not None:
        known.last_seen, known.times = now, known.times + 1
        session.add(known)
        return
    if checkpoint is not None:  # what the peer signed, each text cut short: a peer chooses their lengths
        evidence = {"checkpoint": {k: v[:2_000] if isinstance(v, str) else v
                                   for k, v in checkpoint.model_dump().items()}, **evidence}
    session.add(WitnessAlarm(origin=origin, peer_id=peer.id, kind=kind.value, message=message[:1_000], size=size,
                             root=root, evidence=evidence, first_seen=now, last_seen=now))


def _judge(session: Session, peer: Peer, look: _Look, looked_after: Witnessed | None, settings: Settings,
           now: datetime) -> Observation:
    """Decide on one peer's look, in the caller's transaction: countersign, leave it, or raise an alarm.

    `looked_after` is the checkpoint witnessed when the look began (its proof starts there); if another run
    countersigned meanwhile, this look is stale and the next run judges afresh."""
    origin = normal_url(peer.node_url or "", "node_url")
    watched = session.get(WatchedLog, origin)
    if watched is not None:
        watched.checked_at, watched.last_error, watched.peer_id = now, look.error, peer.id
        session.add(watched)
    if look.error is not None or look.key is None or look.checkpoint is None:
        return Observation(peer.id, origin, Outcome.unreachable, detail=look.error or "")
    key, checkpoint = look.key, look.checkpoint

    def alarm(kind: AlarmKind, message: str, **evidence: Any) -> Observation:
        _alarm(session, peer, origin, kind, message, checkpoint=checkpoint, evidence=evidence, now=now)
        return Observation(peer.id, origin, Outcome.alarm, checkpoint.size, message)

    if checkpoint.origin.rstrip("/") != origin:
        return alarm(AlarmKind.wrong_origin, f"its checkpoint names the log {checkpoint.origin[:200]!r}, not "
                                             f"{origin}")
    if watched is None:
        watched = WatchedLog(origin=origin, peer_id=peer.id, key_x=key.jwk()["x"], key_id=key.key_id,
                             pinned_at=now, checked_at=now)
        try:
            with session.begin_nested():
                session.add(watched)
        except IntegrityError:  # another run pinned it first: the next run judges against that pin
            return Observation(peer.id, origin, Outcome.unchanged, checkpoint.size, "pinned by another run")
        log.info("witness: pinned the audit key %s of %s (first use)", key.key_id, origin)
    elif key.jwk()["x"] != watched.key_x:
        return alarm(AlarmKind.key_changed, f"its audit key is now {key.key_id}, not the {watched.key_id} pinned "
                                            f"{stamp(watched.pinned_at)}: not accepted until an operator trusts it",
                     pinned={"x": watched.key_x, "kid": watched.key_id}, served=key.jwk())
    if not checkpoint_verifies(checkpoint, key):
        return alarm(AlarmKind.bad_signature, f"its checkpoint of {checkpoint.size} lines does not verify with its "
                                              f"pinned key {watched.key_id}")
    previous = _witnessed(last_witnessed(session, origin))
    if previous != looked_after:
        return Observation(peer.id, origin, Outcome.unchanged, checkpoint.size, "witnessed by another run meanwhile")
    why = extends(previous, checkpoint.size, bytes.fromhex(checkpoint.root), look.proof)
    if why is not None:
        assert previous is not None
        return alarm(AlarmKind.inconsistent, why, witnessed={"size": previous.size, "root": previous.root.hex()},
                     proof=[p.hex() for p in look.proof or []])
    if previous is not None and previous.size == checkpoint.size:
        return Observation(peer.id, origin, Outcome.unchanged, checkpoint.size)
    time = stamp(now)
    signed = countersign(node_signer(settings.data_dir), witness=settings.public_base_url.rstrip("/"),
                         origin=origin, size=checkpoint.size, root=bytes.fromhex(checkpoint.root), time=time)
    row = Countersignature(origin=origin, size=checkpoint.size, root=checkpoint.root,
                           witness=settings.public_base_url.rstrip("/"), time=time, made_at=now,
                           key_id=node_signer(settings.data_dir).public.key_id, note=signed.note,
                           signature=signed.signature, checkpoint_note=checkpoint.note,
                           checkpoint_signature=checkpoint.signature, checkpoint_key_id=key.key_id)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker countersigned this size first
        return Observation(peer.id, origin, Outcome.unchanged, checkpoint.size)
    log.info("witness: countersigned %s at %d lines, root %s", origin, checkpoint.size, checkpoint.root)
    return Observation(peer.id, origin, Outcome.countersigned, checkpoint.size)


def observe_peers(engine: Engine, settings: Settings, *, force: bool = False) -> list[Observation]:
    """Look at every GenomeGate peer's latest checkpoint (those backed off only with `force`) and judge it."""
    now = utcnow()
    with session_scope(engine) as session:
        peers = [p for p in list_peers(session) if p.node_url and (force or breaker.asked(health_of(p), now))]
        previous = {p.id: _witnessed(last_witnessed(session, normal_url(p.node_url or "", "node_url")))
                    for p in peers}
        session.expunge_all()
    if not peers:
        return []
    with httpx.Client(timeout=settings.network_peer_timeout_seconds, follow_redirects=False) as client, \
            ThreadPoolExecutor(max_workers=min(8, len(peers))) as pool:
        looks: Sequence[_Look] = list(pool.map(lambda p: _look(client, normal_url(p.node_url or ""),
                                                              previous[p.id]), peers))
    observations = []
    with session_scope(engine) as session:
        for seen, look in zip(peers, looks, strict=True):
            peer = session.get(Peer, seen.id)
            if peer is not None and peer.node_url:  # not removed meanwhile
                observations.append(_judge(session, peer, look, previous[seen.id], settings, now))
        session.commit()
    return observations


def trust_key(session: Session, caller: Caller, peer_id: str, settings: Settings) -> tuple[str, str]:
    """Pin the audit key a peer serves now, after an operator checked it with the peer's operators out of band
    (admins, the operator; audited). Returns (old key id, new key id). The next checkpoint must still extend the
    last one witnessed."""
    require_admin(caller)
    peer = get_peer(session, peer_id)
    if not peer.node_url:
        raise NotFound(f"peer {peer_id} is not a GenomeGate node: it has no audit log to witness", field="peer_id")
    origin = normal_url(peer.node_url, "node_url")
    with httpx.Client(timeout=settings.network_peer_timeout_seconds, follow_redirects=False) as client:
        key = fetch_key(client, origin)
    watched = session.get(WatchedLog, origin)
    old = watched.key_id if watched else "none"
    watched = watched or WatchedLog(origin=origin, peer_id=peer.id, key_x="", key_id="")
    watched.key_x, watched.key_id, watched.pinned_at = key.jwk()["x"], key.key_id, utcnow()
    watched.pinned_by = caller.subject or "operator"
    session.add(watched)
    audit.append(session, actor=caller.subject or "operator", action="network.witness.trust_key",
                 details={"peer": peer.id, "origin": origin, "old_key": old, "new_key": key.key_id})
    session.commit()
    return old, key.key_id

