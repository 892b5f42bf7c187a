"""The harvested remote datasets: searched (text, node, paging) and read one at a time. Anyone may read them:
they are copies of what the peers publish to anyone in their DCAT-AP catalogues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import String, cast, func
from sqlmodel import Session, col, select

from catalogue.errors import InvalidInput, NotFound
from network.harvest_models import MAX_REMOTE_ID, PeerHarvest, RemoteDataset

__all__ = ["MAX_QUERY_WORDS", "RemoteSearch", "harvest_of", "remote_dataset", "remote_datasets"]

MAX_QUERY_WORDS = 20


@dataclass(slots=True)
class RemoteSearch:
    datasets: list[RemoteDataset]  # the page asked for, by peer then identifier
    count: int  # all that match
    nodes: dict[str, int] = field(default_factory=dict)  # peer id -> datasets matching the text (the node facet)


def _words(q: str) -> list[str]:
    words = q.lower().split()
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"the search text has more than {MAX_QUERY_WORDS} words", field="q")
    return words


def remote_datasets(session: Session, *, q: str = "", peers: Sequence[str] = (), limit: int = 20,
                    offset: int = 0) -> RemoteSearch:
    """Remote datasets whose title, description, keywords, identifier or publisher hold every word of `q`,
    of the given peers (all when none), ordered by peer then identifier; the node facet counts every peer's
    matches whatever `peers` says, so a page can offer the other nodes too."""
    haystack = (func.lower(RemoteDataset.title) + " " + func.lower(RemoteDataset.description) + " "
                + func.lower(cast(RemoteDataset.keywords, String)) + " " + func.lower(RemoteDataset.dataset_id)
                + " " + func.lower(func.coalesce(RemoteDataset.publisher, "")))
    conditions = []
    for word in _words(q):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(haystack.like(f"%{escaped}%", escape="\\"))
    facet_rows = session.exec(select(RemoteDataset.peer_id, func.count()).where(*conditions)
                              .group_by(RemoteDataset.peer_id)).all()
    nodes = {peer: n for peer, n in sorted(facet_rows)}
    if peers:
        conditions.append(col(RemoteDataset.peer_id).in_(list(peers)))
    count = session.exec(select(func.count()).select_from(RemoteDataset).where(*conditions)).one()
    page = session.exec(select(RemoteDataset).where(*conditions)
                        .order_by(col(RemoteDataset.peer_id), col(RemoteDataset.dataset_id))
                        .limit(limit).offset(offset)).all()
    return RemoteSearch(datasets=list(page), count=count, nodes=nodes)


def remote_dataset(session: Session, peer_id: str, dataset_id: str) -> RemoteDataset:
    """The dataset `dataset_id` as harvested from peer `peer_id`, or NotFound."""
    found = (session.get(RemoteDataset, (peer_id, dataset_id))
             if len(peer_id) <= 64 and len(dataset_id) <= MAX_REMOTE_ID else None)
    if found is None:
        raise NotFound(f"no dataset {dataset_id} harvested from peer {peer_id}", field="dataset_id")
    return found


def harvest_of(session: Session, peer_id: str) -> PeerHarvest | None:
    """The record of the peer's harvests, or None if it was never harvested."""
    return session.get(PeerHarvest, peer_id)
