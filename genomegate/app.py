"""The app factory: one FastAPI app with every area's routers, the web pages, error mapping, logging and CORS."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from access.api import router as access_router
from access.release.api import htsget_router, keys_router, release_router
from beacon.api import BEACON_PATH, BeaconShortcut, create_beacon_app
from beacon.privacy.api import router as privacy_router
from catalogue.api import router as catalogue_router
from catalogue.api import wellknown_router
from catalogue.deps import RuntimeDep
from catalogue.problems import install_problem_handlers
from catalogue.runtime import Runtime, build_runtime
from catalogue.settings import Settings, load_settings
from genomegate import __doc__ as _doc
from genomegate.demo import DEMO_USERS
from genomegate.observability import AccessLogMiddleware, configure_logging
from genomegate.schema import schema_status
from genomegate.shedding import LoadShedding, install_busy_handlers, thread_pool_lifespan
from ingest.api import router as ingest_router
from web import install_web

__all__ = ["create_app"]


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the application; settings come from the environment unless given."""
    runtime = runtime or build_runtime(settings or load_settings())
    configure_logging(runtime.settings.log_level)
    app = FastAPI(
        title="GenomeGate",
        version="0.1.0",
        summary="Genomic data catalogue, GA4GH Beacon v2 and data access requests",
        description=_doc or "",
        docs_url=None,  # the web package serves /docs with local Swagger UI files
        redoc_url=None,
        lifespan=thread_pool_lifespan(runtime.settings),
    )
    app.state.runtime = runtime
    install_problem_handlers(app)
    install_busy_handlers(app)
    beacon = create_beacon_app(runtime)
    app.add_middleware(BeaconShortcut, beacon=beacon)  # first added, innermost: logged and CORS-wrapped
    app.add_middleware(LoadShedding, limit=runtime.settings.max_in_flight)  # refusals are logged too
    app.add_middleware(AccessLogMiddleware)
    if runtime.settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=runtime.settings.cors_origins,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.mount(BEACON_PATH, beacon)  # first: the busiest routes are matched soonest
    app.include_router(wellknown_router)
    app.include_router(catalogue_router)
    app.include_router(ingest_router)
    app.include_router(access_router)
    app.include_router(keys_router)
    app.include_router(release_router)
    app.include_router(htsget_router)
    app.include_router(privacy_router)
    _add_health(app)
    install_web(app, runtime, demo_users=DEMO_USERS)
    return app


def _add_health(app: FastAPI) -> None:
    @app.get("/healthz", tags=["operations"], summary="The process is up (anyone)")
    async def healthz() -> dict[str, str]:  # on the event loop, never refused: answers while the pools are busy
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"], summary="Database reachable and schema current (anyone)",
             responses={503: {"description": "not ready"}})
    def readyz(runtime: RuntimeDep) -> Any:
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status = schema_status(runtime.engine)
        except SQLAlchemyError:
            return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
        if not status.is_current:
            return JSONResponse({"status": "unavailable", "database": "ok",
                                 "schema": {"current": status.current, "head": status.head},
                                 "hint": "run: genomegate db upgrade"}, status_code=503)
        return {"status": "ok", "database": "ok", "schema": {"current": status.current, "head": status.head}}
