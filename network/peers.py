"""Adding, listing and removing peers (admins and the CLI operator); every change is audited."""

from __future__ import annotations

import re

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access import audit
from catalogue.errors import Conflict, NotFound
from catalogue.identity import Caller
from catalogue.services.roles import require_admin
from catalogue.settings import Settings
from network.discovery import Discovered, discover
from network.models import Forwarding, Peer, PeerCreate, PeerPublic

__all__ = ["RESERVED_ID", "add_peer", "get_peer", "join", "list_peers", "peer_public", "remove_peer"]

RESERVED_ID = "local"  # this node itself where nodes are listed (the catalogue's node facet): never a peer's id
MAX_PEERS = 200  # a network of national nodes and central services; more is a mistake or an attack


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:56]
    return slug or "peer"


def add_peer(session: Session, caller: Caller, found: Discovered, *, name: str | None = None,
             forward: Forwarding = Forwarding.none) -> Peer:
    """Record a peer whose service-info was read (`network.discovery.discover`), and commit."""
    require_admin(caller)
    if session.exec(select(Peer).where(Peer.beacon_url == found.beacon_url)).first() is not None:
        raise Conflict(f"{found.beacon_url} is a peer already", field="url")
    twin = session.exec(select(Peer).where(Peer.beacon_id == found.beacon_id)).first()
    if twin is not None:  # one node's answers would be counted twice in every network answer
        raise Conflict(f"{found.beacon_url} is Beacon {found.beacon_id}, which peer {twin.id} ({twin.beacon_url}) "
                       "is already", field="url")
    if len(session.exec(select(Peer.id)).all()) >= MAX_PEERS:
        raise Conflict(f"this node has {MAX_PEERS} peers, the most it keeps: remove one first", field="url")
    base = _slug(name or found.beacon_id)
    taken = set(session.exec(select(Peer.id).where(col(Peer.id).startswith(base))).all()) | {RESERVED_ID}
    peer_id = base if base not in taken else next(f"{base}-{n}" for n in range(2, MAX_PEERS + 2)
                                                  if f"{base}-{n}" not in taken)
    peer = Peer(id=peer_id, name=name or found.name, beacon_url=found.beacon_url, node_url=found.node_url,
                beacon_id=found.beacon_id, api_version=found.api_version, forward=forward,
                service_info=found.service_info, added_by=caller.subject or "operator")
    session.add(peer)
    audit.append(session, actor=caller.subject or "operator", action="network.peer.add",
                 details={"peer": peer_id, "url": found.beacon_url, "forward": forward.value})
    try:
        session.commit()
    except IntegrityError:  # another admin added the same URL meanwhile
        session.rollback()
        raise Conflict(f"{found.beacon_url} is a peer already", field="url") from None
    session.refresh(peer)
    return peer


def join(session: Session, caller: Caller, create: PeerCreate, settings: Settings) -> Peer:
    """Read the URL's service-info and add it as a peer if it is a compatible Beacon (admins, the operator)."""
    require_admin(caller)  # before any request leaves this node on the caller's behalf
    found = discover(create.url, timeout=settings.network_peer_timeout_seconds)
    if found.beacon_id in (settings.beacon_id, f"{settings.beacon_id}.network"):
        raise Conflict(f"{found.beacon_url} is this node's own Beacon ({found.beacon_id}): this node is asked in "
                       "every network query already", field="url")
    return add_peer(session, caller, found, name=create.name, forward=create.forward)


def list_peers(session: Session) -> list[Peer]:
    return list(session.exec(select(Peer).order_by(col(Peer.id))).all())


def get_peer(session: Session, peer_id: str) -> Peer:
    peer = session.get(Peer, peer_id) if len(peer_id) <= 64 else None
    if peer is None:
        raise NotFound(f"no peer {peer_id}", field="peer_id")
    return peer


def remove_peer(session: Session, caller: Caller, peer_id: str) -> None:
    require_admin(caller)
    peer = get_peer(session, peer_id)
    session.delete(peer)
    audit.append(session, actor=caller.subject or "operator", action="network.peer.remove",
                 details={"peer": peer_id, "url": peer.beacon_url})
    session.commit()


def peer_public(peer: Peer) -> PeerPublic:
    return PeerPublic.model_validate(peer, from_attributes=True)
