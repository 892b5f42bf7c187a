"""The shortcut to the variant query: the routed endpoint's answers, logged, CORS-wrapped, errors as Beacon errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from beacon.api import create_beacon_app
from catalogue.database import make_engine
from catalogue.models import Variant
from catalogue.runtime import Runtime
from tests.beacon._schemas import validate
from tests.beacon.conftest import Datasets
from tests.factories import client_with, make_entitlement

B = "/beacon/v2"
ERROR = ("framework", "json", "responses", "beaconErrorResponse.json")


def _requests(session: Session, datasets: Datasets) -> list[tuple[str, str, dict[str, Any]]]:
    """(who, method, httpx keyword arguments) of hits, misses, ranges, POST bodies, test mode and errors."""
    v = session.exec(select(Variant).where(Variant.dataset_id == datasets.public.id, col(Variant.ac) > 0)
                     .order_by(col(Variant.pos))).first()
    assert v is not None
    hit = {"referenceName": v.chrom, "start": v.pos - 1, "referenceBases": v.ref, "alternateBases": v.alt}
    return [
        ("anonymous", "get", {"params": {**hit, "requestedGranularity": "count"}}),
        ("anonymous", "get", {"params": {**hit, "alternateBases": "TTTT"}}),
        ("anonymous", "get", {"params": {"referenceName": "chr1", "start": 0, "end": 10_000_000}}),
        ("alice", "get", {"params": {**hit, "requestedGranularity": "record"}}),
        ("bob", "get", {"params": {**hit, "requestedGranularity": "record", "datasetIds": datasets.controlled.id}}),
        ("anonymous", "post", {"json": {"meta": {"apiVersion": "2.0"}, "query": {
            "requestParameters": hit, "requestedGranularity": "count"}}}),
        ("anonymous", "get", {"params": {**hit, "testMode": "true"}}),
        ("anonymous", "get", {"params": {"referenceName": "1", "start": 9, "end": 5}}),
        ("anonymous", "post", {"content": b"{not json", "headers": {"Content-Type": "application/json"}}),
        ("anonymous", "get", {"params": hit, "headers": {"Authorization": "Bearer not-a-token"}}),
    ]


def test_the_shortcut_answers_exactly_as_the_routed_endpoint(
        runtime: Runtime, client: TestClient, session: Session, datasets: Datasets,
        auth: Callable[[str], dict[str, str]]) -> None:
    make_entitlement(session, "alice", datasets.public.id)
    routed = TestClient(create_beacon_app(runtime), raise_server_exceptions=False)  # the sub-app alone: no shortcut
    statuses = []
    for who, method, kwargs in _requests(session, datasets):
        if who != "anonymous":
            kwargs = {**kwargs, "headers": {**kwargs.get("headers", {}), **auth(who)}}
        short = getattr(client, method)(f"{B}/g_variants", **kwargs)
        long = getattr(routed, method)("/g_variants", **kwargs)
        assert short.status_code == long.status_code, (kwargs, short.text, long.text)
        assert short.json() == long.json(), kwargs
        assert short.headers.get("www-authenticate") == long.headers.get("www-authenticate")
        statuses.append(short.status_code)
    assert statuses == [200] * 7 + [400, 400, 401]


def test_shortcut_requests_are_logged_and_get_cors_headers(runtime: Runtime, datasets: Datasets) -> None:
    lines: list[dict[str, Any]] = []

    class Lines(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(getattr(record, "fields", {}))

    client = client_with(runtime, cors_origins=["https://portal.example"])
    logger = logging.getLogger("genomegate.http")
    handler = Lines()
    logger.addHandler(handler)
    try:
        r = client.get(f"{B}/g_variants", params={"referenceName": "1", "start": 0, "end": 1000},
                       headers={"Origin": "https://portal.example"})
    finally:
        logger.removeHandler(handler)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == "https://portal.example"
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [("GET", f"{B}/g_variants", 200)]


def test_a_failure_behind_the_shortcut_is_a_logged_beacon_error_without_a_traceback(
        runtime: Runtime, tmp_path: Path, caplog: Any) -> None:
    broken = Runtime(settings=runtime.settings, engine=make_engine(f"sqlite:///{tmp_path / 'no-tables.db'}"),
                     issuer=runtime.issuer, verifier=runtime.verifier)  # a database without the catalogue's tables
    from genomegate.app import create_app

    client = TestClient(create_app(runtime=broken), raise_server_exceptions=False)
    logger = logging.getLogger("genomegate.beacon")
    logger.addHandler(caplog.handler)
    try:
        r = client.get(f"{B}/g_variants", params={"referenceName": "1", "start": 0, "end": 1000})
    finally:
        logger.removeHandler(caplog.handler)
    assert r.status_code == 500
    body = r.json()
    validate(body, *ERROR)
    assert body["error"] == {"errorCode": 500, "errorMessage": "The Beacon failed; the error was logged."}
    assert "Traceback" not in r.text and "no such table" not in json.dumps(body)
    assert any("unhandled error on GET" in m for m in caplog.messages)


def test_beacon_documents_render_as_starlette_would() -> None:
    from fastapi.responses import JSONResponse

    from beacon.api import BeaconJSON

    document = {"meta": {"beaconId": "org.example", "returnedGranularity": "count"}, "note": "Ærø – 5′ UTR",
                "responseSummary": {"exists": True, "numTotalResults": 3}, "ratio": 0.25, "ids": [1, None, "x"]}
    assert BeaconJSON(document).body == JSONResponse(document).body


def test_query_strings_split_as_starlette_would() -> None:
    from urllib.parse import parse_qsl

    from beacon.api import query_pairs

    strings = [
        b"referenceName=1&start=5753411&referenceBases=T&alternateBases=A&requestedGranularity=count",
        b"start=1,2&start=3&end=", b"flag&&a=b=c&", b"", b"=x&y=", b"filters=NCIT%3AC16576,HP%3A0001250",
        b"geneId=BRCA1+BRCA2&name=%C3%86r%C3%B8", "raw=Ærø".encode(), b"a=%zz&b=100%",
    ]
    for raw in strings:
        assert query_pairs(raw) == parse_qsl(raw.decode("latin-1"), keep_blank_values=True), raw
