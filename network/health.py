"""Peers' health: each is asked for its service-info; the answers move its circuit breaker (network/breaker.py).

The periodic job `network.health.check` asks every peer whose circuit is not open (or whose wait is over)
concurrently, each within `network_peer_timeout_seconds`. The network Beacon reports its own outcomes through
`record`, so a peer failing queries is backed off without waiting for the next check.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import Engine
from sqlmodel import Session

from catalogue.database import session_scope
from catalogue.models import as_utc, utcnow
from catalogue.settings import Settings
from network import breaker
from network.discovery import PeerUnreachable, get_json, is_beacon_v2
from network.models import Peer, PeerState
from network.peers import list_peers

__all__ = ["CheckReport", "Outcome", "check_peers", "health_of", "policy", "probe", "record"]


@dataclass(frozen=True, slots=True)
class Outcome:
    ok: bool
    latency_ms: float
    error: str | None = None


@dataclass(frozen=True, slots=True)
class CheckReport:
    checked: int
    healthy: int
    skipped: int  # backed off, their wait not over


def policy(settings: Settings) -> breaker.Policy:
    return breaker.Policy(failures_to_open=settings.network_failures_to_open,
                          first_wait=float(settings.network_health_every_seconds or 60),
                          max_wait=float(settings.network_backoff_max_seconds))


def health_of(peer: Peer) -> breaker.Health:
    return breaker.Health(PeerState(peer.state), peer.failures, as_utc(peer.retry_at) if peer.retry_at else None)


def probe(client: httpx.Client, peer: Peer) -> Outcome:
    """Ask the peer's Beacon for its service-info: ok if it still says it is a Beacon v2."""
    started = time.perf_counter()
    try:
        info = get_json(client, f"{peer.beacon_url}/service-info")
    except PeerUnreachable as exc:
        return Outcome(False, (time.perf_counter() - started) * 1000, exc.message[:500])
    latency = (time.perf_counter() - started) * 1000
    if not is_beacon_v2(info):
        return Outcome(False, latency, "its service-info no longer says it is a Beacon v2")
    return Outcome(True, latency)


def record(session: Session, peer: Peer, outcome: Outcome, settings: Settings, now: datetime | None = None) -> None:
    """Move the peer's breaker by one outcome (in the caller's transaction)."""
    now = now or utcnow()
    health = breaker.succeeded() if outcome.ok else breaker.failed(health_of(peer), policy(settings), now)
    peer.state, peer.failures, peer.retry_at = health.state.value, health.failures, health.retry_at
    peer.checked_at, peer.latency_ms = now, round(outcome.latency_ms, 1)
    if outcome.ok:
        peer.ok_at, peer.last_error = now, None
    else:
        peer.last_error = (outcome.error or "failed")[:500]
    session.add(peer)


def check_peers(engine: Engine, settings: Settings, *, force: bool = False) -> CheckReport:
    """Probe the peers that are due (all of them with `force`) concurrently, and record what each answered.
    No database connection is held while the peers are asked."""
    now = utcnow()
    with session_scope(engine) as session:
        peers = list_peers(session)
        session.expunge_all()
    due = [p for p in peers if force or breaker.asked(health_of(p), now)]
    if not due:
        return CheckReport(checked=0, healthy=0, skipped=len(peers))
    with httpx.Client(timeout=settings.network_peer_timeout_seconds, follow_redirects=False) as client, \
            ThreadPoolExecutor(max_workers=min(8, len(due))) as pool:
        outcomes = list(pool.map(lambda p: probe(client, p), due))
    with session_scope(engine) as session:
        for seen, outcome in zip(due, outcomes, strict=True):
            peer = session.get(Peer, seen.id)
            if peer is not None:  # not removed meanwhile
                record(session, peer, outcome, settings)
        session.commit()
    return CheckReport(checked=len(due), healthy=sum(1 for o in outcomes if o.ok), skipped=len(peers) - len(due))
