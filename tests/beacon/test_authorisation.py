"""Who sees what: every security level x caller kind x requested granularity, and the small-count policy."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from catalogue.models import Dataset, SecurityLevel
from tests.factories import make_entitlement

B = "/beacon/v2"
CALLERS = ["anonymous", "registered", "entitled", "entitled-elsewhere", "expired", "revoked"]

# (security, caller) -> the most that caller gets ("none": the dataset is left out).
ALLOWED: dict[tuple[str, str], str] = {
    **{("PUBLIC", c): "count" for c in CALLERS},
    ("PUBLIC", "entitled"): "record",
    ("REGISTERED", "anonymous"): "none",
    **{("REGISTERED", c): "count" for c in CALLERS[1:]},
    ("REGISTERED", "entitled"): "record",
    **{("CONTROLLED", c): "boolean" for c in CALLERS},
    ("CONTROLLED", "entitled"): "record",
}
ORDER = ["none", "boolean", "count", "record"]


@pytest.mark.parametrize("security", ["PUBLIC", "REGISTERED", "CONTROLLED"])
def test_granularity_for_every_caller_kind(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset],
        auth: Callable[[str], dict[str, str]], security: str) -> None:
    target = make_beacon_dataset(SecurityLevel(security), "Target", count_threshold=0)
    other = make_beacon_dataset(SecurityLevel.CONTROLLED, "Other")
    make_entitlement(session, "entitled", target.id)
    make_entitlement(session, "entitled-elsewhere", other.id)
    make_entitlement(session, "expired", target.id, days=10, start_days_ago=20)
    make_entitlement(session, "revoked", target.id, revoked=True)
    for caller in CALLERS:
        headers = {} if caller == "anonymous" else auth(caller)
        for requested in ("boolean", "count", "record"):
            r = client.get(f"{B}/g_variants", headers=headers, params={
                "referenceName": "1", "start": 0, "end": 10_000_000, "datasetIds": target.id,
                "requestedGranularity": requested})
            assert r.status_code == 200, r.text
            body = r.json()
            allowed = ALLOWED[(security, caller)]
            expected = ORDER[min(ORDER.index(allowed), ORDER.index(requested))]
            where = (security, caller, requested)
            if expected == "none":
                assert body["meta"]["returnedGranularity"] == "boolean", where
                assert body["responseSummary"]["exists"] is False, where
                assert body["info"]["excludedDatasets"][0]["datasetId"] == target.id, where
                continue
            assert body["meta"]["returnedGranularity"] == expected, where
            assert body["responseSummary"]["exists"] is True, where
            results = [x for rs in body.get("response", {}).get("resultSets", []) for x in rs["results"]]
            assert bool(results) == (expected == "record"), where
            if expected == "boolean":
                assert "numTotalResults" not in body["responseSummary"], where


@pytest.mark.parametrize("granularity", ["none", "boolean", "count"])
def test_a_controlled_dataset_answers_at_its_configured_granularity(
        client: TestClient, make_beacon_dataset: Callable[..., Dataset], granularity: str) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Target", beacon_granularity=granularity,
                                 count_threshold=0)
    body = client.get(f"{B}/g_variants", params={"referenceName": "1", "start": 0, "end": 10_000_000,
                                                 "requestedGranularity": "record"}).json()
    if granularity == "none":
        assert body["responseSummary"]["exists"] is False
        assert body["info"]["excludedDatasets"] == [{"datasetId": target.id, "reason": body["info"][
            "excludedDatasets"][0]["reason"]}]
    else:
        assert body["meta"]["returnedGranularity"] == granularity
        assert body["responseSummary"]["exists"] is True


def test_small_counts_are_hidden_without_record_rights_and_shown_with_them(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset],
        auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.PUBLIC, "Target", count_threshold=10_000)
    make_entitlement(session, "alice", target.id)
    params = {"referenceName": "1", "start": 0, "end": 2_000_000, "requestedGranularity": "count"}
    body = client.get(f"{B}/g_variants", params=params).json()
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert body["responseSummary"] == {"exists": True}
    assert body["info"]["datasets"][0]["countBelowThreshold"] == 10_000
    assert "not a privacy protection" in body["info"]["note"]
    shown = client.get(f"{B}/g_variants", params=params, headers=auth("alice")).json()
    assert shown["meta"]["returnedGranularity"] == "count"
    assert shown["responseSummary"]["numTotalResults"] > 0
