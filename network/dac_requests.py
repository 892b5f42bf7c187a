"""Decide access once: a dataset held at a peer whose DAC sits here, found in the harvested catalogue by its URL,
as the access workflow's typed terms (access may not read the network's tables itself)."""

from __future__ import annotations

from sqlmodel import Session

from access.models import RemoteDatasetFacts
from access.services.requests import RemoteResolver
from catalogue.errors import InvalidInput, NotFound
from network.harvest_models import RemoteDataset
from network.peers import list_peers
from network.remote import remote_dataset

__all__ = ["decided_here", "harvested_resolver", "resolve_harvested"]

_OBO = "http://purl.obolibrary.org/obo/"


def _curie(term: str) -> str:
    """A harvested ontology term as a CURIE (the catalogue states them as OBO PURLs)."""
    return term.removeprefix(_OBO).replace("_", ":", 1) if term.startswith(_OBO) else term


def decided_here(dataset: RemoteDataset, base_url: str) -> str | None:
    """The id of this node's DAC that decides access to a harvested dataset (its `hdab` is one of ours), if any."""
    ours = f"{base_url}/api/dacs/"
    if dataset.dac_iri and dataset.dac_iri.startswith(ours) and "/" not in dataset.dac_iri.removeprefix(ours):
        return dataset.dac_iri.removeprefix(ours)
    return None


def resolve_harvested(session: Session, url: str, *, base_url: str) -> RemoteDatasetFacts | None:
    """The dataset at `url` (its address at the peer holding it, `{node}/api/datasets/{id}`) as harvested from that
    peer, if a DAC of this node decides access to it; None when no peer's harvest holds it."""
    for peer in list_peers(session):
        prefix = f"{peer.node_url}/api/datasets/" if peer.node_url else None
        if prefix is None or not url.startswith(prefix) or "/" in url.removeprefix(prefix):
            continue
        try:
            found = remote_dataset(session, peer.id, url.removeprefix(prefix))
        except NotFound:
            return None
        dac_id = decided_here(found, base_url)
        if dac_id is None:
            where = found.dac_node_url or found.dac_iri or "its own node"
            raise InvalidInput(f"access to {url} is decided by its DAC at {where}, not here: apply there",
                               field="datasets")
        return RemoteDatasetFacts(
            url=url, node_url=peer.node_url or "", dataset_id=found.dataset_id, title=found.title[:300],
            dac_id=dac_id, security=found.security or "",
            duo=list(found.duo), disease_terms=[_curie(t) for t in found.health_themes])
    return None


def harvested_resolver(base_url: str) -> RemoteResolver:
    """The access workflow's resolver of remote datasets for this node (installed by the composition root)."""

    def resolve(session: Session, url: str) -> RemoteDatasetFacts | None:
        return resolve_harvested(session, url, base_url=base_url)

    return resolve
