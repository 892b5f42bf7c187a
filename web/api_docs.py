"""The API documentation pages (/docs, and the Beacon's /beacon/v2/docs): Swagger UI 5, which reads OpenAPI 3.1,
served from this node's own files (those packaged by fastapi-offline), never from a CDN."""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["DOCS_PATH", "SWAGGER_UI_FILES", "install_api_docs"]

DOCS_PATH = "/docs"
SWAGGER_UI_FILES = Path(fastapi_offline.__file__).parent / "static"  # swagger-ui-bundle.js, swagger-ui.css
_ASSETS = "/static/swagger-ui"


def install_api_docs(app: FastAPI, *, serve_assets: bool = True) -> None:
    """Serve Swagger UI at `app`'s DOCS_PATH for its own OpenAPI document; create `app` with docs_url=None and
    redoc_url=None. `serve_assets`: mount the Swagger UI files at /static/swagger-ui (on the outer app; a
    mounted sub-app's page uses the outer app's)."""
    if serve_assets:
        app.mount(_ASSETS, StaticFiles(directory=SWAGGER_UI_FILES), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs(request: Request) -> HTMLResponse:
        mounted_at = request.scope.get("root_path", "")  # "/beacon/v2" for the Beacon's page
        return get_swagger_ui_html(openapi_url=f"{mounted_at}{app.openapi_url or '/openapi.json'}",
                                   title=f"{app.title} API", swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{_ASSETS}/favicon.png")
