"""A reverse proxy for the federation tests (never part of the product): it stands in front of a node, records the
headers of every request it passes on, and can be told to answer slowly, as a node slower than the deadline would.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from starlette.types import Receive, Scope, Send

from tests.serving import free_port, serving

__all__ = ["Proxy", "Seen", "proxy_for"]

_HOP = {"host", "content-length", "transfer-encoding", "connection", "keep-alive", "content-encoding"}


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]


@dataclass
class Proxy:
    """Passes every request on to `target`; `delay` seconds late when set."""

    target: str
    delay: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    url: str = ""
    client: httpx.AsyncClient | None = None

    def queries(self) -> list[Seen]:
        """The Beacon queries passed on (health checks and discovery left out)."""
        return [s for s in self.seen if s.path.endswith(("/g_variants", "/datasets"))]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        self.seen.append(Seen(scope["method"], scope["path"], headers))
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        if self.delay:
            await asyncio.sleep(self.delay)
        query = scope["query_string"].decode("latin-1")
        url = self.target + scope["path"] + (f"?{query}" if query else "")
        if self.client is None:  # made on the serving loop, kept for the proxy's life
            self.client = httpx.AsyncClient(timeout=30)
        answer = await self.client.request(scope["method"], url, content=body or None,
                                           headers={k: v for k, v in headers.items() if k not in _HOP})
        await send({"type": "http.response.start", "status": answer.status_code,
                    "headers": [(k.encode(), v.encode()) for k, v in answer.headers.items() if k.lower() not in _HOP]
                    + [(b"set-cookie", b"proxied=1; Path=/")]})  # a cookie the network Beacon must never send back
        await send({"type": "http.response.body", "body": answer.content})


@contextmanager
def proxy_for(target: str) -> Iterator[Proxy]:
    """A proxy to `target` (a node's base URL) on a free loopback port, while the block runs."""
    proxy = Proxy(target)
    with serving(proxy, free_port()) as url:
        proxy.url = url
        yield proxy
