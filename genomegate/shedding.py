"""Load shedding and thread sizing: a server process works on a bounded number of requests and refuses the rest
at once (503 with Retry-After) rather than queueing them behind a saturated thread or connection pool."""

from __future__ import annotations

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.responses import Response
from sqlalchemy.exc import TimeoutError as PoolTimeout
from starlette.types import ASGIApp, Receive, Scope, Send

from beacon.api import BEACON_PATH
from catalogue.database import RETRY_AFTER_BUSY, DatabaseBusy
from catalogue.limits import ErrorFormats
from catalogue.settings import Settings

__all__ = ["LoadShedding", "install_busy_handlers", "is_heavy", "size_thread_pool"]

UNSHED = frozenset({"/healthz"})  # never refused, and never waits on the database


def is_heavy(scope: Scope) -> bool:
    """Whether a request may hold its thread for long (writes, genotypes read from files, lock waits), from its
    method, path and headers alone (no body is read): a signed-in, POST or filtered Beacon query (budget charged,
    audit appended, records may be read) and an ingestion's start (it runs in this process until done)."""
    path: str = scope["path"]
    if path.startswith(f"{BEACON_PATH}/"):
        return (scope["method"] == "POST" or b"filters" in scope.get("query_string", b"")
                or any(name == b"authorization" for name, _ in scope["headers"]))
    return scope["method"] == "POST" and path.endswith("/ingestions")


def busy_response(errors: ErrorFormats, path: str, detail: str) -> Response:
    """503 with Retry-After, in the format of the routes under `path`."""
    response = errors.render(path, 503, DatabaseBusy.title, detail)
    response.headers["Retry-After"] = str(RETRY_AFTER_BUSY)
    return response


class LoadShedding:
    """ASGI middleware: at most `limit` HTTP requests of this process are worked on at once, and of them at most
    `heavy_limit` heavy ones (`is_heavy`), so cheap requests (`/api/me`, anonymous counts) always find room;
    one more is answered 503 with Retry-After at once. The paths in UNSHED pass uncounted."""

    def __init__(self, app: ASGIApp, *, limit: int, heavy_limit: int, errors: ErrorFormats) -> None:
        self.app = app
        self.errors = errors
        self.limit = limit
        self.heavy_limit = heavy_limit
        self.in_flight = 0  # the event loop is one thread: no lock needed
        self.heavy_in_flight = 0
        self.shed = 0  # requests refused since the start (for operators and tests)

    def _refusal(self, heavy: bool) -> str | None:
        if self.in_flight >= self.limit:
            return f"this server is working on {self.limit} requests, its limit (GENOMEGATE_MAX_IN_FLIGHT)"
        if heavy and self.heavy_in_flight >= self.heavy_limit:
            return (f"this server is working on {self.heavy_limit} heavy requests (signed-in or filtered Beacon "
                    "queries, ingestions), its limit (GENOMEGATE_MAX_HEAVY_IN_FLIGHT)")
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNSHED:
            await self.app(scope, receive, send)
            return
        heavy = is_heavy(scope)
        refusal = self._refusal(heavy)
        if refusal:
            self.shed += 1
            await busy_response(self.errors, scope["path"], f"{refusal}; retry shortly")(scope, receive, send)
            return
        self.in_flight += 1
        self.heavy_in_flight += heavy
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1
            self.heavy_in_flight -= heavy


def install_busy_handlers(app: FastAPI, errors: ErrorFormats) -> None:
    """A connection pool waited on for longer than its timeout answers 503 with Retry-After (not 500)."""

    async def busy(request: Request, exc: Exception) -> Response:
        return busy_response(errors, request.url.path,
                             "every database connection of this server is in use; retry shortly")

    app.add_exception_handler(DatabaseBusy, busy)
    app.add_exception_handler(PoolTimeout, busy)


def size_thread_pool(settings: Settings) -> None:
    """Give the thread pool (anyio's default limiter, which FastAPI's sync endpoints and dependencies use)
    `settings.worker_threads` threads; called in the app's lifespan, on the loop that uses the limiter."""
    anyio.to_thread.current_default_thread_limiter().total_tokens = settings.worker_threads
