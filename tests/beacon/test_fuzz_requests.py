"""Hypothesis over the Beacon's own request parsing, through the real app with ingested data on SQLite and PostgreSQL:
GET query strings and POST bodies of any shape, anonymous and entitled, get Beacon answers (an error envelope when
refused), never a 5xx. (The Beacon's OpenAPI names no parameters, so Schemathesis cannot generate them: this does.)"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlmodel import Session

from tests.beacon.conftest import Datasets
from tests.factories import make_entitlement

CALLERS = ["anonymous", "alice"]  # alice is entitled to the controlled dataset: record-level answers

Auth = Callable[[str], dict[str, str]]
BOUNDED = settings(max_examples=int(os.environ.get("GENOMEGATE_FUZZ_EXAMPLES", "6")) * 25, deadline=None,
                   derandomize=True, database=None, phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                          HealthCheck.data_too_large])

# Documents of the Beacon request schema's shape, with any JSON where its values go.
_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
                     lambda j: st.lists(j, max_size=4) | st.dictionaries(st.text(max_size=8), j, max_size=4),
                     max_leaves=10)
_PARAMETERS = ["referenceName", "start", "end", "referenceBases", "alternateBases", "variantType", "geneId",
               "assemblyId", "datasetIds", "genomicAlleleShortForm", "aminoacidChange", "variantMinLength",
               "variantMaxLength", "mateName", "unknown"]
_EDGES = st.sampled_from([0, -1, 5, 2**31, 2**32, 2**63 - 1, 2**63, 2**64, 10**30])  # where integer types end
_PLAUSIBLE = st.one_of(_JSON, _EDGES, _EDGES.map(str), st.lists(_EDGES, min_size=1, max_size=2),
                       st.sampled_from(["1", "chr1", "GRCh38", "A", "T", "SNP", "BRCA2", "DUO:0000042"]))
# A variant query, most often well formed, so that requests get past the parser to the database too.
_VARIANT_QUERY = st.fixed_dictionaries({
    "referenceName": st.sampled_from(["1", "chr1", "X"]),
    "start": st.lists(_EDGES | st.integers(0, 10**6), min_size=1, max_size=2),
}, optional={
    "end": st.lists(_EDGES | st.integers(0, 10**6), min_size=1, max_size=1),
    "referenceBases": st.sampled_from(["A", "N", "AC"]), "alternateBases": st.sampled_from(["T", "N", "G"]),
    "assemblyId": st.sampled_from(["GRCh38", "GRCh37"]), "variantType": st.sampled_from(["SNP", "DEL", "CNV"]),
    "variantMinLength": _EDGES, "variantMaxLength": _EDGES, "datasetIds": st.lists(st.text(max_size=10), max_size=3),
})
_BEACON_BODIES = st.fixed_dictionaries({}, optional={
    "meta": st.fixed_dictionaries({}, optional={"requestedSchemas": _JSON, "testMode": _JSON}),
    "query": st.fixed_dictionaries({}, optional={
        "requestParameters": _VARIANT_QUERY | st.dictionaries(st.sampled_from(_PARAMETERS), _PLAUSIBLE, max_size=5),
        "filters": _JSON | st.lists(st.sampled_from(["DUO:0000042", "NCIT:C16576", "sex"]) | _JSON, max_size=4),
        "pagination": st.dictionaries(st.sampled_from(["skip", "limit"]), _PLAUSIBLE, max_size=2),
        "requestedGranularity": _JSON | st.sampled_from(["boolean", "count", "record"]),
        "includeResultsetResponses": _JSON | st.sampled_from(["HIT", "ALL", "NONE", "MISS"]),
        "testMode": _JSON,
    }),
})
_BEACON_PATHS = ["/beacon/v2/g_variants", "/beacon/v2/individuals", "/beacon/v2/datasets",
                 "/beacon/v2/g_variants/1-5-A-T/individuals", "/beacon/v2/individuals/S0001/g_variants"]


@BOUNDED
@given(body=_BEACON_BODIES, path=st.sampled_from(_BEACON_PATHS), caller=st.sampled_from(CALLERS))
def _beacon_post(client: TestClient, auth: Auth, body: Any, path: str, caller: str) -> None:
    content = json.dumps(body)  # NaN and Infinity too, which Python's JSON parser takes
    headers = {**_headers(auth, caller), "Content-Type": "application/json"}
    response = client.post(path, content=content, headers=headers)
    assert response.status_code < 500, response.text[:300]
    document = response.json()
    assert "meta" in document and ("error" in document) == (response.status_code >= 400), document


# A range query over all of chromosome 1, for records: its answers reach the database's paging.
_RANGE = [("referenceName", "1"), ("start", "0"), ("end", "100000000"), ("requestedGranularity", "record")]
_CONTROLS = st.fixed_dictionaries({}, optional={
    "skip": _EDGES.map(str), "limit": _EDGES.map(str) | st.text(max_size=4),
    "filters": st.sampled_from(["DUO:0000042", "sex", ""]) | st.text(max_size=8),
    "includeResultsetResponses": st.sampled_from(["HIT", "ALL", "NONE"]) | st.text(max_size=6),
}).map(lambda controls: [*_RANGE, *controls.items()])
_PAIRS = st.lists(st.tuples(st.sampled_from([*_PARAMETERS, "filters", "skip", "limit", "requestedGranularity"]),
                            st.text(max_size=12) | _EDGES.map(str)), max_size=6)


# Either the range query as the entitled caller with any controls, or any pairs on any path as anyone.
_GETS = st.one_of(
    st.tuples(st.sampled_from(["/beacon/v2/g_variants", "/beacon/v2/individuals"]), _CONTROLS, st.just("alice")),
    st.tuples(st.sampled_from(_BEACON_PATHS), _PAIRS, st.sampled_from(CALLERS)))


@BOUNDED
@given(request=_GETS)
def _beacon_get(client: TestClient, auth: Auth, request: tuple[str, list[tuple[str, str]], str]) -> None:
    path, pairs, caller = request
    response = client.get(path, params=tuple(pairs), headers=_headers(auth, caller))
    assert response.status_code < 500, response.text[:300]
    assert "meta" in response.json()


def _headers(auth: Auth, caller: str) -> dict[str, str]:
    return auth(caller) if caller != "anonymous" else {}


def test_beacon_requests_of_any_shape_get_beacon_answers_never_a_5xx(client: TestClient, session: Session,
                                                                      datasets: Datasets, auth: Auth) -> None:
    make_entitlement(session, "alice", datasets.controlled.id)
    _beacon_post(client, auth)
    _beacon_get(client, auth)
