"""A peer's document is read within bounds: a larger one, or one that trickles in too slowly, is refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from network.discovery import PeerUnreachable, get_json
from tests.serving import free_port, serving


async def _big(request: Request) -> Response:
    return Response(b'{"pad": "' + b"x" * 100_000 + b'"}', media_type="application/json")


async def _trickle(request: Request) -> StreamingResponse:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"pad": "'
        for _ in range(20):
            await asyncio.sleep(0.1)
            yield b"x"
        yield b'"}'
    return StreamingResponse(chunks(), media_type="application/json")


@pytest.fixture(scope="module")
def peer() -> Iterator[str]:
    app = Starlette(routes=[Route("/big", _big), Route("/trickle", _trickle)])
    with serving(app, free_port()) as url:
        yield url


def test_a_document_past_the_size_limit_is_refused(peer: str) -> None:
    with httpx.Client(timeout=5) as client:
        assert len(get_json(client, f"{peer}/big", limit=200_000)["pad"]) == 100_000
        with pytest.raises(PeerUnreachable, match="sent more than 1000 bytes"):
            get_json(client, f"{peer}/big", limit=1000)


def test_a_document_that_trickles_in_past_the_time_allowed_is_refused(peer: str) -> None:
    with httpx.Client(timeout=5) as client:  # each read is prompt: only the whole is too slow
        assert len(get_json(client, f"{peer}/trickle", within=10)["pad"]) == 20
        with pytest.raises(PeerUnreachable, match="did not send its document within 0.5 s"):
            get_json(client, f"{peer}/trickle", within=0.5)
