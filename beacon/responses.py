"""Beacon v2 envelopes: meta, summaries, result sets, informational and error responses."""

from __future__ import annotations

from typing import Any

from beacon.granularity import Granularity
from beacon.models import BeaconRequest

__all__ = [
    "API_VERSION", "BEACON_ID", "SCHEMAS", "error_response", "informational", "meta", "result_set", "summary_response",
]

API_VERSION = "v2.0.0"
BEACON_ID = "org.genomegate.beacon"

SCHEMAS: dict[str, dict[str, str]] = {
    "genomicVariation": {"entityType": "genomicVariation", "schema": "beacon-g_variant-v2.0.0"},
    "individual": {"entityType": "individual", "schema": "beacon-individual-v2.0.0"},
    "dataset": {"entityType": "dataset", "schema": "beacon-dataset-v2.0.0"},
}

_EMPTY_REQUEST = BeaconRequest()


def meta(request: BeaconRequest | None, granularity: Granularity, entity: str,
         beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """The meta section every non-informational response carries; `beacon_id` names the node answering."""
    request = request or _EMPTY_REQUEST
    out: dict[str, Any] = {
        "beaconId": beacon_id, "apiVersion": API_VERSION, "returnedSchemas": [SCHEMAS[entity]],
        "returnedGranularity": max(granularity, Granularity.BOOLEAN).label,
        "receivedRequestSummary": request.summary(API_VERSION),
    }
    if request.test_mode:
        out["testMode"] = True
    return out


def informational(response: Any, *, entity: str | None = None, beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """Framework endpoints (info, configuration, map, entry types, filtering terms)."""
    meta_section: dict[str, Any] = {"beaconId": beacon_id, "apiVersion": API_VERSION,
                                    "returnedSchemas": [SCHEMAS[entity]] if entity else []}
    return {"meta": meta_section, "response": response}


def result_set(set_id: str, *, exists: bool, count: int, results: list[dict[str, Any]],
               info: dict[str, Any] | None = None, handovers: list[dict[str, Any]] | None = None,
               set_type: str = "dataset") -> dict[str, Any]:
    out: dict[str, Any] = {"id": set_id, "setType": set_type, "exists": exists, "resultsCount": count,
                           "results": results}
    if info:
        out["info"] = info
    if handovers:
        out["resultsHandovers"] = handovers
    return out


def summary_response(request: BeaconRequest, granularity: Granularity, entity: str, *, exists: bool,
                     total: int | None, result_sets: list[dict[str, Any]] | None,
                     info: dict[str, Any], beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """A boolean or result-set response, whichever `granularity` calls for; `numTotalResults` only when the
    `total` is known (None: a dataset answering yes/no only found something, so no total can be given)."""
    out: dict[str, Any] = {"meta": meta(request, granularity, entity, beacon_id),
                           "responseSummary": {"exists": exists}}
    if granularity >= Granularity.COUNT:
        if total is not None:
            out["responseSummary"]["numTotalResults"] = total
        out["response"] = {"resultSets": result_sets or []}
    out["info"] = info
    return out


def error_response(code: int, message: str, request: BeaconRequest | None = None,
                   entity: str = "genomicVariation", beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """The Beacon error envelope: full meta (the request as far as it was understood) and error."""
    return {"meta": meta(request, Granularity.BOOLEAN, entity, beacon_id),
            "error": {"errorCode": code, "errorMessage": message}}
