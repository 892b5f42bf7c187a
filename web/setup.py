"""Wiring the web interface into the app: session cookie, static files, HTML errors and the page routers."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from catalogue.runtime import Runtime
from web.api_docs import install_api_docs
from web.errors import install_html_errors
from web.pages import catalogue, jobs, lookup, network, participants, requests, review, signin, steward, witness
from web.session import WebSessionMiddleware

__all__ = ["STATIC_PATH", "install_web"]

STATIC_PATH = "/static"


def install_web(app: FastAPI, runtime: Runtime, *, demo_users: Mapping[str, str] | None = None) -> None:
    """Add the pages and the API documentation to `app` (made with docs_url=None, redoc_url=None).

    `demo_users` (label -> subject) are offered on the local sign-in page.
    """
    app.state.demo_users = dict(demo_users or {})
    app.add_middleware(WebSessionMiddleware, settings=runtime.settings)
    install_api_docs(app)  # before /static: its assets live under /static/swagger-ui
    app.mount(STATIC_PATH, StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    for module in (catalogue, lookup, signin, requests, review, steward, jobs, network, participants, witness):
        app.include_router(module.router)
    install_html_errors(app)
