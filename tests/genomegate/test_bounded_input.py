"""Bounded input through the real app: body limits, malformed JSON, out-of-range numbers and ids, long lists and NUL
are refused with a 4xx in the route's own format (problem+json, Beacon envelope, htsget JSON), quoting little."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import httpx2
import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlmodel import Session

from catalogue.models import Role
from catalogue.runtime import Runtime
from ingest.models import IngestionCreate
from tests.factories import grant, make_dac, make_dataset, make_organisation
from tests.serving import serving_node

Auth = Callable[[str], dict[str, str]]
MiB = 1 << 20
TOO_BIG = 2**63  # one past BIGINT


def _deep(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def problem(response: httpx2.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:500]
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    return body


def beacon_error(response: httpx2.Response, status: int) -> str:
    assert response.status_code == status, response.text[:500]
    body = response.json()
    assert set(body) == {"meta", "error"} and body["error"]["errorCode"] == status
    assert body["meta"]["beaconId"]
    return str(body["error"]["errorMessage"])


def htsget_error(response: httpx2.Response, status: int, name: str | None = None) -> str:
    assert response.status_code == status, response.text[:500]
    error = response.json()["htsget"]
    assert error["error"] == (name or ("PayloadTooLarge" if status == 413 else "InvalidInput"))  # htsget's names
    return str(error["message"])


# Routes of each error format: (path, checker of a 4xx answer that returns its message)
def _problem_message(response: httpx2.Response, status: int) -> str:
    return str(problem(response, status)["detail"])


FORMATS: list[tuple[str, Callable[[httpx2.Response, int], str]]] = [
    ("/api/datasets", _problem_message),
    ("/api/access/requests", _problem_message),
    ("/beacon/v2/g_variants", beacon_error),
    ("/beacon/v2/individuals", beacon_error),
    ("/htsget/variants/GGD00000001", htsget_error),
]


@pytest.fixture
def world(session: Session) -> dict[str, Any]:
    org = make_organisation(session)
    dac = make_dac(session)
    dataset = make_dataset(session, organisation_id=org.id, dac_id=dac.id, duo=["HMB"], security="CONTROLLED",
                           dua_text="Use it well.", dua_version="1", publish=True)
    grant(session, "admin@example.org", Role.admin)
    grant(session, "steward@example.org", Role.steward, org=org.id)
    return {"org": org.id, "dac": dac.id, "dataset": dataset.id}


# --- body size --------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "check"), FORMATS)
def test_a_body_over_the_limit_is_refused_from_content_length_in_the_routes_format(
        client: TestClient, path: str, check: Callable[[httpx2.Response, int], str]) -> None:
    body = b'{"filler": "' + b"x" * (2 * MiB) + b'"}'
    message = check(client.post(path, content=body, headers={"Content-Type": "application/json"}), 413)
    assert "at most 1,048,576 bytes" in message and f"{len(body):,}" in message
    assert len(message) < 200


@pytest.mark.parametrize(("path", "check"), FORMATS)
def test_a_chunked_body_is_refused_once_it_passes_the_limit(
        client: TestClient, path: str, check: Callable[[httpx2.Response, int], str]) -> None:
    sent: list[int] = []

    def chunks() -> Iterator[bytes]:
        yield b'{"filler": "'
        for _ in range(64):  # 4 MiB if all were read
            sent.append(1)
            yield b"x" * (64 * 1024)
        yield b'"}'

    response = client.post(path, content=chunks(), headers={"Content-Type": "application/json"})
    assert "at most 1,048,576 bytes" in check(response, 413)


def test_an_attachment_has_its_own_limit_and_the_api_limit_does_not_apply_to_it(
        client: TestClient, runtime: Runtime, world: dict[str, Any], auth: Auth) -> None:
    created = client.post("/api/access/requests", headers=auth("r@example.org"), json={
        "project_title": "P", "lay_summary": "L", "purpose": ["HMB"], "institution": "U",
        "datasets": [world["dataset"]]})
    assert created.status_code == 201, created.text
    url = f"/api/access/requests/{created.json()['id']}/attachments?filename=plan.txt"
    text = b"a plan\n" * (2 * MiB // 7)  # over the JSON limit, under the attachments'
    ok = client.post(url, content=text, headers={**auth("r@example.org"), "Content-Type": "text/plain"})
    assert ok.status_code == 201, ok.text
    huge = b"\xff" * (runtime.settings.attachment_max_bytes + 128 * 1024)  # past the limit and the multipart room
    refused = client.post(url, content=huge, headers={**auth("r@example.org"), "Content-Type": "text/plain"})
    assert "at most" in problem(refused, 413)["detail"]


# --- malformed JSON ---------------------------------------------------------------------------------------

@pytest.mark.parametrize(("path", "check"), FORMATS)
def test_json_nested_1000_deep_is_refused_before_it_is_parsed(
        client: TestClient, path: str, check: Callable[[httpx2.Response, int], str], auth: Auth) -> None:
    body = b'{"query": {"filters": ' + _deep(1000) + b"}}"
    response = client.post(path, content=body, headers={**auth("r@example.org"), "Content-Type": "application/json"})
    assert "nested more than 32 levels deep" in check(response, 400)


def test_json_nested_to_the_limit_is_parsed(client: TestClient) -> None:
    body = b'{"query": {"filters": ' + _deep(30) + b"}}"  # 32 levels with the two objects around it
    message = beacon_error(client.post("/beacon/v2/g_variants", content=body), 400)
    assert message.startswith("filters:")  # the parser's own verdict, not the depth limit's


@pytest.mark.parametrize(("path", "check"), FORMATS)
def test_a_body_that_is_not_utf8_is_refused(
        client: TestClient, path: str, check: Callable[[httpx2.Response, int], str], auth: Auth) -> None:
    body = '{"format": "VCF", "referenceName": "chré"}'.encode("latin-1")
    response = client.post(path, content=body, headers={**auth("r@example.org"), "Content-Type": "application/json"})
    assert "not UTF-8" in check(response, 400)


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
def test_nul_and_lone_surrogates_in_an_ingestion_path_are_refused(
        client: TestClient, world: dict[str, Any], auth: Auth, escape: str) -> None:
    body = f'{{"files": ["cohort{escape}.vcf.gz"]}}'.encode()
    response = client.post(f"/api/datasets/{world['dataset']}/ingestions", content=body,
                           headers={**auth("steward@example.org"), "Content-Type": "application/json"})
    assert escape in problem(response, 400)["detail"]


def test_a_surrogate_pair_is_a_character_and_passes(client: TestClient, world: dict[str, Any], auth: Auth) -> None:
    body = b'{"files": ["cohort\\ud83e\\uddec.vcf.gz"]}'  # a DNA emoji, escaped as JSON does
    response = client.post(f"/api/datasets/{world['dataset']}/ingestions", content=body,
                           headers={**auth("steward@example.org"), "Content-Type": "application/json"})
    assert "cohort\U0001f9ec.vcf.gz" in problem(response, 404)["detail"]  # passed the door; the file is not there


@pytest.mark.parametrize("path", ["cohort\x00.vcf", "cohort\ud800.vcf"])
def test_an_ingestion_refuses_paths_no_file_system_can_hold(path: str) -> None:
    with pytest.raises(ValidationError, match="files.0"):
        IngestionCreate.model_validate({"files": [path]})
    with pytest.raises(ValidationError, match="samples"):
        IngestionCreate.model_validate({"files": ["a.vcf"], "samples": path})


@pytest.mark.parametrize(("url", "check"), [
    ("/api/datasets/GGD%0000001", _problem_message),
    ("/api/datasets?q=a%00b", _problem_message),
    ("/beacon/v2/g_variants?referenceName=1%00&start=5", beacon_error),
    ("/htsget/variants/GGD%00", htsget_error),
])
def test_a_nul_in_the_url_is_refused(client: TestClient, url: str, check: Callable[[httpx2.Response, int], str]
                                     ) -> None:
    assert "NUL" in check(client.get(url), 400)


# --- numbers, ids, lists -------------------------------------------------------------------------------------

def test_an_offset_past_bigint_is_refused_naming_it(client: TestClient) -> None:
    body = problem(client.get(f"/api/datasets?offset={TOO_BIG}"), 422)
    assert body["errors"][0]["field"] == "query.offset"
    assert problem(client.get("/api/datasets?offset=1000001"), 422)["errors"][0]["field"] == "query.offset"
    assert client.get("/api/datasets?offset=1000000").status_code == 200


@pytest.mark.parametrize("skip", [TOO_BIG, 10**30, 1_000_001])
def test_a_beacon_skip_past_the_limit_is_refused_naming_it(client: TestClient, skip: int) -> None:
    message = beacon_error(client.get(f"/beacon/v2/g_variants?referenceName=1&start=5&skip={skip}"), 400)
    assert message.startswith("skip:")
    body = {"query": {"requestParameters": {"referenceName": "1", "start": [5]}, "pagination": {"skip": skip}}}
    assert beacon_error(client.post("/beacon/v2/g_variants", json=body), 400).startswith("skip:")
    assert beacon_error(client.post("/beacon/v2/individuals", json=body), 400).startswith("skip:")


def test_a_beacon_position_past_bigint_is_refused_naming_it(client: TestClient) -> None:
    message = beacon_error(client.get(f"/beacon/v2/g_variants?referenceName=1&start={TOO_BIG}"), 400)
    assert message.startswith("start:")


def test_a_thousand_duo_terms_are_refused_naming_the_facet(client: TestClient) -> None:
    terms = ",".join(f"DUO:{i:07d}" for i in range(1000))
    body = problem(client.get(f"/api/datasets?duo={terms}"), 422)
    assert body["field"] == "duo" and "at most" in body["detail"]
    assert len(body["detail"]) < 200


def test_a_beacon_request_with_many_filters_is_refused_at_once_quoting_little(client: TestClient) -> None:
    filters = ["DUO:0000042"] * 60_000  # under 1 MiB
    started = time.perf_counter()
    message = beacon_error(client.post("/beacon/v2/g_variants", json={"query": {"filters": filters}}), 400)
    assert time.perf_counter() - started < 2
    assert message.startswith("filters:") and "at most" in message and len(message) < 200


def test_a_beacon_error_quotes_an_excerpt_of_a_huge_value(client: TestClient) -> None:
    body = {"query": {"requestParameters": {"referenceName": "1", "start": ["x" * 500_000]}}}
    message = beacon_error(client.post("/beacon/v2/g_variants", json=body), 400)
    assert message.startswith("start:") and len(message) < 200


def test_a_validation_error_lists_ten_errors_and_quotes_no_input(client: TestClient, auth: Auth) -> None:
    body = {"passport": [i for i in range(500)]}  # 500 wrong items
    response = client.post("/api/access/passport/verify", json=body, headers=auth("r@example.org"))
    document = problem(response, 422)
    assert len(document["errors"]) == 10 and "and 490 more" in document["detail"]
    assert "input" not in json.dumps(document["errors"])


@pytest.mark.parametrize("too_big", [TOO_BIG, 2**31])  # past BIGINT; past INTEGER, the id columns' type
@pytest.mark.parametrize(("method", "path", "field"), [
    ("POST", "/api/access/entitlements/{}/revoke", "path.entitlement_id"),
    ("DELETE", "/api/admin/roles/{}", "path.grant_id"),
])
def test_a_path_id_past_the_id_column_is_refused_naming_it(client: TestClient, world: dict[str, Any], auth: Auth,
                                                           method: str, path: str, field: str, too_big: int) -> None:
    response = client.request(method, path.format(too_big), headers=auth("admin@example.org"),
                              json={"reason": "misuse"})
    assert problem(response, 422)["errors"][0]["field"] == field
    largest = client.request(method, path.format(2**31 - 1), headers=auth("admin@example.org"),
                             json={"reason": "misuse"})
    assert problem(largest, 404)


def test_htsget_refuses_too_many_regions(client: TestClient, world: dict[str, Any], auth: Auth) -> None:
    regions = [{"referenceName": "chr1", "start": i, "end": i + 1} for i in range(1_001)]
    response = client.post(f"/htsget/variants/{world['dataset']}", json={"regions": regions},
                           headers=auth("r@example.org"))
    assert "at most" in htsget_error(response, 400)


# --- responsiveness ---------------------------------------------------------------------------------------

def _raw_request(url: str, head: str) -> tuple[socket.socket, bytes]:
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=5)
    sock.sendall(head.encode())
    return sock, sock.recv(65536)


@pytest.mark.serial
def test_a_huge_declared_body_is_answered_before_it_is_sent_and_health_stays_prompt(runtime: Runtime) -> None:
    """Deterministic: the 413 arrives while the client has sent none of its 32 MB, so no work on the body can
    stall anyone; and /healthz answers while that connection, and a chunked one trickling, stay open."""
    with serving_node(runtime) as url:
        declared, answer = _raw_request(url, "POST /beacon/v2/g_variants HTTP/1.1\r\nHost: x\r\n"
                                             "Content-Type: application/json\r\nContent-Length: 33554432\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert b'"errorCode":413' in answer
        chunked = socket.create_connection(tuple(url.removeprefix("http://").split(":")), timeout=5)  # type: ignore[arg-type]
        chunked.sendall(b"POST /beacon/v2/g_variants HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                        b"Content-Type: application/json\r\n\r\n")
        stop = threading.Event()

        def trickle() -> None:
            chunk = b"10000\r\n" + b" " * 0x10000 + b"\r\n"
            try:
                while not stop.is_set():
                    chunked.sendall(chunk)
            except OSError:
                pass  # the server answered 413 and closed

        feeder = threading.Thread(target=trickle)
        feeder.start()
        try:
            with httpx.Client(base_url=url, timeout=5) as http:
                for _ in range(5):
                    started = time.perf_counter()
                    assert http.get("/healthz").status_code == 200
                    assert time.perf_counter() - started < 1.5  # prompt; room for a shared 2-core machine
            assert chunked.recv(65536).startswith(b"HTTP/1.1 413")
        finally:
            stop.set()
            feeder.join(timeout=5)
            declared.close()
            chunked.close()


@pytest.mark.parametrize("field", ["security", "title", "keywords", "count_threshold"])
def test_a_patch_that_nulls_a_required_field_is_refused_naming_it(client: TestClient, world: dict[str, Any],
                                                                  auth: Auth, field: str) -> None:
    """Found by the fuzz: `{"security": null}` was a 500 (and a null title a NOT NULL violation)."""
    response = client.patch(f"/api/datasets/{world['dataset']}", json={field: None},
                            headers=auth("steward@example.org"))
    assert problem(response, 422)["errors"][0]["field"] == field
    cleared = client.patch(f"/api/datasets/{world['dataset']}", json={"contact_email": None},
                           headers=auth("steward@example.org"))
    assert cleared.status_code == 200, cleared.text


def test_the_openapi_documents_each_error_in_its_routes_format(client: TestClient) -> None:
    """What the door and the handlers send is what the OpenAPI says, per route family (the fuzz checks responses
    against it)."""
    document = client.get("/openapi.json").json()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    operations = {(method.upper(), path): op for path, item in document["paths"].items() for method, op in item.items()}
    for (method, path), operation in operations.items():
        responses = operation["responses"]
        assert "400" in responses and ("413" in responses) == (method in ("POST", "PUT", "PATCH", "DELETE")), path
        media = "application/json" if path.startswith("/htsget") else "application/problem+json"
        assert media in responses["400"]["content"], (method, path)
        if path.startswith("/htsget"):
            assert "422" not in responses  # htsget answers failed validation with 400 InvalidInput
    assert "401" in operations[("GET", "/api/me")]["responses"]
    assert "401" not in operations[("GET", "/api/organisations")]["responses"]  # it never reads the caller
    assert "404" in operations[("GET", "/api/datasets/{dataset_id}")]["responses"]
    assert {"403", "409"} <= set(operations[("POST", "/api/datasets/{dataset_id}/publish")]["responses"])
    beacon = client.get("/beacon/v2/openapi.json").json()["paths"]
    assert {"400", "401", "403", "413", "429"} <= set(beacon["/g_variants"]["post"]["responses"])
    assert beacon["/g_variants"]["post"]["operationId"] != beacon["/g_variants"]["get"]["operationId"]
