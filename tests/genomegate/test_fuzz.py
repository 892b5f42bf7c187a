"""Property-based fuzzing of the whole HTTP API with Schemathesis: every operation of /openapi.json and of the Beacon's
/beacon/v2/openapi.json, as five kinds of caller, answers without a 5xx, with a documented status and a body that
conforms to the documented schema. Bounded and derandomized: the same examples on every run."""

from __future__ import annotations

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
from sqlmodel import Session, select

from access.models import AccessRequest
from catalogue.models import Role, RoleGrant
from catalogue.runtime import Runtime
from genomegate.app import create_app
from tests.factories import grant, make_dac, make_dataset, make_entitlement, make_organisation

# Callers, each a subject with its roles in the seeded world (None: anonymous).
CALLERS: dict[str, str | None] = {
    "anonymous": None,
    "researcher": "researcher@example.org",
    "dac_member": "dac@example.org",
    "steward": "steward@example.org",
    "admin": "admin@example.org",
}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
# Small and seeded: each operation gets a handful of generated examples, the same ones every run.
BOUNDED = settings(max_examples=6, deadline=None, derandomize=True, database=None,
                   phases=[Phase.explicit, Phase.generate],
                   suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                          HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])


def _seed(session: Session) -> dict[str, str]:
    """A lab with a steward, a DAC with a member, a public and a controlled dataset, a researcher's approved
    request and entitlement: the ids path parameters are pointed at, so operations reach real objects."""
    org = make_organisation(session)
    dac = make_dac(session)
    grant(session, "admin@example.org", Role.admin)
    grant(session, "steward@example.org", Role.steward, org=org.id)
    grant(session, "dac@example.org", Role.dac_member, dac=dac.id)
    make_dataset(session, organisation_id=org.id, title="Open panel", publish=True)
    controlled = make_dataset(session, organisation_id=org.id, title="Cohort", dac_id=dac.id, duo=["HMB"],
                              security="CONTROLLED", dua_text="Use it well.", dua_version="1", publish=True)
    entitlement = make_entitlement(session, "researcher@example.org", controlled.id)
    request = session.get(AccessRequest, entitlement.request_id)
    role_grant = session.exec(select(RoleGrant).where(RoleGrant.subject == "dac@example.org")).one()
    assert request is not None
    return {"dataset_id": controlled.id, "organisation_id": org.id, "dac_id": dac.id, "request_id": request.id,
            "entitlement_id": str(entitlement.id), "grant_id": str(role_grant.id)}


@pytest.fixture(scope="session")
def db_backend() -> str:
    """One backend: the fuzz covers the HTTP layer; the regression tests run its findings on both backends."""
    return "postgres"


@pytest.fixture
def seeded(session: Session) -> dict[str, str]:
    return _seed(session)


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


@pytest.fixture
def headers_for(runtime: Runtime) -> Callable[[str], dict[str, str]]:
    assert runtime.issuer is not None
    issuer = runtime.issuer

    def headers(caller: str) -> dict[str, str]:
        subject = CALLERS[caller]
        return {"Authorization": f"Bearer {issuer.issue(subject)}"} if subject else {}

    return headers


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
