"""HTTP API of the network: the peers and harvests (admins) under /api/network, the federated catalogue's datasets
(anyone) under /api/network/datasets, and the GA4GH service registry (anyone)."""

from __future__ import annotations

import re
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, status

from catalogue.deps import CallerDep, RuntimeDep, SessionDep, SettingsDep, SignedInDep
from catalogue.errors import InvalidInput, NotFound
from catalogue.limits import MAX_OFFSET
from catalogue.models import Assembly, SecurityLevel
from catalogue.problems import problems
from catalogue.services import registry as catalogue_registry
from catalogue.services.roles import require_admin
from catalogue.services.search import DatasetQuery, listed_enums, listed_values
from network import federated, harvest, health, peers, registry, remote
from network.harvest_models import (
    HarvestResultPublic,
    HarvestResultsPublic,
    NetworkDatasetsPublic,
    PeerHarvestPublic,
    PeerHarvestsPublic,
    RemoteDatasetRecord,
)
from network.models import PeerCreate, PeerPublic, PeersPublic

__all__ = ["datasets_router", "registry_router", "router"]

# Every route here is for admins: 403 for anyone else.
router = APIRouter(prefix="/api/network", tags=["network"], responses=problems(403))
registry_router = APIRouter(tags=["service registry"])
# The federated catalogue: anyone, as the local catalogue (its datasets are what the peers publish to anyone).
datasets_router = APIRouter(prefix="/api/network", tags=["network catalogue"])
PeerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$", description="a peer's id")]
RemoteId = Annotated[str, Path(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:-]*$",
                               description="the dataset's identifier at its home node")]
_NODE = re.compile(r"^[a-z0-9-]{1,64}$")


@router.get("/peers", summary="The peers of this node with their health (admins)")
def list_peers(session: SessionDep, caller: SignedInDep) -> PeersPublic:
    require_admin(caller)
    found = [peers.peer_public(p) for p in peers.list_peers(session)]
    return PeersPublic(data=found, count=len(found))


@router.post("/peers", status_code=status.HTTP_201_CREATED, responses=problems(400, 409),
             summary="Add a peer: its service-info must say it is a Beacon v2 (admins)")
def add_peer(body: PeerCreate, session: SessionDep, caller: SignedInDep, settings: SettingsDep) -> PeerPublic:
    return peers.peer_public(peers.join(session, caller, body, settings))


@router.get("/peers/{peer_id}", responses=problems(404), summary="One peer (admins)")
def get_peer(peer_id: PeerId, session: SessionDep, caller: SignedInDep) -> PeerPublic:
    require_admin(caller)
    return peers.peer_public(peers.get_peer(session, peer_id))


@router.delete("/peers/{peer_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problems(404),
               summary="Remove a peer (admins)")
def remove_peer(peer_id: PeerId, session: SessionDep, caller: SignedInDep) -> None:
    peers.remove_peer(session, caller, peer_id)


@router.post("/peers/check", summary="Check every peer's health now, backed-off ones too (admins)")
def check_now(runtime: RuntimeDep, caller: SignedInDep) -> dict[str, int]:
    require_admin(caller)
    report = health.check_peers(runtime.engine, runtime.settings, force=True)
    return {"checked": report.checked, "healthy": report.healthy, "skipped": report.skipped}


@router.post("/harvest", summary="Harvest every GenomeGate peer's DCAT-AP catalogue now (admins)")
def harvest_all(runtime: RuntimeDep, caller: SignedInDep) -> HarvestResultsPublic:
    require_admin(caller)
    return _results(harvest.harvest_peers(runtime.engine, runtime.settings))


@router.post("/peers/{peer_id}/harvest", responses=problems(404, 422),
             summary="Harvest one peer's DCAT-AP catalogue now (admins)")
def harvest_one(peer_id: PeerId, runtime: RuntimeDep, caller: SignedInDep) -> HarvestResultsPublic:
    require_admin(caller)
    return _results(harvest.harvest_peers(runtime.engine, runtime.settings, [peer_id]))


@router.get("/harvests", summary="Each peer's last harvest: when tried, when it last worked, why it failed (admins)")
def list_harvests(session: SessionDep, caller: SignedInDep) -> PeerHarvestsPublic:
    require_admin(caller)
    found = [PeerHarvestPublic.model_validate(h, from_attributes=True) for h in remote.harvests(session).values()]
    return PeerHarvestsPublic(data=sorted(found, key=lambda h: h.peer_id), count=len(found))


def _results(outcomes: list[harvest.HarvestOutcome]) -> HarvestResultsPublic:
    data = [HarvestResultPublic(peer_id=o.peer_id, ok=o.ok, datasets=o.datasets, error=o.error) for o in outcomes]
    return HarvestResultsPublic(data=data, count=len(data))


@datasets_router.get("/datasets", responses=problems(422),
                     summary="Search the federated catalogue: this node's published datasets and its peers' "
                             "harvested ones, with a node facet (anyone)")
def search_network(
    session: SessionDep, caller: CallerDep, settings: SettingsDep,
    q: Annotated[str, Query(max_length=500, description="free text over title, description, keywords")] = "",
    assembly: Annotated[list[str] | None, Query()] = None,
    security: Annotated[list[str] | None, Query()] = None,
    duo: Annotated[list[str] | None, Query(description="DUO CURIE or shorthand; all must apply")] = None,
    organisation: Annotated[list[str] | None, Query(description="this node's organisations (leaves the peers' "
                                                                "datasets out)")] = None,
    node: Annotated[list[str] | None, Query(description="'local' (this node) or a peer's id; any of them")] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> NetworkDatasetsPublic:
    if limit > settings.max_page_size:
        raise InvalidInput(f"limit may be at most {settings.max_page_size}", field="limit")
    nodes = listed_values(node, "node")
    if any(not _NODE.match(n) for n in nodes):
        raise InvalidInput("a node is 'local' or a peer's id (lower-case letters, digits and -)", field="node")
    query = DatasetQuery(q=q, assembly=listed_enums(Assembly, assembly, "assembly"),
                         security=listed_enums(SecurityLevel, security, "security"), duo=listed_values(duo, "duo"),
                         organisation=listed_values(organisation, "organisation"), limit=limit, offset=offset)
    found = federated.search_network(session, caller, query, nodes)
    names = {federated.LOCAL_NODE: settings.node_name} | {p.id: p.name for p in peers.list_peers(session)}
    publishers = {o.id: o.name for o in catalogue_registry.list_organisations(session)}
    dacs = {d.id: d.name for d in catalogue_registry.list_dacs(session)}
    data = [federated.hit_public(h, settings.public_base_url, names, publishers, dacs) for h in found.hits]
    return NetworkDatasetsPublic(data=data, count=found.count, limit=limit, offset=offset, facets=found.facets)


@datasets_router.get("/datasets/{peer_id}/{dataset_id}", responses=problems(404),
                     summary="A peer's dataset as harvested, with its JSON-LD and a link to its home node (anyone)")
def get_remote_dataset(peer_id: PeerId, dataset_id: RemoteId, session: SessionDep) -> RemoteDatasetRecord:
    return remote.remote_record(session, remote.remote_dataset(session, peer_id, dataset_id))


@registry_router.get("/service-info", summary="GA4GH service-info of this node's service registry (anyone)")
def service_info(settings: SettingsDep) -> dict[str, Any]:
    return registry.registry_info(settings).model_dump(exclude_none=True)


@registry_router.get("/services", summary="This node's GA4GH services and its peers' Beacons (anyone)")
def list_services(session: SessionDep, settings: SettingsDep) -> list[dict[str, Any]]:
    return [s.model_dump(exclude_none=True) for s in registry.services(settings, peers.list_peers(session))]


@registry_router.get("/services/types", summary="The types of the services listed (anyone)")
def list_types(session: SessionDep, settings: SettingsDep) -> list[dict[str, Any]]:
    found = registry.services(settings, peers.list_peers(session))
    return [t.model_dump() for t in registry.service_types(found)]


@registry_router.get("/services/{service_id}", responses=problems(404), summary="One service (anyone)")
def get_service(service_id: Annotated[str, Path(min_length=1, max_length=200)], session: SessionDep,
                settings: SettingsDep) -> dict[str, Any]:
    for service in registry.services(settings, peers.list_peers(session)):
        if service.id == service_id:
            return service.model_dump(exclude_none=True)
    raise NotFound(f"no service {service_id}", field="service_id")
