"""The app factory: one FastAPI app with every area's routers, the web pages, error mapping, logging and CORS."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from access.api import audit_wellknown_router
from access.api import router as access_router
from access.release.api import HTSGET_ERRORS, htsget_error_response, htsget_router, keys_router, release_router
from beacon import api as beacon_api
from beacon.api import BEACON_PATH, BeaconShortcuts, create_beacon_app, error_envelope
from beacon.privacy.api import router as privacy_router
from catalogue.api import router as catalogue_router
from catalogue.api import wellknown_router
from catalogue.deps import RuntimeDep, get_caller
from catalogue.limits import BodyLimits, ErrorFormats, Limits
from catalogue.problems import document_errors, install_problem_handlers, limit_problem, problems
from catalogue.runtime import Runtime, build_runtime
from catalogue.settings import Settings, load_settings
from genomegate import __doc__ as _doc
from genomegate.demo import DEMO_USERS
from genomegate.kinds import register_all
from genomegate.observability import AccessLogMiddleware, configure_logging
from genomegate.schema import schema_status
from genomegate.shedding import LoadShedding, install_busy_handlers, size_thread_pool
from ingest.api import router as ingest_router
from jobs import broker as brokers
from jobs.api import router as jobs_router
from network import beacon_api as network_beacon_api
from network.api import datasets_router as network_datasets_router
from network.api import registry_router
from network.api import router as network_router
from network.beacon_api import NETWORK_BEACON_PATH, create_network_beacon_app
from network.dac_requests import harvested_resolver
from network.fanout import Network
from network.witness.api import router as witness_router
from participants.api import register_router, sheets_router
from participants.api import router as participants_router
from web import install_web
from web.api_docs import install_api_docs

__all__ = ["create_app"]

log = logging.getLogger("genomegate.jobs")


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> FastAPI:
    """Build the application; settings come from the environment unless given."""
    runtime = runtime or build_runtime(settings or load_settings())
    register_all()
    configure_logging(runtime.settings.log_level)
    app = FastAPI(
        title="GenomeGate",
        version="0.1.0",
        summary="Genomic data catalogue, GA4GH Beacon v2 and data access requests",
        description=_doc or "",
        docs_url=None,  # the web package serves /docs with local Swagger UI files
        redoc_url=None,
        lifespan=_background_work(runtime, lambda: app.state.network),
    )
    app.state.runtime = runtime
    # requests here may name datasets held at peers whose DAC sits here, found in the harvested catalogue
    app.state.remote_datasets = harvested_resolver(runtime.settings.public_base_url)
    install_problem_handlers(app)
    # errors found before routing (a body too large, a server too busy) answer in the format of the path's routes
    errors = ErrorFormats(default=limit_problem, by_prefix=(
        (BEACON_PATH, error_envelope(runtime.settings.beacon_id)),
        (NETWORK_BEACON_PATH, error_envelope(f"{runtime.settings.beacon_id}.network")),
        ("/htsget", htsget_error_response)))
    install_busy_handlers(app, errors)
    beacon = create_beacon_app(runtime)
    network_beacon = create_network_beacon_app(runtime, local=beacon)
    app.add_middleware(BeaconShortcuts, routes={  # first added, innermost: logged, limited, shed and CORS-wrapped
        f"{BEACON_PATH}/g_variants": (beacon, beacon_api.g_variants),
        f"{NETWORK_BEACON_PATH}/g_variants": (network_beacon, network_beacon_api.g_variants)})
    app.add_middleware(BodyLimits, limits=_limits(runtime.settings), errors=errors)
    app.add_middleware(LoadShedding, limit=runtime.settings.max_in_flight,  # refusals are logged too
                       heavy_limit=runtime.settings.max_heavy_in_flight, errors=errors)
    app.add_middleware(AccessLogMiddleware)
    if runtime.settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=runtime.settings.cors_origins,
                           allow_methods=["GET", "POST", "PATCH", "DELETE"],
                           allow_headers=["Authorization", "Content-Type"])
    app.mount(BEACON_PATH, beacon)  # first: the busiest routes are matched soonest
    app.state.network = network_beacon.state.network  # the web's lookup page asks the network too
    app.mount(NETWORK_BEACON_PATH, network_beacon)
    routers = [wellknown_router, audit_wellknown_router, catalogue_router, ingest_router, access_router, keys_router,
               release_router, htsget_router, privacy_router, jobs_router, network_router, network_datasets_router,
               registry_router, sheets_router, participants_router, register_router, witness_router]
    for router in routers:
        # the privacy operators' view is for admins (its router is another area's: its 403 is documented here)
        app.include_router(router, responses=problems(403) if router is privacy_router else None)
    _add_health(app)
    install_web(app, runtime, demo_users=DEMO_USERS)
    install_api_docs(beacon, serve_assets=False)  # /beacon/v2/docs, with the assets install_web serves
    document_errors(app, formats=[("/htsget", HTSGET_ERRORS)], authenticated=[get_caller], routers=routers)
    return app


def _background_work(runtime: Runtime, network: Callable[[], Network]) -> Any:
    """Lifespan: size the thread pool (genomegate/shedding.py) and connect to the job broker, so that jobs the
    requests submit reach the workers. The server runs no background work itself: `genomegate worker` does."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        size_thread_pool(runtime.settings)
        try:
            broker = await anyio.to_thread.run_sync(lambda: brokers.open_broker(runtime.settings))
        except Exception as exc:  # the broker is down: jobs wait in the ledger until a worker's reaper hands them over
            log.warning("no job broker (%s): %s", brokers.queue_label(runtime.settings), exc)
        else:
            brokers.attach(runtime.engine, broker)
        try:
            yield
        finally:
            brokers.detach(runtime.engine)
            await network().aclose()  # the pooled connections to the peers

    return lifespan


def _limits(settings: Settings) -> Limits:
    uploads = (re.compile(r"/api/access/requests/[^/]+/attachments"), re.compile(r"/requests/[^/]+/attachments"))
    return Limits(max_body_bytes=settings.max_body_bytes, upload_max_bytes=settings.attachment_max_bytes,
                  max_json_depth=settings.max_json_depth, upload_paths=uploads)


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
