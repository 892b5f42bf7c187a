"""The API documentation page (/docs): Swagger UI served from this node's own files, not from a CDN."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from swagger_ui_bundle import swagger_ui_path

__all__ = ["DOCS_PATH", "install_api_docs"]

DOCS_PATH = "/docs"
_ASSETS = "/static/swagger-ui"


def install_api_docs(app: FastAPI) -> None:
    """Serve Swagger UI for the app's OpenAPI document; create the app with docs_url=None and redoc_url=None."""
    app.mount(_ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui")

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url or "/openapi.json", title=f"{app.title} API",
                                   swagger_js_url=f"{_ASSETS}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{_ASSETS}/swagger-ui.css",
                                   swagger_favicon_url=f"{_ASSETS}/favicon-32x32.png")
