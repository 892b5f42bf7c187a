"""Validate DCAT-AP JSON-LD against the official DCAT-AP 3.0.1 SHACL shapes in ../shared, offline, with pyshacl."""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from pyshacl import validate
from rdflib import Graph, Namespace
from rdflib.namespace import RDF

from tests.conftest import need_shared

__all__ = ["SHAPE_FILES", "Report", "shacl_report"]

SH = Namespace("http://www.w3.org/ns/shacl#")
# The mandatory constraints, the classes values must have, and the recommended properties (warnings). The
# vocabulary files name EU authority tables that cannot be fetched here.
SHAPE_FILES = ("shapes.ttl", "range.ttl", "shapes_recommended.ttl")


@dataclass(frozen=True)
class Report:
    violations: list[str]  # "focus node  path  message", one per result
    warnings: list[str]

    def __str__(self) -> str:
        return "\n".join(["violations:", *self.violations, "warnings:", *self.warnings])


@cache
def _shapes(root: Path) -> Graph:
    graph = Graph()
    for name in SHAPE_FILES:
        graph.parse(root / name, format="turtle")
    return graph


def shacl_report(document: dict[str, Any]) -> Report:
    """The SHACL results of a JSON-LD document (its @context inline) against the DCAT-AP 3.0.1 shapes."""
    shapes = _shapes(need_shared("spec", "dcat-ap-3.0.1"))
    with warnings.catch_warnings():  # rdflib 7 warns of its own ConjunctiveGraph, which pyshacl still uses
        warnings.simplefilter("ignore", DeprecationWarning)
        data = Graph().parse(data=json.dumps(document), format="json-ld")
        _, results, _ = validate(data, shacl_graph=shapes, inference="none", advanced=True, allow_warnings=True)
    out: dict[str, list[str]] = {"Violation": [], "Warning": [], "Info": []}
    for result in results.subjects(RDF.type, SH.ValidationResult):
        severity = str(results.value(result, SH.resultSeverity)).rsplit("#", 1)[1]
        line = (f"{results.value(result, SH.focusNode)}  {results.value(result, SH.resultPath)}  "
                f"{results.value(result, SH.resultMessage)}")
        out[severity].append(line)
    return Report(sorted(out["Violation"]), sorted(out["Warning"]))
