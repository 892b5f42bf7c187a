"""Serve an ASGI app with uvicorn on a free loopback port in a background thread, for as long as a test needs."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn
from starlette.types import ASGIApp

from catalogue.runtime import Runtime
from genomegate.app import create_app

__all__ = ["free_port", "serving", "serving_node"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(app: ASGIApp, port: int) -> Iterator[str]:
    """The app's base URL while it is served; the server stops when the block ends."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                           lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError(f"uvicorn did not start on port {port}")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@contextmanager
def serving_node(runtime: Runtime) -> Iterator[str]:
    """This node's whole app on a free loopback port, its public base URL set to where it is served (links in
    tickets and handovers then point at it); the node's database, signing key and token verifier stay."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    live = Runtime(settings=runtime.settings.model_copy(update={"public_base_url": base}), engine=runtime.engine,
                   issuer=runtime.issuer, verifier=runtime.verifier, read_engine=runtime.read_engine)
    with serving(create_app(runtime=live), port) as url:
        yield url
