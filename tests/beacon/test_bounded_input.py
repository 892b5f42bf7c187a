"""Out-of-range paging and positions on a Beacon with data: refused naming the parameter, where they were 500s
(SQLite cannot bind an integer past 2**63; PostgreSQL's BIGINT ends there too)."""

from __future__ import annotations

from collections.abc import Callable

import httpx2
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from tests.beacon.conftest import Datasets
from tests.factories import make_entitlement

B = "/beacon/v2"
PAST_BIGINT = 2**63


def _refused(response: httpx2.Response, parameter: str) -> None:
    assert response.status_code == 400, response.text[:300]
    error = response.json()["error"]
    assert error["errorCode"] == 400 and error["errorMessage"].startswith(f"{parameter}:")


@pytest.mark.parametrize("skip", [PAST_BIGINT, 1_000_001])
@pytest.mark.parametrize("query", [
    "g_variants?referenceName=1&start=0&end=100000000&requestedGranularity=record",
    "individuals?requestedGranularity=record",
])
def test_a_skip_past_the_limit_on_real_data_is_refused(client: TestClient, session: Session, datasets: Datasets,
                                                       auth: Callable[[str], dict[str, str]], query: str,
                                                       skip: int) -> None:
    make_entitlement(session, "alice", datasets.controlled.id)
    _refused(client.get(f"{B}/{query}&skip={skip}", headers=auth("alice")), "skip")
    answered = client.get(f"{B}/{query}&skip=1000000", headers=auth("alice"))
    assert answered.status_code == 200, answered.text[:300]


@pytest.mark.parametrize("parameter", ["start", "end", "variantMinLength"])
def test_a_position_past_bigint_on_real_data_is_refused(client: TestClient, datasets: Datasets,
                                                        parameter: str) -> None:
    query: dict[str, str | int] = {"referenceName": "1", "start": 0, "end": 100, parameter: PAST_BIGINT}
    if parameter == "variantMinLength":
        query["variantType"] = "DEL"
    _refused(client.get(f"{B}/g_variants", params=query), parameter)
