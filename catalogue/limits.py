"""Bounded input at the door: body sizes, JSON bodies' encoding, nesting and escapes, NUL in URLs, short excerpts."""

from __future__ import annotations

import re
import reprlib
from collections.abc import Callable
from dataclasses import dataclass
from itertools import accumulate

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = [
    "BODY_METHODS", "MAX_ID", "MAX_OFFSET", "MAX_TERMS", "UPLOAD_OVERHEAD", "BodyLimits", "ErrorFormats",
    "ErrorRenderer", "Limits", "excerpt", "excerpt_text", "json_depth", "json_problem", "url_problem",
]

# The largest offset (skip) of a paged list: deeper pages are refused, not scanned row by row.
MAX_OFFSET = 1_000_000
# Values of one search facet (duo, organisation, ...): each adds to the query's expression, which SQLite bounds.
MAX_TERMS = 50
# The largest integer id: what an INTEGER primary key holds (PostgreSQL's is 32-bit; SQLite's would take 2**63 - 1).
MAX_ID = 2**31 - 1
# Room a multipart upload's boundaries and part headers take beyond the file itself.
UPLOAD_OVERHEAD = 64 * 1024
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# status, title, detail, path -> the error response in the format of the routes under that path
ErrorRenderer = Callable[[int, str, str, str], Response]


@dataclass(frozen=True, slots=True)
class ErrorFormats:
    """How an error found before routing (a body too large, a server too busy) is answered: in the format of the
    routes under the request's path, by the renderer of the first prefix it starts with, else by `default`."""

    default: ErrorRenderer
    by_prefix: tuple[tuple[str, ErrorRenderer], ...] = ()

    def render(self, path: str, status: int, title: str, detail: str) -> Response:
        renderer = next((r for prefix, r in self.by_prefix if path.startswith(prefix)), self.default)
        return renderer(status, title, detail, path)

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 2, 60, 60, 40
_REPR.maxlist = _REPR.maxtuple = _REPR.maxdict = _REPR.maxset = 4
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [1 if b in b"[{" else -1 if b in b"]}" else 0 for b in range(256)]
_ESCAPE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F][0-9a-fA-F]{2})")  # \u0000, surrogates
_PAIR = re.compile(rb"\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}")


def excerpt(value: object, limit: int = 60) -> str:
    """A short repr of `value` (at most about `limit` characters, in time independent of its size): error messages
    quote input so, never whole."""
    text = _REPR.repr(value)
    return text if len(text) <= limit else f"{text[:limit]}..."


def excerpt_text(text: str, limit: int = 60) -> str:
    """`text` itself (not its repr) when short, else its first `limit` characters and how many more there were."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit:,} more characters)"


def json_depth(body: bytes) -> int:
    """The deepest nesting of arrays and objects in a JSON document, found without parsing it (linear, in C loops)."""
    brackets = _STRING.sub(b"", body).translate(None, _NOT_BRACKET)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_problem(body: bytes, max_depth: int) -> str | None:
    """Why a JSON body is refused before it is parsed (not UTF-8, nested too deep, a NUL or lone surrogate
    escape no text column can hold), or None."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"the body is not UTF-8 (byte {exc.start} is invalid)"
    if body.count(b"[") + body.count(b"{") > max_depth and json_depth(body) > max_depth:
        return f"the JSON body is nested more than {max_depth} levels deep"
    bad = _bad_escape(body)
    if bad is not None:
        escape = body[bad:bad + 6].decode()
        what = "a NUL character" if escape == "\\u0000" else "a lone surrogate"
        return f"the JSON body holds {what} ({escape}) at byte {bad}, which no text can hold"
    return None


def _bad_escape(body: bytes) -> int | None:
    """Where the first \\u0000 or unpaired surrogate escape is (one whose backslash is not itself escaped)."""
    low_half = -1  # where the low half of the last pair seen starts
    for match in _ESCAPE.finditer(body):
        at = match.start()
        if at == low_half or _escaped(body, at):
            continue
        if not _PAIR.match(body, at):
            return at
        low_half = at + 6
    return None


def _escaped(body: bytes, at: int) -> bool:
    """Whether the backslash at `at` is preceded by an odd run of backslashes ("\\\\u0000" is text, not NUL)."""
    run = 0
    while at - run > 0 and body[at - run - 1] == 0x5C:
        run += 1
    return run % 2 == 1


def url_problem(scope: Scope) -> str | None:
    """Why a URL is refused: a NUL character (%00) in its path or query, which no identifier or text can hold."""
    raw_path: bytes = scope.get("raw_path") or scope["path"].encode()
    if b"%00" in raw_path or b"\x00" in raw_path:
        return "the URL path holds a NUL character (%00)"
    if b"%00" in scope.get("query_string", b""):
        return "the query string holds a NUL character (%00)"
    return None


@dataclass(frozen=True, slots=True)
class Limits:
    """The bounds BodyLimits enforces."""

    max_body_bytes: int
    upload_max_bytes: int
    max_json_depth: int
    upload_paths: tuple[re.Pattern[str], ...] = ()


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return True  # FastAPI and the Beacon parse a body without a Content-Type as JSON
    media = content_type.split(";", 1)[0].strip().lower()
    # the Beacon parses a text/plain body as JSON too (clients send it so to avoid CORS preflights)
    return media == "application/json" or media.endswith("+json") or media == "text/plain"


class BodyLimits:
    """ASGI middleware: a body larger than its route's limit is refused with 413, from Content-Length before it is
    read, or as soon as a chunked body passes the limit; JSON bodies are read (bounded) and refused with 400 when
    `json_problem` finds fault, and URLs with a NUL likewise. Errors take the format of the routes under the
    request's path (`errors`)."""

    def __init__(self, app: ASGIApp, *, limits: Limits, errors: ErrorFormats) -> None:
        self.app = app
        self.limits = limits
        self.errors = errors

    def _render(self, path: str, status: int, title: str, detail: str) -> Response:
        response = self.errors.render(path, status, title, detail)
        if status == 413:
            response.headers["Connection"] = "close"  # the rest of the body is not read
        return response

    def _is_upload(self, path: str) -> bool:
        return any(p.fullmatch(path) for p in self.limits.upload_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        problem = url_problem(scope)
        if problem:
            await self._render(path, 400, "Invalid input", problem)(scope, receive, send)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        upload = self._is_upload(path)
        limit = self.limits.upload_max_bytes + UPLOAD_OVERHEAD if upload else self.limits.max_body_bytes
        declared = _header(scope, b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._too_large(path, int(declared), limit)(scope, receive, send)
            return
        is_json = not upload and _is_json(_header(scope, b"content-type"))
        if declared is not None and (not is_json or declared == "0"):
            await self.app(scope, receive, send)  # the server holds the body to its Content-Length
            return
        body, rest = await _read(receive, limit)
        if rest:  # the client left before its body ended: nobody to answer
            return
        if body is None:
            await self._too_large(path, None, limit)(scope, receive, send)
            return
        if is_json and body:
            problem = json_problem(body, self.limits.max_json_depth)
            if problem:
                await self._render(path, 400, "Invalid input", problem)(scope, receive, send)
                return
        await self.app(scope, _replay(body, rest, receive), send)

    def _too_large(self, path: str, declared: int | None, limit: int) -> Response:
        size = f"has {declared:,} bytes" if declared is not None else "is larger than that"
        return self._render(path, 413, "Request body too large",
                            f"the request body may have at most {limit:,} bytes; this one {size}")


async def _read(receive: Receive, limit: int) -> tuple[bytes | None, list[Message]]:
    """The whole body, or None as soon as it passes `limit`; and the message that cut it short (a disconnect)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), [message]
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None, []
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks), []


def _replay(body: bytes, rest: list[Message], receive: Receive) -> Receive:
    pending: list[Message] = [{"type": "http.request", "body": body, "more_body": False}, *rest]

    async def replayed() -> Message:
        return pending.pop(0) if pending else await receive()

    return replayed
