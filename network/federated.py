"""The federated catalogue: this node's published datasets and its peers' harvested ones, searched as one list.

This node's datasets come first (by accession), then each peer's (by peer, then identifier); one page may hold
both. Facets add up the two; the node facet ("local" for this node, else the peer's id) counts each node's matches
whatever nodes were chosen, so the other nodes stay on offer. An organisation filter names this node's
organisations, so it leaves the remote datasets out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from sqlmodel import Session

from catalogue.duo import duo_term
from catalogue.identity import Caller
from catalogue.models import Dataset, DatasetStatus
from catalogue.services.search import DatasetQuery, search_datasets
from network.harvest_models import NetworkDatasetPublic, RemoteDataset
from network.peers import RESERVED_ID
from network.remote import home_url, remote_datasets

__all__ = ["LOCAL_NODE", "NetworkHit", "NetworkSearch", "hit_public", "remote_page", "search_network"]

LOCAL_NODE = RESERVED_ID  # the node facet's value for this node's own datasets (never a peer's id)


@dataclass(frozen=True, slots=True)
class NetworkHit:
    """One dataset of the result: this node's own (`local`) or a peer's as harvested (`remote`)."""

    node: str  # LOCAL_NODE or the peer's id
    local: Dataset | None = None
    remote: RemoteDataset | None = None

    @property
    def home_url(self) -> str | None:
        """A remote dataset's page at its home node (None for this node's own)."""
        return home_url(self.remote) if self.remote is not None else None


@dataclass(slots=True)
class NetworkSearch:
    hits: list[NetworkHit]
    count: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)  # assembly, security, duo, organisation, node


def _add(into: dict[str, int], counts: dict[str, int]) -> dict[str, int]:
    out = dict(into)
    for key, n in counts.items():
        out[key] = out.get(key, 0) + n
    return dict(sorted(out.items()))


def search_network(session: Session, caller: Caller, query: DatasetQuery, nodes: Sequence[str] = ()
                   ) -> NetworkSearch:
    """Published datasets of this node and of its peers matching `query` (its status is ignored: published only),
    of the chosen `nodes` (all when none)."""
    query = replace(query, status=[DatasetStatus.published])
    with_local = not nodes or LOCAL_NODE in nodes
    peers = [n for n in nodes if n != LOCAL_NODE]
    with_remote = not query.organisation and (not nodes or bool(peers))
    local = search_datasets(session, caller, query if with_local else replace(query, limit=0, offset=0))
    local_count = local.count if with_local else 0
    hits = [NetworkHit(LOCAL_NODE, local=d) for d in local.datasets] if with_local else []
    facets: dict[str, dict[str, int]] = (
        {name: dict(values) for name, values in local.facets.items()} if with_local
        else {"assembly": {}, "security": {}, "duo": {}, "organisation": {}})
    node_facet = {LOCAL_NODE: local.count} if local.count else {}
    remote_count = 0
    if not query.organisation:
        remote_offset = max(0, query.offset - local_count)
        remote_limit = query.limit - len(hits) if with_remote else 0
        remote = remote_datasets(session, q=query.q, peers=peers, assembly=[a.value for a in query.assembly],
                                 security=[s.value for s in query.security],
                                 duo=[duo_term(t).id for t in query.duo], limit=remote_limit, offset=remote_offset)
        node_facet.update(remote.nodes)
        if with_remote:
            remote_count = remote.count
            hits += [NetworkHit(d.peer_id, remote=d) for d in remote.datasets]
            for name, counts in remote.facets.items():
                facets[name] = _add(facets.get(name, {}), counts)
    facets["node"] = node_facet
    return NetworkSearch(hits=hits, count=local_count + remote_count, facets=facets)


def remote_page(peer_id: str, dataset_id: str) -> str:
    """The path of a remote dataset's page on this node."""
    return f"/network/datasets/{peer_id}/{dataset_id}"


def hit_public(hit: NetworkHit, base_url: str, names: dict[str, str], publishers: dict[str, str],
               dacs: dict[str, str]) -> NetworkDatasetPublic:
    """A hit as the API shows it; `names` are the nodes' (LOCAL_NODE: this node's), `publishers` this node's
    organisations' names and `dacs` its DACs' names, by id."""
    if hit.local is not None:
        d = hit.local
        page = f"{base_url}/datasets/{d.id}"
        return NetworkDatasetPublic(
            node=LOCAL_NODE, node_name=names.get(LOCAL_NODE, LOCAL_NODE), id=d.id, title=d.title,
            description=d.description, keywords=list(d.keywords), assembly=d.assembly, security=d.security,
            duo=list(d.duo), publisher=publishers.get(d.organisation_id), dac_name=dacs.get(d.dac_id or ""),
            dac_node_url=base_url if d.dac_id else None, page_url=page, home_url=page)
    assert hit.remote is not None
    r = hit.remote
    return NetworkDatasetPublic(
        node=r.peer_id, node_name=names.get(r.peer_id, r.peer_id), id=r.dataset_id, title=r.title,
        description=r.description, keywords=list(r.keywords), assembly=r.assembly, security=r.security,
        duo=list(r.duo), publisher=r.publisher, dac_name=r.dac_name, dac_node_url=r.dac_node_url,
        page_url=base_url + remote_page(r.peer_id, r.dataset_id), home_url=home_url(r))
