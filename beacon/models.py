"""The parsed form of a Beacon request: what every endpoint's service receives."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from beacon.granularity import Granularity

__all__ = ["BeaconRequest", "Filter", "INCLUDE_VALUES"]

INCLUDE_VALUES = ("HIT", "MISS", "ALL", "NONE")


@dataclass(frozen=True, slots=True)
class Filter:
    """One filter: an ontology term (`id` only) or an alphanumeric comparison (`id` operator `value`)."""

    id: str
    operator: str | None = None
    value: str | None = None
    scope: str | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id}
        for name in ("operator", "value", "scope"):
            if getattr(self, name) is not None:
                out[name] = getattr(self, name)
        return out


@dataclass(frozen=True, slots=True)
class BeaconRequest:
    """A request after parsing, GET or POST alike.

    `params` holds the request parameters flat, under their canonical names (`geneId`,
    `genomicAlleleShortForm`), with list values for `start`, `end` and `datasetIds`.
    """

    params: dict[str, Any] = field(default_factory=dict)
    filters: tuple[Filter, ...] = ()
    granularity: Granularity = Granularity.BOOLEAN
    include: str = "HIT"
    skip: int = 0
    limit: int = 10
    test_mode: bool = False
    requested_schemas: tuple[dict[str, str], ...] = ()

    def summary(self, api_version: str) -> dict[str, Any]:
        """meta.receivedRequestSummary: the request as understood, with parameters nested per entry type."""
        out: dict[str, Any] = {
            "apiVersion": api_version,
            "requestedSchemas": list(self.requested_schemas),
            "pagination": {"skip": self.skip, "limit": self.limit},
            "requestedGranularity": self.granularity.label,
            "includeResultsetResponses": self.include,
            "testMode": self.test_mode,
        }
        if self.filters:
            out["filters"] = [f.id for f in self.filters]
        if self.params:
            variant = {k: v for k, v in self.params.items() if k != "datasetIds"}
            nested: dict[str, Any] = {}
            if variant:
                nested["g_variant"] = variant
            if "datasetIds" in self.params:
                nested["datasets"] = {"datasetIds": self.params["datasetIds"]}
            out["requestParameters"] = nested
        return out
