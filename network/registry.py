"""This node as a GA4GH service registry (service-registry 1.0.0): its own services and its peers' Beacons.

External aggregators and other nodes read `/services` to discover the network: this node's Beacon, its network
Beacon and htsget endpoint, then each peer's Beacon with the service-info it gave when it was added.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from catalogue.settings import Settings
from network.models import Peer

__all__ = ["REGISTRY_TYPE", "Service", "ServiceType", "registry_info", "service_types", "services"]


class ServiceType(BaseModel):
    model_config = ConfigDict(frozen=True)
    group: str
    artifact: str
    version: str


class Organization(BaseModel):
    name: str
    url: str


class Service(BaseModel):
    """A GA4GH service-info record, with the `url` a registry adds (ExternalService); other fields pass through."""

    model_config = ConfigDict(extra="allow")
    id: str
    name: str
    type: ServiceType
    organization: Organization
    version: str
    url: str | None = None
    description: str | None = None
    environment: str | None = None


REGISTRY_TYPE = ServiceType(group="org.ga4gh", artifact="service-registry", version="1.0.0")
BEACON_TYPE = ServiceType(group="org.ga4gh", artifact="beacon", version="v2.0.0")
HTSGET_TYPE = ServiceType(group="org.ga4gh", artifact="htsget", version="1.3.0")


def _org(settings: Settings) -> Organization:
    return Organization(name=settings.node_name, url=settings.public_base_url)


def registry_info(settings: Settings) -> Service:
    return Service(id=f"{settings.beacon_id}.registry", name=f"{settings.node_name}: service registry",
                   type=REGISTRY_TYPE, organization=_org(settings), version="0.1.0", environment="prod",
                   description="The GA4GH services of this GenomeGate node and of its peers")


def _own(settings: Settings) -> list[Service]:
    base = settings.public_base_url
    return [
        Service(id=settings.beacon_id, name=f"{settings.node_name} Beacon", type=BEACON_TYPE,
                organization=_org(settings), version="0.1.0", environment="prod", url=f"{base}/beacon/v2",
                description="GA4GH Beacon v2 of this node's catalogue"),
        Service(id=f"{settings.beacon_id}.network", name=f"{settings.node_name} network Beacon", type=BEACON_TYPE,
                organization=_org(settings), version="0.1.0", environment="prod", url=f"{base}/network/beacon/v2",
                description="GA4GH Beacon v2 of this node and its peers, asked at once under one deadline"),
        Service(id=f"{settings.beacon_id}.htsget", name=f"{settings.node_name} htsget", type=HTSGET_TYPE,
                organization=_org(settings), version="0.1.0", environment="prod", url=f"{base}/htsget",
                description="htsget (variants) of this node's released datasets"),
    ]


def _of_peer(peer: Peer) -> Service:
    info: dict[str, Any] = {**peer.service_info, "id": peer.beacon_id, "url": peer.beacon_url}
    info.setdefault("name", peer.name)
    info.setdefault("version", "unknown")
    if not isinstance(info.get("organization"), dict) or "name" not in info["organization"]:
        info["organization"] = {"name": peer.name, "url": peer.node_url or peer.beacon_url}
    info["organization"].setdefault("url", peer.node_url or peer.beacon_url)
    return Service.model_validate(info)


def services(settings: Settings, peers: list[Peer]) -> list[Service]:
    """This node's services first, then one per peer."""
    return _own(settings) + [_of_peer(p) for p in peers]


def service_types(all_services: list[Service]) -> list[ServiceType]:
    seen: dict[tuple[str, str, str], ServiceType] = {}
    for service in all_services:
        seen.setdefault((service.type.group, service.type.artifact, service.type.version), service.type)
    return list(seen.values())
