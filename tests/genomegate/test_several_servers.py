"""Two `genomegate serve` processes on one PostgreSQL database answer as one node.

Real processes (`python -m genomegate serve --port ...`), one database, one data dir (signing key and file store,
as a shared filesystem would give separate machines), one public base URL (the address a load balancer answers
on). Requests go to both at once from several threads: access requests created on either server are read and
decided on the other, Beacon queries run on both while entitlements change, and afterwards every accession is
unique, every decision is seen everywhere, and the audit chain (appended to by both processes) verifies.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlmodel import Session

from catalogue.identity import Caller
from catalogue.models import Role
from catalogue.runtime import build_runtime
from catalogue.settings import Settings
from genomegate.schema import upgrade
from ingest.services import run_job, start_ingestion
from ingest.synthetic import simulate_cohort
from tests.factories import grant, make_dac, make_dataset, make_organisation
from tests.serving import free_port

OPERATOR = Caller.cli_operator()
BASE_URL = "http://genomegate.example.org"  # both servers' public address (behind one load balancer)
APPLICANTS = [f"researcher{i}@example.org" for i in range(6)]


def _wait_ready(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server on {url} exited with {process.returncode}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server on {url} did not answer within {seconds} s")


@pytest.fixture
def node(new_database_url: Callable[[str], str], tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A node's database (a published CONTROLLED cohort, a DAC, an admin) and two servers on it."""
    url = new_database_url("postgres")
    settings = Settings(data_dir=tmp_path / "data", database_url=url, public_base_url=BASE_URL,
                        import_dir=tmp_path / "import")
    runtime = build_runtime(settings)
    upgrade(runtime.engine)
    cohort = simulate_cohort(tmp_path / "cohort.vcf.gz", samples=20, variants_per_contig=200, contigs=("1",), seed=3)
    with Session(runtime.engine, expire_on_commit=False) as session:
        org = make_organisation(session)
        dac = make_dac(session)
        grant(session, "dac1@example.org", Role.dac_member, dac=dac.id)
        grant(session, "admin@example.org", Role.admin)
        dataset = make_dataset(session, organisation_id=org.id, title="HMB cohort", dac_id=dac.id, duo=["HMB"],
                               security="CONTROLLED", dua_text="Use it well.", dua_version="1", publish=True,
                               count_threshold=0, privacy_p=0.0)
        job = start_ingestion(session, OPERATOR, dataset.id, files=[cohort.path])
    assert run_job(runtime.engine, job.id, store_root=settings.store_root).state == "succeeded"
    with runtime.engine.connect() as conn:
        alleles = [tuple(r) for r in conn.execute(text(
            "SELECT chrom, pos, ref, alt FROM catalogue_variant WHERE ac > 0 AND alt NOT LIKE '<%' ORDER BY pos "
            "LIMIT 20"))]
    env = {**os.environ, "GENOMEGATE_DATA_DIR": str(settings.data_dir), "GENOMEGATE_DATABASE_URL": url,
           "GENOMEGATE_PUBLIC_BASE_URL": BASE_URL, "GENOMEGATE_IMPORT_DIR": str(settings.import_root),
           "GENOMEGATE_LOG_LEVEL": "WARNING"}
    servers: list[tuple[str, subprocess.Popen[bytes]]] = []
    try:
        for _ in range(2):
            port = free_port()
            process = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", str(port)], env=env,
                                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            servers.append((f"http://127.0.0.1:{port}", process))
        for server_url, process in servers:
            _wait_ready(server_url, process)
        assert runtime.issuer is not None
        yield {"urls": [u for u, _ in servers], "issuer": runtime.issuer, "dataset": dataset.id, "alleles": alleles,
               "engine": runtime.engine}
    finally:
        for _, process in servers:
            process.terminate()
        for _, process in servers:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        runtime.engine.dispose()


class _PatientClient(httpx.Client):
    """Does what a 503's Retry-After asks, as a well-behaved client would: a server whose database connections are
    all busy says so at once (nothing done), and on a loaded machine eight threads may find them so."""

    def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        for _ in range(5):
            response = super().send(request, **kwargs)
            if response.status_code != 503 or "Retry-After" not in response.headers:
                return response
            response.close()
            time.sleep(float(response.headers["Retry-After"]))
        return super().send(request, **kwargs)


def test_two_servers_on_one_database_answer_as_one_node(node: dict[str, Any]) -> None:
    a, b = node["urls"]
    issuer = node["issuer"]
    dataset_id = node["dataset"]
    headers = {who: {"Authorization": f"Bearer {issuer.issue(who)}"}
               for who in [*APPLICANTS, "dac1@example.org", "admin@example.org"]}
    clients = {url: _PatientClient(base_url=url, timeout=30) for url in (a, b)}

    def beacon(url: str, who: str | None, allele: tuple[str, int, str, str]) -> dict[str, Any]:
        chrom, pos, ref, alt = allele
        response = clients[url].get("/beacon/v2/g_variants", headers=headers.get(who or "", {}), params={
            "referenceName": chrom, "start": pos - 1, "referenceBases": ref, "alternateBases": alt,
            "requestedGranularity": "record"})
        assert response.status_code == 200, response.text
        return dict(response.json())

    def journey(i: int) -> tuple[str, str]:
        """Researcher i: draft and submit on one server, decided on the other, read back on the first."""
        who, here, there = APPLICANTS[i], (a, b)[i % 2], (b, a)[i % 2]
        created = clients[here].post("/api/access/requests", headers=headers[who], json={
            "project_title": f"Study {i}", "lay_summary": "We study heart disease.", "purpose": ["HMB"],
            "institution": "University", "datasets": [dataset_id]})
        assert created.status_code == 201, created.text
        request_id = str(created.json()["id"])
        patched = clients[there].patch(f"/api/access/requests/{request_id}", headers=headers[who],
                                       json={"accept_agreements": {dataset_id: "1"}})
        assert patched.status_code == 200, patched.text
        submitted = clients[here].post(f"/api/access/requests/{request_id}/submit", headers=headers[who])
        assert submitted.status_code == 200, submitted.text
        decision = "approve" if i % 3 else "reject"
        decided = clients[there].post(f"/api/access/requests/{request_id}/decision",
                                      headers=headers["dac1@example.org"],
                                      json={"decision": decision, "reason": "Reviewed by the DAC"})
        assert decided.status_code == 200, decided.text
        seen = clients[here].get(f"/api/access/requests/{request_id}", headers=headers[who])
        assert seen.status_code == 200 and seen.json()["state"] == ("approved" if i % 3 else "rejected"), seen.text
        # The entitlement the other server granted rules this server's Beacon answer at once.
        answer = beacon(here, who, node["alleles"][i])
        assert answer["meta"]["returnedGranularity"] == ("record" if i % 3 else "boolean"), answer["meta"]
        return request_id, decision

    def anonymous_queries(url: str) -> int:
        answered = 0
        for allele in node["alleles"]:
            document = beacon(url, None, allele)
            assert document["responseSummary"]["exists"] is True  # CONTROLLED: anonymous callers get a yes
            assert document["meta"]["returnedGranularity"] == "boolean"
            answered += 1
        return answered

    with ThreadPoolExecutor(max_workers=8) as pool:
        journeys = [pool.submit(journey, i) for i in range(len(APPLICANTS))]
        queries = [pool.submit(anonymous_queries, url) for url in (a, b)]
        decided = [f.result() for f in journeys]
        assert sum(f.result() for f in queries) == 2 * len(node["alleles"])

    ids = [request_id for request_id, _ in decided]
    assert len(set(ids)) == len(APPLICANTS)  # accessions handed out by two processes never collide
    for url in (a, b):  # both servers list every decision the same way
        queue = clients[url].get("/api/access/requests", params={"scope": "dac"}, headers=headers["dac1@example.org"])
        assert queue.status_code == 200, queue.text
        states = {r["id"]: r["state"] for r in queue.json()}
        assert {i: states[i] for i in ids} == {i: "approved" if d == "approve" else "rejected" for i, d in decided}
        chain = clients[url].get("/api/access/audit/verify", headers=headers["admin@example.org"])
        assert chain.status_code == 200 and chain.json()["ok"] is True, chain.text
    for client in clients.values():
        client.close()
