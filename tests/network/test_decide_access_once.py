"""Decide access once (the Federated EGA pattern) between real nodes: node A holds a dataset whose DAC sits at node
B; a researcher applies at B (the dataset known from B's harvest of A's catalogue), B's DAC approves, and B's
visa gets the researcher record-level Beacon answers and an htsget region (equal to `bcftools view -r`) from A.
The same through B's network Beacon, which passes A the visas B issues for the caller. Other issuers' visas, and
B's visas for A's other datasets, are refused at A; after a revocation at B the researcher is refused at A once
the visa expires (through the network Beacon, at once)."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from access.release.client import FetchError, fetch
from catalogue.models import Role, SecurityLevel
from catalogue.tokens import LocalIssuer
from ingest.synthetic import simulate_cohort, write_sample_sheet
from network.harvest import harvest_peers
from tests.conftest import PostgresDatabases
from tests.factories import grant, make_dac, make_dataset
from tests.ingest._tools import bcftools, bcftools_counts
from tests.network.nodes import Node, nodes

RESEARCHER = "researcher@uni.example"
MEMBER = "member@national-dac.example"
LIFETIME = 10  # seconds a visa from B's DAC lives, short so that the test waits little for a revocation to reach A
REGION = "chr1:1-40000"


def _claims(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]


def _bearer(token: str, passport: list[str] | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if passport:
        headers["X-GA4GH-Passport"] = ",".join(passport)
    return headers


def _apply_and_get_approved(a: Node, b: Node, dataset_id: str) -> str:
    """The researcher applies at B for A's dataset, named by its URL at A; B's DAC approves. The request's id."""
    researcher, url = b.token(RESEARCHER), f"{a.url}/api/datasets/{dataset_id}"
    body = {"project_title": "Rare cardiac variants", "purpose": ["HMB"], "datasets": [url]}
    created = httpx.post(f"{b.url}/api/access/requests", json=body, headers=_bearer(researcher))
    assert created.status_code == 201, created.text
    request_id = created.json()["id"]
    steps = [("PATCH", f"/requests/{request_id}", researcher, {"accept_agreements": {url: "1"}}),
             ("POST", f"/requests/{request_id}/submit", researcher, None),
             ("POST", f"/requests/{request_id}/decision", b.token(MEMBER), {"decision": "approve"})]
    for method, path, token, payload in steps:
        response = httpx.request(method, f"{b.url}/api/access{path}", json=payload, headers=_bearer(token))
        assert response.status_code == 200, response.text
    return str(request_id)


def _passport(b: Node) -> list[str]:
    response = httpx.get(f"{b.url}/api/access/passport", headers=_bearer(b.token(RESEARCHER)))
    assert response.status_code == 200, response.text
    return list(response.json()["ga4gh_passport_v1"])


def _snv(path: Path, folder: Path) -> tuple[int, str, str]:
    """An SNV of chromosome 1 inside REGION that bcftools counts in the file (the Beacon's oracle)."""
    snvs = sorted((pos, ref, alt) for (chrom, pos, ref, alt), counts in bcftools_counts(path, folder).items()
                  if chrom == "1" and pos <= 40_000 and len(ref) == len(alt) == 1 and counts[0] > 0)
    assert snvs, "the cohort has SNVs in the region"
    return snvs[0]


def _records(beacon: str, dataset_id: str, snv: tuple[int, str, str], headers: dict[str, str]) -> dict[str, Any]:
    """A record-level query for one allele of the dataset, at a Beacon (a node's, or a network Beacon)."""
    pos, ref, alt = snv
    query = {"referenceName": "1", "start": pos - 1, "referenceBases": ref, "alternateBases": alt,
             "assemblyId": "GRCh38", "datasetIds": dataset_id, "requestedGranularity": "record"}
    response = httpx.get(f"{beacon}/g_variants", params=query, headers=headers, timeout=10)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _verify(a: Node, token: str, passport: list[str]) -> dict[str, Any]:
    response = httpx.post(f"{a.url}/api/access/passport/verify", json={"passport": passport}, headers=_bearer(token))
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _ticket_status(a: Node, dataset_id: str, headers: dict[str, str]) -> int:
    return httpx.get(f"{a.url}/htsget/variants/{dataset_id}", params={"referenceName": "chr1", "start": 0,
                                                                      "end": 40_000}, headers=headers).status_code


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_researcher_approved_by_the_dac_at_b_gets_records_and_a_region_from_a_until_revoked(
        tmp_path: Path, backend: str, request: pytest.FixtureRequest) -> None:
    database: Callable[[str], str] | None = None
    if backend == "postgres":
        postgres: PostgresDatabases = request.getfixturevalue("postgres")
        database = lambda _name: postgres.create()  # noqa: E731
    cohort = simulate_cohort(tmp_path / "a.vcf.gz", samples=6, variants_per_contig=120, contigs=("1",), seed=31)
    with nodes(tmp_path / "nodes", ["a", "b"], database_url=database, federated_visa_lifetime=LIFETIME,
               visa_leeway_seconds=0) as [a, b]:
        held = a.publish([cohort.path], samples=write_sample_sheet(tmp_path / "a.tsv", cohort),
                         security=SecurityLevel.CONTROLLED, title="Cardiac cohort")
        with a.session() as session:  # another CONTROLLED dataset of A, decided by A's own DAC
            decided_here = make_dataset(session, organisation_id=held.organisation_id, dac_id=held.dac_id,
                                        security=SecurityLevel.CONTROLLED, dua_text="use it well", publish=True,
                                        title="Local cohort")
        with b.session() as session:
            dac = make_dac(session, name="National DAC", contact_email="dac@national.example")
            grant(session, MEMBER, Role.dac_member, dac=dac.id)
        # A's operator names B's DAC for the dataset (B's issuer and jku by default)
        a.cli("dataset", "remote-dac", held.id, "--node", b.url, "--dac", dac.id)
        shown = json.loads(a.cli("dataset", "remote-dac", held.id, "--json").stdout)
        assert (shown["dac_url"], shown["visa_issuer"], shown["jku"]) == (
            f"{b.url}/api/dacs/{dac.id}", b.url, f"{b.url}/.well-known/jwks.json")
        # A trusts B's sign-in (one identity across the network, as a shared login would give)
        a.start(trusted_issuers=[{"issuer": b.url, "audience": b.settings.token_audience,
                                  "jwks_url": f"{b.url}/.well-known/jwks.json"}])
        b.start()
        b.cli("network", "add", a.url, "--forward", "passport")
        [harvested] = harvest_peers(b.runtime.engine, b.settings)
        assert harvested.ok and harvested.datasets == 2, harvested
        snv = _snv(cohort.path, tmp_path)
        expected = bcftools("view", "-H", "-r", REGION, cohort.path)

        # B's page of the harvested dataset offers to apply here (B's DAC decides it); not for A's own-DAC dataset
        page = httpx.get(f"{b.url}/network/datasets/{harvested.peer_id}/{held.id}")
        assert page.status_code == 200 and 'data-testid="apply-here"' in page.text
        assert f"/requests/new?dataset={quote(f'{a.url}/api/datasets/{held.id}')}" in page.text
        form = httpx.get(f"{b.url}/requests/new", params={"dataset": f"{a.url}/api/datasets/{held.id}"},
                         follow_redirects=False)
        assert form.status_code in (302, 303, 401)  # the form is for signed-in researchers
        other_page = httpx.get(f"{b.url}/network/datasets/{harvested.peer_id}/{decided_here.id}")
        assert other_page.status_code == 200 and 'data-testid="apply-here"' not in other_page.text

        # the researcher applies at B; B's DAC decides; B's visa names the dataset's URL at A, short-lived
        _apply_and_get_approved(a, b, held.id)
        refused_here = httpx.post(f"{b.url}/api/access/requests", headers=_bearer(b.token(RESEARCHER)), json={
            "project_title": "P", "purpose": ["HMB"], "datasets": [f"{a.url}/api/datasets/{decided_here.id}"]})
        assert refused_here.status_code == 422 and "apply there" in refused_here.json()["detail"]
        passport = _passport(b)
        [grant_visa] = [v for v in passport if _claims(v)["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants"]
        assert _claims(grant_visa)["ga4gh_visa_v1"]["value"] == f"{a.url}/api/datasets/{held.id}"
        assert _claims(grant_visa)["exp"] - _claims(grant_visa)["iat"] == LIFETIME

        # directly at A, with B's token and B's visa: record-level answers and the region
        token = b.token(RESEARCHER)
        plain = _records(a.beacon, held.id, snv, _bearer(token))
        assert plain["meta"]["returnedGranularity"] == "boolean"
        answered = _records(a.beacon, held.id, snv, _bearer(token, passport))
        assert answered["meta"]["returnedGranularity"] == "record", answered
        [result_set] = answered["response"]["resultSets"]
        assert [r["variantInternalId"] for r in result_set["results"]] == [f"GRCh38:1:{snv[0]}:{snv[1]}:{snv[2]}"]
        out = tmp_path / "region.vcf.gz"
        fetch(a.url, held.id, token=token, passport=passport, region=REGION, out=out)
        assert expected and bcftools("view", "-H", out) == expected
        with pytest.raises(FetchError, match="403"):
            fetch(a.url, held.id, token=token, region=REGION, out=tmp_path / "refused.vcf.gz")

        # refused at A: B's visa for a dataset whose DAC is not B's, and visas of other issuers for A's dataset
        assert b.runtime.issuer is not None
        now = int(time.time())

        def signed(issuer: LocalIssuer, dataset_id: str, jku: str) -> str:
            return issuer.sign({"iss": issuer.issuer, "sub": RESEARCHER, "iat": now, "exp": now + LIFETIME,
                                "jti": f"{issuer.issuer}-{dataset_id}", "ga4gh_visa_v1": {
                                    "type": "ControlledAccessGrants", "asserted": now - 10, "by": "dac",
                                    "value": f"{a.url}/api/datasets/{dataset_id}"}}, jku=jku)

        b_jku = f"{b.url}/.well-known/jwks.json"
        stranger = LocalIssuer(tmp_path / "stranger.json", issuer="http://127.0.0.1:9", audience="x")
        cases = {
            "B for a dataset A decides": (signed(b.runtime.issuer, decided_here.id, b_jku), "trusted only for"),
            "another issuer": (signed(stranger, held.id, "http://127.0.0.1:9/jwks.json"), "is not trusted here"),
            "B's issuer with another jku": (signed(b.runtime.issuer, held.id, f"{a.url}/.well-known/jwks.json"),
                                            "is not trusted here"),
        }
        for case, (visa, reason) in cases.items():
            result = _verify(a, token, [visa])
            assert result["datasets"] == {} and reason in result["rejected"][0]["reason"], (case, result)
        assert _ticket_status(a, decided_here.id, _bearer(token, [cases["B for a dataset A decides"][0]])) == 403
        assert _ticket_status(a, held.id, _bearer(token, [cases["another issuer"][0]])) == 403
        assert _verify(a, token, passport)["datasets"] == {held.id: _claims(grant_visa)["jti"]}
        assert time.time() < _claims(grant_visa)["exp"], "the checks above ran within the visa's life"

        # through B's network Beacon: B passes A the visas it issues for the caller (A is configured for passports)
        through = _records(f"{b.url}/network/beacon/v2", held.id, snv, _bearer(token))
        [node_a] = [n for n in through["info"]["network"]["nodes"] if n["beaconId"] == "org.genomegate.a"]
        assert node_a["status"] == "answered" and node_a["returnedGranularity"] == "record", through["info"]
        [from_a] = [rs for rs in through["response"]["resultSets"] if rs["beaconId"] == "org.genomegate.a"]
        assert [r["variantInternalId"] for r in from_a["results"]] == [f"GRCh38:1:{snv[0]}:{snv[1]}:{snv[2]}"]

        # a ticket given on the visa ends with it
        ticket = httpx.get(f"{a.url}/htsget/variants/{held.id}", params={"referenceName": "chr1", "start": 0,
                           "end": 40_000}, headers=_bearer(token, passport))
        assert ticket.status_code == 200, ticket.text
        [block] = [u for u in ticket.json()["htsget"]["urls"] if not u["url"].startswith("data:")][:1]

        # B's DAC revokes: B issues no new visa for it; the one issued works at A until it expires, then not
        member = _bearer(b.token(MEMBER))
        [entitlement] = httpx.get(f"{b.url}/api/access/entitlements", params={"scope": "dac"}, headers=member).json()
        revoked = httpx.post(f"{b.url}/api/access/entitlements/{entitlement['id']}/revoke", headers=member,
                             json={"reason": "the project ended early"})
        assert revoked.status_code == 200, revoked.text
        assert not [v for v in _passport(b) if _claims(v)["ga4gh_visa_v1"]["type"] == "ControlledAccessGrants"]
        # through the network Beacon at once (B passes on no grant any more), directly once the visa expired
        through = _records(f"{b.url}/network/beacon/v2", held.id, snv, _bearer(token))
        [node_a] = [n for n in through["info"]["network"]["nodes"] if n["beaconId"] == "org.genomegate.a"]
        assert node_a["returnedGranularity"] == "boolean", through["info"]
        time.sleep(max(0.0, _claims(grant_visa)["exp"] - time.time() + 1.5))
        assert _records(a.beacon, held.id, snv, _bearer(token, passport))["meta"]["returnedGranularity"] == "boolean"
        assert _ticket_status(a, held.id, _bearer(token, passport)) == 403
        assert httpx.get(block["url"], headers=block.get("headers") or {}).status_code in (401, 403)
        expired = _verify(a, token, passport)
        assert expired["datasets"] == {} and any("expired" in r["reason"] or "refused" in r["reason"]
                                                 for r in expired["rejected"])
