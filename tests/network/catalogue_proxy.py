"""A test proxy in front of a node (nothing in the product): passes every GET through, or serves a broken DCAT-AP
catalogue at /api/catalog.jsonld, as a misconfigured or half-upgraded peer would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from tests.serving import free_port, serving

__all__ = ["BROKEN", "CatalogueProxy", "catalogue_proxy"]

CATALOGUE = "/api/catalog.jsonld"
JSONLD = "application/ld+json"


def _without_titles(doc: dict[str, Any]) -> bytes:
    for dataset in doc.get("dcat:dataset", []):
        dataset.pop("dct:title", None)
    return json.dumps(doc).encode()


def _not_a_catalogue(doc: dict[str, Any]) -> bytes:
    doc["@type"] = "dcat:Dataset"
    return json.dumps(doc).encode()


# mode -> (status, body made from the node's real catalogue, the error the harvest reports)
BROKEN: dict[str, tuple[int, Any, str]] = {
    "truncated": (200, lambda doc: json.dumps(doc).encode()[:200], "did not send JSON"),
    "no-titles": (200, _without_titles, "has no dct:title"),
    "not-a-catalogue": (200, _not_a_catalogue, "holds 0 dcat:Catalog nodes"),
    "server-error": (500, lambda doc: b"oops", "answered HTTP 500"),
}


class CatalogueProxy:
    """ASGI app: GETs go to `upstream`; the catalogue is broken as `mode` says (see BROKEN), or passed ("pass")."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.mode = "pass"
        self.catalogue_requests = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "http"
        request = Request(scope, receive)
        target = f"{self.upstream}{request.url.path}" + (f"?{request.url.query}" if request.url.query else "")
        async with httpx.AsyncClient(timeout=10) as client:
            upstream = await client.get(target, headers={"Accept": request.headers.get("accept", "*/*")})
        if request.url.path == CATALOGUE:
            self.catalogue_requests += 1
            if self.mode != "pass":
                status, body, _ = BROKEN[self.mode]
                await Response(body(upstream.json()), status_code=status, media_type=JSONLD)(scope, receive, send)
                return
        response = Response(upstream.content, status_code=upstream.status_code,
                            media_type=upstream.headers.get("content-type"))
        await response(scope, receive, send)


@contextmanager
def catalogue_proxy(upstream: str) -> Iterator[tuple[CatalogueProxy, str]]:
    """The proxy and its base URL, served on a free loopback port while the block runs."""
    proxy = CatalogueProxy(upstream)
    with serving(proxy, free_port()) as url:
        yield proxy, url
