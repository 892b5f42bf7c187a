"""Serve the app on a free loopback port for as long as a test needs: an ASGI app in a background thread, or a real
`genomegate serve` process on the test's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import httpx
import uvicorn
from starlette.types import ASGIApp

from catalogue.runtime import Runtime
from genomegate.app import create_app

__all__ = ["free_port", "serving", "serving_node", "serving_process"]


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


@contextmanager
def serving_process(runtime: Runtime, env: Mapping[str, str] | None = None) -> Iterator[str]:
    """`genomegate serve` in a process of its own on a free loopback port, on the test's database and data
    directory (so its signing key too), its public base URL set to where it is served; `env` adds settings.
    The process is stopped (and, if it will not stop, killed) when the block ends."""
    settings = runtime.settings
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    process_env = {**os.environ, "GENOMEGATE_DATA_DIR": str(settings.data_dir),
                   "GENOMEGATE_DATABASE_URL": str(settings.database_url),
                   "GENOMEGATE_IMPORT_DIR": str(settings.import_root), "GENOMEGATE_PUBLIC_BASE_URL": base,
                   **(env or {})}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", str(port)],
                                   env=process_env, stdout=subprocess.DEVNULL, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while not _answers(f"{base}/healthz"):
                if process.poll() is not None:
                    log.seek(0)
                    raise RuntimeError(f"genomegate serve exited: {log.read().decode(errors='replace')[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"genomegate serve did not answer on port {port} within 60 s")
                time.sleep(0.1)
            yield base
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
