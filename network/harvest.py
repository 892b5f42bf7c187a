"""Harvesting the peers' DCAT-AP catalogues into this node's tables, periodically (a job) and on demand.

Each GenomeGate peer's `{node_url}/api/catalog.jsonld` is fetched (bounded in size and time; no database
connection is held meanwhile), read and checked (network/dcat_reader.py), and the peer's harvested datasets are
replaced in one transaction. A catalogue that cannot be fetched, read or checked leaves the last good harvest in
place; the failure is kept in the peer's harvest record and logged as a warning.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

import httpx
from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from catalogue.database import DatabaseBusy, session_scope
from catalogue.errors import InvalidInput
from catalogue.models import utcnow
from catalogue.settings import Settings
from network.dcat_reader import HarvestedDataset, InvalidCatalogue, read_catalogue
from network.discovery import PeerUnreachable, get_json
from network.harvest_models import PeerHarvest, RemoteDataset
from network.models import Peer
from network.peers import get_peer, list_peers

__all__ = ["CATALOGUE_PATH", "HarvestOutcome", "catalogue_url", "harvest_peers", "record_failure", "store_harvest"]

log = logging.getLogger("genomegate.network")
CATALOGUE_PATH = "/api/catalog.jsonld"
_ACCEPT = "application/ld+json, application/json;q=0.9"
_FIELDS = tuple(f for f in HarvestedDataset.__slots__)


@dataclass(frozen=True, slots=True)
class HarvestOutcome:
    peer_id: str
    ok: bool
    datasets: int  # the peer's datasets held now: this harvest's if ok, else the last good one's
    error: str | None = None


@dataclass(frozen=True, slots=True)
class _Target:
    peer_id: str
    node_url: str


def catalogue_url(node_url: str) -> str:
    return f"{node_url}{CATALOGUE_PATH}"


def _targets(engine: Engine, peer_ids: Sequence[str] | None) -> list[_Target]:
    with session_scope(engine) as session:
        if peer_ids is None:
            return [_Target(p.id, p.node_url) for p in list_peers(session) if p.node_url]
        targets = []
        for peer_id in peer_ids:
            peer = get_peer(session, peer_id)
            if not peer.node_url:
                raise InvalidInput(f"peer {peer_id} is a Beacon, not a GenomeGate node: it has no catalogue to "
                                   "harvest", field="peer_id")
            targets.append(_Target(peer.id, peer.node_url))
        return targets


def _read(client: httpx.Client, target: _Target, settings: Settings) -> list[HarvestedDataset]:
    """The peer's datasets, or InvalidCatalogue / PeerUnreachable saying why not (no database touched)."""
    try:
        document = get_json(client, catalogue_url(target.node_url), limit=settings.network_harvest_max_bytes,
                            accept=_ACCEPT, within=settings.network_harvest_timeout_seconds)
    except RecursionError:
        raise InvalidCatalogue("the catalogue nests too deeply to read") from None
    return read_catalogue(document, max_datasets=settings.network_harvest_max_datasets)


def harvest_peers(engine: Engine, settings: Settings, peer_ids: Sequence[str] | None = None) -> list[HarvestOutcome]:
    """Harvest the given peers (every GenomeGate peer when None) concurrently; one outcome per peer, in order.
    A named peer that is unknown or not a GenomeGate node is refused (NotFound, InvalidInput) before any fetch."""
    targets = _targets(engine, peer_ids)
    if not targets:
        return []
    with httpx.Client(timeout=settings.network_peer_timeout_seconds, follow_redirects=False) as client, \
            ThreadPoolExecutor(max_workers=min(4, len(targets))) as pool:
        return list(pool.map(lambda t: _harvest_one(engine, client, t, settings), targets))


def _harvest_one(engine: Engine, client: httpx.Client, target: _Target, settings: Settings) -> HarvestOutcome:
    try:
        datasets = _read(client, target, settings)
    except (PeerUnreachable, InvalidCatalogue) as exc:
        error = (exc.message if isinstance(exc, PeerUnreachable) else str(exc))[:500]
        return _failed(engine, target.peer_id, error)
    try:
        held = _store(engine, target.peer_id, datasets)
    except (IntegrityError, DatabaseBusy):
        return _failed(engine, target.peer_id, "another harvest of this peer was being stored at the same time")
    if held is None:
        return HarvestOutcome(target.peer_id, False, 0, "the peer was removed during the harvest")
    log.info("harvested %d dataset(s) from peer %s", held, target.peer_id)
    return HarvestOutcome(target.peer_id, True, held)


def _store(engine: Engine, peer_id: str, datasets: list[HarvestedDataset]) -> int | None:
    """Store the harvest; a harvest of the same peer stored at the same time makes this one try once more."""
    try:
        with session_scope(engine) as session:
            held = store_harvest(session, peer_id, datasets)
            session.commit()
            return held
    except (IntegrityError, DatabaseBusy):
        with session_scope(engine) as session:
            held = store_harvest(session, peer_id, datasets)
            session.commit()
            return held


def _failed(engine: Engine, peer_id: str, error: str) -> HarvestOutcome:
    log.warning("harvest of peer %s failed, its last good harvest is kept: %s", peer_id, error)
    with session_scope(engine) as session:
        kept = record_failure(session, peer_id, error)
        session.commit()
    return HarvestOutcome(peer_id, False, kept or 0, error)


def _record(session: Session, peer_id: str) -> PeerHarvest | None:
    """The peer's harvest record (made if missing), or None when the peer is gone."""
    if session.exec(select(Peer.id).where(Peer.id == peer_id).with_for_update()).first() is None:
        return None
    return session.get(PeerHarvest, peer_id) or PeerHarvest(peer_id=peer_id)


def store_harvest(session: Session, peer_id: str, datasets: Sequence[HarvestedDataset],
                  now: datetime | None = None) -> int | None:
    """Make the peer's remote datasets exactly `datasets` (updated in place, added, the others deleted) and record
    the success, in the caller's transaction; how many it holds now, or None if the peer is gone."""
    now = now or utcnow()
    record = _record(session, peer_id)
    if record is None:
        return None
    held = {r.dataset_id: r for r in session.exec(select(RemoteDataset).where(RemoteDataset.peer_id == peer_id))}
    for dataset in datasets:
        values = {name: getattr(dataset, name) for name in _FIELDS}
        for name in ("keywords", "themes", "health_themes", "duo"):
            values[name] = list(values[name])
        values["raw"] = json.loads(json.dumps(values["raw"]))  # a plain JSON copy, whatever pyld handed over
        row = held.pop(dataset.dataset_id, None)
        if row is None:
            row = RemoteDataset.model_validate({**values, "peer_id": peer_id, "harvested_at": now})
        else:
            for name, value in values.items():
                setattr(row, name, value)
            row.harvested_at = now
        session.add(row)
    for gone in held.values():
        session.delete(gone)
    record.attempted_at, record.succeeded_at, record.datasets = now, now, len(datasets)
    record.failures, record.last_error = 0, None
    session.add(record)
    return len(datasets)


def record_failure(session: Session, peer_id: str, error: str, now: datetime | None = None) -> int | None:
    """Record a failed harvest of the peer (its datasets are kept), in the caller's transaction; how many datasets
    it still holds, or None if the peer is gone."""
    record = _record(session, peer_id)
    if record is None:
        return None
    record.attempted_at = now or utcnow()
    record.failures += 1
    record.last_error = error[:500]
    session.add(record)
    return session.exec(select(func.count()).select_from(RemoteDataset)
                        .where(col(RemoteDataset.peer_id) == peer_id)).one()
