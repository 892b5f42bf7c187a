"""What a URL serves: its GA4GH service-info, read to decide whether it is a Beacon v2 this node can join.

The URL may be a Beacon v2 root (its `/service-info` says artifact `beacon`) or a GenomeGate node's base (its
`/service-info` says `service-registry`; its `/services` lists its Beacon). Anything else is refused, saying why.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from catalogue.errors import InvalidInput

__all__ = ["Discovered", "PeerUnreachable", "discover", "get_json", "is_beacon_v2", "normal_url"]

MAX_DOCUMENT = 1 << 20  # bytes of a peer's service-info or registry read at most
_MAJOR = re.compile(r"^v?(\d+)(?:\.\d+)*$")


class PeerUnreachable(InvalidInput):
    """The URL did not answer with a readable GA4GH service-info. Check the URL and that the peer is up."""

    title = "Peer unreachable"


@dataclass(frozen=True, slots=True)
class Discovered:
    beacon_url: str
    node_url: str | None  # set when the URL is (or belongs to) a GenomeGate node with a service registry
    beacon_id: str
    name: str
    api_version: str
    service_info: dict[str, Any]


def normal_url(url: str, field: str = "url") -> str:
    """`url` without a trailing slash, refused unless it is plain http(s) with a host and no credentials."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput("give an http:// or https:// URL with a host", field=field)
    if parts.username or parts.password or parts.query or parts.fragment:
        raise InvalidInput("give the URL without credentials, query or fragment", field=field)
    return url.strip().rstrip("/")


def get_json(client: httpx.Client, url: str, *, limit: int = MAX_DOCUMENT, accept: str = "application/json",
             within: float | None = None) -> Any:
    """The JSON document at `url` (at most `limit` bytes, all of it within `within` seconds if given, give or take
    the client's read timeout), or PeerUnreachable saying what went wrong."""
    started = time.monotonic()
    try:
        with client.stream("GET", url, headers={"Accept": accept}) as response:
            if response.status_code != 200:
                raise PeerUnreachable(f"{url} answered HTTP {response.status_code}", field="url")
            body = bytearray()
            for chunk in response.iter_bytes():
                body += chunk
                if len(body) > limit:
                    raise PeerUnreachable(f"{url} sent more than {limit} bytes", field="url")
                if within is not None and time.monotonic() - started > within:
                    raise PeerUnreachable(f"{url} did not send its document within {within:g} s", field="url")
    except httpx.TimeoutException:
        raise PeerUnreachable(f"{url} did not answer in time", field="url") from None
    except httpx.HTTPError as exc:
        raise PeerUnreachable(f"{url} could not be reached ({type(exc).__name__})", field="url") from None
    try:
        return json.loads(bytes(body))
    except ValueError:
        raise PeerUnreachable(f"{url} did not send JSON", field="url") from None


def _type(info: Any) -> tuple[str, str, str]:
    kind = info.get("type") if isinstance(info, dict) else None
    if not isinstance(kind, dict):
        return "", "", ""
    return tuple(str(kind.get(k, "")) for k in ("group", "artifact", "version"))  # type: ignore[return-value]


def is_beacon_v2(info: Any) -> bool:
    group, artifact, version = _type(info)
    major = _MAJOR.match(version)
    return group == "org.ga4gh" and artifact == "beacon" and major is not None and major.group(1) == "2"


def discover(url: str, *, timeout: float, client: httpx.Client | None = None) -> Discovered:
    """Read what `url` serves; a Beacon v2 (directly or as a node's registered Beacon) or an InvalidInput."""
    url = normal_url(url)
    own = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=False)
    try:
        info = get_json(client, f"{url}/service-info")
        group, artifact, version = _type(info)
        node_url: str | None = None
        if (group, artifact) == ("org.ga4gh", "service-registry"):
            node_url, (url, info) = url, _registered_beacon(client, url)
            group, artifact, version = _type(info)
        elif url.endswith("/beacon/v2"):
            node_url = _registry_at(client, url.removesuffix("/beacon/v2"))
        if artifact != "beacon" or group != "org.ga4gh":
            raise InvalidInput(f"{url} is not a GA4GH Beacon (its service-info says type "
                               f"{group or '?'}:{artifact or '?'}:{version or '?'})", field="url")
        if not is_beacon_v2(info):
            raise InvalidInput(f"{url} is a Beacon of version {version or 'unknown'}: this node speaks Beacon v2",
                               field="url")
        beacon_id = str(info.get("id") or "")
        if not beacon_id or len(beacon_id) > 200:
            raise InvalidInput(f"{url}'s service-info has no usable id", field="url")
        name = str(info.get("name") or beacon_id)[:100]
        return Discovered(beacon_url=url, node_url=node_url, beacon_id=beacon_id, name=name, api_version=version,
                          service_info=info)
    finally:
        if own:
            client.close()


def _registered_beacon(client: httpx.Client, node_url: str) -> tuple[str, dict[str, Any]]:
    """The node's own Beacon, from its service registry: the one served at <node>/beacon/v2."""
    services = get_json(client, f"{node_url}/services")
    own = f"{node_url}/beacon/v2"
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and str(service.get("url", "")).rstrip("/") == own:
            return own, service
    raise InvalidInput(f"{node_url} is a service registry that lists no Beacon of its own", field="url")


def _registry_at(client: httpx.Client, node_url: str) -> str | None:
    """`node_url` if a GenomeGate service registry answers there (a peer's catalogue and audit log live there)."""
    try:
        info = get_json(client, f"{node_url}/service-info")
    except PeerUnreachable:
        return None
    return node_url if _type(info)[:2] == ("org.ga4gh", "service-registry") else None
