"""The harvested remote datasets: searched (text, filters, node, paging) and read one at a time. Anyone may read
them: they are copies of what the peers publish to anyone in their DCAT-AP catalogues."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, String, cast, func
from sqlmodel import Session, col, select

from catalogue.errors import InvalidInput, NotFound
from network.harvest_models import (
    MAX_REMOTE_ID,
    PeerHarvest,
    PeerHarvestPublic,
    PeerStatusPublic,
    RemoteDataset,
    RemoteDatasetRecord,
)
from network.peers import get_peer, list_peers, peer_public

__all__ = ["MAX_QUERY_WORDS", "RemoteSearch", "harvest_of", "harvests", "home_url", "peer_statuses",
           "remote_dataset", "remote_datasets", "remote_record"]

MAX_QUERY_WORDS = 20


@dataclass(slots=True)
class RemoteSearch:
    datasets: list[RemoteDataset]  # the page asked for, by peer then identifier
    count: int  # all that match
    nodes: dict[str, int] = field(default_factory=dict)  # peer id -> matches whatever `peers` says (node facet)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # assembly, security, duo -> value -> matches


def _words(q: str) -> list[str]:
    words = q.lower().split()
    if len(words) > MAX_QUERY_WORDS:
        raise InvalidInput(f"the search text has more than {MAX_QUERY_WORDS} words", field="q")
    return words


def _like(word: str) -> str:
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _conditions(q: str, assembly: Sequence[str], security: Sequence[str], duo: Sequence[str]
                ) -> list[ColumnElement[bool]]:
    haystack = (func.lower(RemoteDataset.title) + " " + func.lower(RemoteDataset.description) + " "
                + func.lower(cast(RemoteDataset.keywords, String)) + " " + func.lower(RemoteDataset.dataset_id)
                + " " + func.lower(func.coalesce(RemoteDataset.publisher, "")))
    conditions: list[ColumnElement[bool]] = [haystack.like(_like(word), escape="\\") for word in _words(q)]
    if assembly:
        conditions.append(col(RemoteDataset.assembly).in_(list(assembly)))
    if security:
        conditions.append(col(RemoteDataset.security).in_(list(security)))
    for curie in duo:  # the JSON list as text holds each term quoted
        conditions.append(cast(RemoteDataset.duo, String).like(_like(f'"{curie}"'), escape="\\"))
    return conditions


def remote_datasets(session: Session, *, q: str = "", peers: Sequence[str] = (), assembly: Sequence[str] = (),
                    security: Sequence[str] = (), duo: Sequence[str] = (), limit: int = 20,
                    offset: int = 0) -> RemoteSearch:
    """Remote datasets whose title, description, keywords, identifier or publisher hold every word of `q`, on one
    of `assembly`, at one of `security` levels, under every DUO CURIE of `duo`, of the given peers (all when
    none), ordered by peer then identifier. The node facet counts each peer's matches whatever `peers` says, so a
    page can offer the other nodes too; the other facets count within the result."""
    conditions = _conditions(q, assembly, security, duo)
    rows = session.exec(select(RemoteDataset.peer_id, func.count()).where(*conditions)
                        .group_by(RemoteDataset.peer_id)).all()
    nodes = {peer: n for peer, n in sorted(rows)}
    if peers:
        conditions.append(col(RemoteDataset.peer_id).in_(list(peers)))
    count = session.exec(select(func.count()).select_from(RemoteDataset).where(*conditions)).one()
    page = session.exec(select(RemoteDataset).where(*conditions)
                        .order_by(col(RemoteDataset.peer_id), col(RemoteDataset.dataset_id))
                        .limit(limit).offset(offset)).all()
    facets: dict[str, dict[str, int]] = {}
    for name, column in (("assembly", RemoteDataset.assembly), ("security", RemoteDataset.security)):
        counted = session.exec(select(column, func.count()).where(*conditions, col(column).is_not(None))
                               .group_by(column)).all()
        facets[name] = {str(value): n for value, n in sorted(counted, key=lambda r: str(r[0]))}
    terms: dict[str, int] = {}
    for held in session.exec(select(RemoteDataset.duo).where(*conditions)).all():
        for term in set(held):
            terms[term] = terms.get(term, 0) + 1
    facets["duo"] = dict(sorted(terms.items()))
    return RemoteSearch(datasets=list(page), count=count, nodes=nodes, facets=facets)


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


def harvests(session: Session) -> dict[str, PeerHarvest]:
    """Every peer's harvest record, by peer id (peers never harvested have none)."""
    return {h.peer_id: h for h in session.exec(select(PeerHarvest)).all()}


def home_url(dataset: RemoteDataset) -> str | None:
    """Its page at its home node: the landing page its catalogue gave, else its IRI if that is an http(s) URL."""
    if dataset.landing_page:
        return dataset.landing_page
    return dataset.iri if dataset.iri.startswith(("http://", "https://")) else None


def remote_record(session: Session, dataset: RemoteDataset) -> RemoteDatasetRecord:
    """The dataset as the API shows it: what was harvested, its JSON-LD node, its peer's name and its home page."""
    return RemoteDatasetRecord.model_validate({
        **dataset.model_dump(), "peer_name": get_peer(session, dataset.peer_id).name,
        "home_url": home_url(dataset), "jsonld": dataset.raw})


def peer_statuses(session: Session) -> list[PeerStatusPublic]:
    """Every peer's health and last harvest, by peer id (what `network status` and the admins' page show)."""
    records = harvests(session)
    out = []
    for peer in list_peers(session):
        record = records.get(peer.id)
        out.append(PeerStatusPublic.model_validate({
            **peer_public(peer).model_dump(),
            "harvest": PeerHarvestPublic.model_validate(record, from_attributes=True) if record else None}))
    return out
