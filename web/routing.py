"""The router every page module uses: HTML errors, CSRF checked on every form, kept out of the OpenAPI document."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from web.csrf import require_csrf
from web.errors import HtmlRoute

__all__ = ["page_router"]


def page_router() -> APIRouter:
    return APIRouter(route_class=HtmlRoute, dependencies=[Depends(require_csrf)], include_in_schema=False)
