"""HTTP API of the network: the peers (admins) under /api/network, and the GA4GH service registry (anyone)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, status

from catalogue.deps import RuntimeDep, SessionDep, SettingsDep, SignedInDep
from catalogue.errors import NotFound
from catalogue.problems import problems
from catalogue.services.roles import require_admin
from network import health, peers, registry
from network.models import PeerCreate, PeerPublic, PeersPublic

__all__ = ["registry_router", "router"]

# Every route here is for admins: 403 for anyone else.
router = APIRouter(prefix="/api/network", tags=["network"], responses=problems(403))
registry_router = APIRouter(tags=["service registry"])
PeerId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z0-9-]+$", description="a peer's id")]


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
