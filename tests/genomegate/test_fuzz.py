"""Property-based fuzzing of the whole HTTP API with Schemathesis: every operation of /openapi.json and of the Beacon's
/beacon/v2/openapi.json, as five kinds of caller, answers without a 5xx, with a documented status and a body that
conforms to the documented schema. Bounded and derandomized: the same examples on every run."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from catalogue.runtime import Runtime
from genomegate.app import create_app
from tests.genomegate.conftest import CALLERS

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Small and seeded: each operation gets a handful of generated examples, the same ones every run (a deeper run:
# GENOMEGATE_FUZZ_EXAMPLES=50).
BOUNDED = settings(max_examples=int(os.environ.get("GENOMEGATE_FUZZ_EXAMPLES", "6")), deadline=None,
                   derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])


@pytest.fixture
def app(runtime: Runtime, seeded: dict[str, str]) -> FastAPI:
    return create_app(runtime=runtime)


@pytest.fixture
def api_schema(app: FastAPI) -> Any:
    return schemathesis.openapi.from_asgi("/openapi.json", app)


@pytest.fixture
def beacon_schema(app: FastAPI) -> Any:
    schema = schemathesis.openapi.from_asgi("/beacon/v2/openapi.json", app)
    schema.config.update(base_url="http://testserver/beacon/v2")
    return schema


def _exercise(case: Any, headers_for: Callable[[str], dict[str, str]], seeded: dict[str, str]) -> None:
    """The generated case as each caller, then (when it names objects) pointed at the seeded objects likewise."""
    for caller in CALLERS:
        case.call_and_validate(headers=headers_for(caller), checks=CHECKS)
    params = case.path_parameters or {}
    if any(name in seeded for name in params):
        case.path_parameters = {name: seeded.get(name, value) for name, value in params.items()}
        for caller in CALLERS:
            case.call_and_validate(headers=headers_for(caller), checks=CHECKS)


def _fuzz(schema: Any, headers_for: Callable[[str], dict[str, str]], seeded: dict[str, str]) -> list[str]:
    """Every operation of `schema`, with valid and with invalid input; what failed, one line per operation and mode.

    (Operations are driven from here rather than by Schemathesis' pytest plugin, whose subtests pytest 9 lacks.)
    """
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert operations
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = operation.as_strategy(generation_mode=mode)

            @BOUNDED
            @given(case=strategy)
            def check(case: Any) -> None:
                _exercise(case, headers_for, seeded)

            try:
                check()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE, f"{operation.label}: no valid input can be generated"
                # its schema leaves no way to be wrong (no parameters, or only free text)
            except (Exception, BaseExceptionGroup) as exc:  # every operation is tried; all failures reported at the end
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return failures


def test_the_api_never_fails_and_keeps_to_its_schema(api_schema: Any, seeded: dict[str, str],
                                                     headers_for: Callable[[str], dict[str, str]]) -> None:
    failures = _fuzz(api_schema, headers_for, seeded)
    assert not failures, "\n\n".join(failures)


def test_the_beacon_never_fails_and_keeps_to_its_schema(beacon_schema: Any, seeded: dict[str, str],
                                                        headers_for: Callable[[str], dict[str, str]]) -> None:
    failures = _fuzz(beacon_schema, headers_for, seeded)
    assert not failures, "\n\n".join(failures)
