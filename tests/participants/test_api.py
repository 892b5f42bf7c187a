"""The participant side through the real app, on SQLite and PostgreSQL, with tokens of the node's issuer."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
from typing import Any

import pysam
import pytest
from crypt4gh import sodium
from sqlalchemy import text
from sqlmodel import Session, select

from access.checkpoints import AuditKey
from access.models import AuditEvent
from catalogue.sample_tags import sample_tag
from catalogue.settings import Settings
from ingest.opt_outs import start_recounts
from participants.keys import participant_hash
from participants.models import LinkSheet, ParticipantLink
from participants.notices import queue_notices
from participants.proofs import LineProof, check_proof
from tests.factories import client_with
from tests.participants.conftest import ADMIN, ANNA, BEN, OTHER_STEWARD, RESEARCHER, STEWARD, World, link_sheet
from tests.workers import run_queued

ADDRESS = "anna.private@mail.example"


def _fetch(world: World, ticket: dict[str, Any]) -> bytes:
    blob = b""
    for entry in ticket["htsget"]["urls"]:
        if entry["url"].startswith("data:"):
            blob += base64.b64decode(entry["url"].split(",", 1)[1])
            continue
        response = world.client.get(entry["url"], headers=entry.get("headers", {}))
        assert response.status_code in (200, 206), response.text
        blob += response.content
    return blob


def _use_the_data(world: World) -> str:
    """Link, approve, release the file to the researcher and answer a record-level Beacon query; checkpoint."""
    assert world.upload(link_sheet(world)).status_code == 201
    request_id = world.approve()
    ticket = world.api("GET", f"/htsget/variants/{world.dataset}", RESEARCHER, params={"format": "VCF"})
    assert ticket.status_code == 200, ticket.text
    assert _fetch(world, ticket.json())
    secret = os.urandom(32)
    pem = ("-----BEGIN CRYPT4GH PUBLIC KEY-----\n" + base64.b64encode(bytes(sodium.derive_pk(secret))).decode()
           + "\n-----END CRYPT4GH PUBLIC KEY-----\n")
    assert world.api("POST", "/api/access/keys", RESEARCHER, json={"public_key": pem}).status_code == 201
    download = world.api("GET", f"/api/release/{world.dataset}/files/{world.file.id}", RESEARCHER,
                         params={"encryption": "crypt4gh"})
    assert download.status_code == 200, download.text
    variant = world.carried_variant(world.anna_sample)
    answer = world.api("GET", f"/beacon/v2/g_variants/{variant}/individuals", RESEARCHER,
                       params={"requestedGranularity": "record"})
    assert answer.status_code == 200, answer.text
    answer = world.api("GET", f"/beacon/v2/g_variants/{variant}", RESEARCHER, params={"requestedGranularity": "record"})
    assert answer.status_code == 200, answer.text
    bens = world.carried_variant(world.ben_sample, not_by=world.anna_sample)
    answer = world.api("GET", f"/beacon/v2/g_variants/{bens}", RESEARCHER, params={"requestedGranularity": "record"})
    assert answer.status_code == 200, answer.text
    world.checkpoint()
    return request_id


def _key(world: World) -> AuditKey:
    return AuditKey.from_jwk(world.client.get("/.well-known/genomegate/audit-key").json())


def test_link_sheets_are_for_the_datasets_stewards_kept_as_keyed_hashes_versioned_and_audited(
        world: World, session: Session) -> None:
    sheet = link_sheet(world)
    assert world.upload(sheet, who=OTHER_STEWARD).status_code == 403
    assert world.upload(sheet, who=RESEARCHER).status_code == 403
    assert world.upload(sheet, who=None).status_code == 401
    bad = world.upload("sample_id,participant_id\nNOT-A-SAMPLE,someone\n")
    assert bad.status_code == 422 and bad.json()["field"] == "sheet" and "someone" not in bad.text
    assert world.upload("sample,person\nS1,x\n").json()["field"] == "sheet"
    first = world.upload(sheet)
    assert first.status_code == 201 and first.json()["version"] == 1 and first.json()["links"] == 2
    second = world.upload(link_sheet(world, "\t").replace(f"{world.ben_sample}\t{BEN}\n", ""))
    assert second.status_code == 201 and second.json()["version"] == 2 and second.json()["links"] == 1
    history = world.api("GET", f"/api/datasets/{world.dataset}/link-sheets", STEWARD).json()
    assert [(s["version"], s["in_force"]) for s in history] == [(2, True), (1, False)]
    assert world.api("GET", f"/api/datasets/{world.dataset}/link-sheets", OTHER_STEWARD).status_code == 403
    key = world.runtime.settings.participant_key
    links = session.exec(select(ParticipantLink)).all()
    assert {(link.sample_id, link.participant_hash) for link in links} == {
        (world.anna_sample, participant_hash(key, ANNA)), (world.ben_sample, participant_hash(key, BEN)),
        (world.anna_sample, participant_hash(key, ANNA))}
    assert len(session.exec(select(LinkSheet)).all()) == 2
    lines = session.exec(select(AuditEvent).where(AuditEvent.action == "participants.link_sheet")).all()
    assert [(e.actor, e.details["version"], e.details["links"]) for e in lines] == [(STEWARD, 1, 2), (STEWARD, 2, 1)]
    # Ben is no longer linked: the sheet in force does not name him
    assert world.api("GET", "/api/participants/me", BEN).status_code == 404
    assert world.api("GET", "/api/participants/me", ANNA).status_code == 200


def test_a_participant_sees_exactly_their_datasets_approvals_and_uses_each_with_a_proof(world: World) -> None:
    request_id = _use_the_data(world)
    mine = world.api("GET", "/api/participants/me", ANNA)
    assert mine.status_code == 200, mine.text
    data = mine.json()
    assert [d["dataset_id"] for d in data["datasets"]] == [world.dataset]  # not the other dataset of the cohort
    assert data["datasets"][0]["samples"] == [world.anna_sample]
    assert data["datasets"][0]["conditions"][0]["curie"] == "DUO:0000042"
    assert data["datasets"][0]["dac_name"] == "Genome DAC"
    (decision,) = data["decisions"]
    permit = decision["permit"]
    assert (permit["request_id"], permit["applicant"], permit["organisation"], permit["state"]) == (
        request_id, RESEARCHER, "University of Utrecht", "active")
    assert permit["lay_summary"] == "Which variants change the heart's rhythm?" and permit["purpose"] == ["DUO:0000042"]
    actions = [u["action"] for u in data["uses"]]
    assert {"release.ticket", "release.block", "release.download", "beacon.record_query"} <= set(actions)
    assert all(u["approval"] == request_id for u in data["uses"])
    answers = [u for u in data["uses"] if u["action"] == "beacon.record_query"]
    assert len(answers) == 2 and all(u["samples"] == [world.anna_sample] for u in answers)
    beacon = answers[0]
    key = _key(world)
    for proof in [u["proof"] for u in data["uses"]] + [decision["proof"]]:
        assert proof is not None
        parsed = LineProof.model_validate(proof)
        assert check_proof(parsed, key).ok
        altered = parsed.model_copy(deep=True)
        altered.line.actor = "someone-else@uni.example"
        assert not check_proof(altered, key).ok
        hidden = parsed.model_copy(deep=True)
        hidden.line.details = {**hidden.line.details, "file": "GGF999"}
        assert not check_proof(hidden, key).ok
    one = world.api("GET", f"/api/participants/me/proofs/{beacon['line_id']}", ANNA)
    assert one.status_code == 200 and one.json() == beacon["proof"]
    assert world.api("GET", "/api/participants/me/proofs/1", ANNA).status_code == 404  # not a line of hers

    # Ben sees his own page, which shows a Beacon answer only when it showed his genotypes
    ben = world.api("GET", "/api/participants/me", BEN).json()
    bens = [u for u in ben["uses"] if u["action"] == "beacon.record_query"]
    assert bens and all(u["samples"] == [world.ben_sample] for u in bens)
    # the line names the samples it showed by keyed tags: his is there, and no sample id of anyone in clear
    for u in bens:
        shown = u["proof"]["line"]["details"]["samples"]
        assert sample_tag(world.runtime.settings.participant_key, u["dataset_id"], world.ben_sample) in shown
        assert world.ben_sample not in json.dumps(u["proof"]) and world.anna_sample not in json.dumps(u["proof"])
    assert any(u["line_id"] not in {a["line_id"] for a in answers} for u in bens)  # his variant's: not on hers
    for who in (STEWARD, ADMIN, RESEARCHER):
        assert world.api("GET", "/api/participants/me", who).status_code == 404
        assert world.api("GET", f"/api/participants/me/proofs/{beacon['line_id']}", who).status_code == 404
    assert world.api("GET", "/api/participants/me", None).status_code == 401


def test_proofs_wait_for_a_checkpoint(world: World) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    world.approve()
    (decision,) = world.api("GET", "/api/participants/me", ANNA).json()["decisions"]
    assert decision["proof"] is None
    assert world.api("GET", f"/api/participants/me/proofs/{decision['line_id']}", ANNA).status_code == 404
    world.checkpoint()
    (decision,) = world.api("GET", "/api/participants/me", ANNA).json()["decisions"]
    assert check_proof(LineProof.model_validate(decision["proof"]), _key(world)).ok


def _records(vcf_text: bytes, tmp: Any) -> list[tuple[str, int, str, tuple[str, ...], tuple[Any, ...]]]:
    path = tmp / "own.vcf"
    path.write_bytes(vcf_text)
    with pysam.VariantFile(str(path)) as vcf:
        return [(r.chrom, r.pos, r.ref, tuple(r.alts or ()), tuple(s["GT"] for s in r.samples.values()))
                for r in vcf]


def test_own_genotypes_equal_bcftools_view_and_the_download_is_audited_by_hash(
        world: World, session: Session, tmp_path: Any) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    (listed,) = world.api("GET", "/api/participants/me/genotypes", ANNA).json()
    assert (listed["file_id"], listed["sample_id"]) == (world.file.id, world.anna_sample)
    response = world.api("GET", f"/api/participants/me/genotypes/{world.file.id}", ANNA)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/vcf"), response.text
    oracle = subprocess.run(["bcftools", "view", "-s", world.anna_sample, world.file.uri], check=True,
                            capture_output=True).stdout
    ours = _records(response.content, tmp_path)
    assert ours == _records(oracle, tmp_path) and len(ours) > 100
    assert {gt for *_, gts in ours for gt in gts} != {(0, 0)}  # she carries something: the column is hers
    header = [line for line in response.text.splitlines() if line.startswith("#CHROM")]
    assert header[0].split("\t")[9:] == [world.anna_sample]
    line = session.exec(select(AuditEvent).where(AuditEvent.action == "participants.own_genotypes")).one()
    assert line.actor == f"participant:{participant_hash(world.runtime.settings.participant_key, ANNA)}"
    assert line.details == {"file": world.file.id, "sample": world.anna_sample, "format": "VCF"}
    assert world.api("GET", f"/api/participants/me/genotypes/{world.file.id}", ANNA,
                     params={"sample": world.ben_sample}).status_code == 404  # Ben's column is not hers
    for who in (STEWARD, RESEARCHER):
        assert world.api("GET", f"/api/participants/me/genotypes/{world.file.id}", who).status_code == 404


def test_opt_out_pending_then_applied_earlier_permits_unaffected_and_opting_in_restores(
        world: World, session: Session) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    world.approve()
    assert world.api("POST", "/api/participants/me/opt-out", ANNA, json={"datasets": [world.other]}).status_code == 404
    out = world.api("POST", "/api/participants/me/opt-out", ANNA, json={})
    assert out.status_code == 200 and out.json()["datasets"] == [world.dataset]
    state = world.api("GET", "/api/participants/me", ANNA).json()["datasets"][0]["opt_out"]
    assert (state["opted_out"], state["pending"], state["in_effect"]) == (True, True, False)
    assert start_recounts(session)
    run_queued(world.runtime.engine, world.runtime.settings)
    data = world.api("GET", "/api/participants/me", ANNA).json()
    state = data["datasets"][0]["opt_out"]
    assert (state["opted_out"], state["pending"], state["in_effect"]) == (True, False, True)
    assert [d["unaffected_by_opt_out"] for d in data["decisions"]] == [True]  # granted before: unaffected
    (applied,) = [u for u in data["uses"] if u["action"] == "dataset.opt_outs_applied"]
    assert applied["kind"] == "applied" and applied["dataset_id"] == world.dataset
    world.checkpoint()
    proof = world.api("GET", f"/api/participants/me/proofs/{applied['line_id']}", ANNA).json()
    assert check_proof(LineProof.model_validate(proof), _key(world)).ok
    # Ben asked for nothing: the job's run is not on his page
    assert not [u for u in world.api("GET", "/api/participants/me", BEN).json()["uses"]
                if u["action"] == "dataset.opt_outs_applied"]
    later = world.approve()
    decisions = {d["permit"]["request_id"]: d["unaffected_by_opt_out"]
                 for d in world.api("GET", "/api/participants/me", ANNA).json()["decisions"]}
    assert decisions[later] is False
    back = world.api("POST", "/api/participants/me/opt-in", ANNA, json={"datasets": [world.dataset]})
    assert back.status_code == 200
    assert start_recounts(session)
    run_queued(world.runtime.engine, world.runtime.settings)
    state = world.api("GET", "/api/participants/me", ANNA).json()["datasets"][0]["opt_out"]
    assert (state["opted_out"], state["pending"], state["in_effect"]) == (False, False, False)
    actors = {e.actor for e in session.exec(select(AuditEvent).where(
        AuditEvent.action.in_(["participants.opt_out", "participants.opt_in"])))}  # type: ignore[attr-defined]
    assert actors == {f"participant:{participant_hash(world.runtime.settings.participant_key, ANNA)}"}
    for who in (STEWARD, ADMIN):
        assert world.api("POST", "/api/participants/me/opt-out", who, json={}).status_code == 404


def test_the_open_register_lists_every_approval_without_personal_data(world: World) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    request_id = world.approve()
    (permit,) = world.api("GET", "/api/register/permits", None).json()
    assert (permit["request_id"], permit["dataset_id"], permit["organisation"], permit["state"]) == (
        request_id, world.dataset, "University of Utrecht", "active")
    assert permit["project_title"] == "Heart rhythm genes" and permit["purpose"] == ["DUO:0000042"]
    body = world.client.get("/api/register/permits").text
    for personal in (RESEARCHER, world.anna_sample, world.ben_sample, ANNA, BEN):
        assert personal not in body


def test_a_configured_claim_identifies_participants(world: World) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    client = client_with(world.runtime, participant_claim="national_id")
    issuer = world.runtime.issuer
    assert issuer is not None
    token = issuer.sign({"iss": issuer.issuer, "aud": issuer.audience, "sub": "opaque-4711", "national_id": ANNA,
                         "iat": 0, "nbf": 0, "exp": 2**31})
    mine = client.get("/api/participants/me", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200 and mine.json()["datasets"][0]["samples"] == [world.anna_sample]
    # under that setting, a token whose sub happens to be the identifier is not enough
    assert client.get("/api/participants/me", headers=world.auth(ANNA)).status_code == 404


def test_production_refuses_the_development_participant_key(tmp_path: Any) -> None:
    with pytest.raises(ValueError, match="GENOMEGATE_PARTICIPANT_KEY"):
        Settings(env="production", secret_key="s" * 40, data_dir=tmp_path)
    Settings(env="production", secret_key="s" * 40, participant_key="k" * 40, data_dir=tmp_path)


def test_identifiers_appear_nowhere_in_the_database(world: World, session: Session) -> None:
    _use_the_data(world)
    assert world.api("GET", "/api/participants/me", ANNA).status_code == 200
    assert world.api("GET", f"/api/participants/me/genotypes/{world.file.id}", ANNA).status_code == 200
    assert world.api("POST", "/api/participants/me/opt-out", ANNA, json={}).status_code == 200
    assert world.api("PUT", "/api/participants/me/notices", ANNA, json={"email": ADDRESS}).status_code == 200
    assert queue_notices(session) == 0 and world.approve() and queue_notices(session) == 1
    browser = world.client
    assert browser.post("/signin/local", data={"subject": ANNA, "next": "/my-data",
                                                "csrf_token": _csrf(world)}).status_code in (200, 303)
    assert browser.get("/my-data").status_code == 200
    engine = world.runtime.engine
    engine.dispose()
    if engine.url.get_backend_name() == "sqlite":
        raw = b""
        for suffix in ("", "-wal", "-journal"):
            path = f"{engine.url.database}{suffix}"
            try:
                with open(path, "rb") as handle:
                    raw += handle.read()
            except FileNotFoundError:
                continue
        assert raw and world.anna_sample.encode() in raw  # the search reads the data
        for identifier in (ANNA, BEN, ADDRESS):
            assert identifier.encode() not in raw and identifier.encode("utf-16-le") not in raw
    else:
        url = engine.url
        dump = subprocess.run(["pg_dump", "-h", url.host or "127.0.0.1", "-p", str(url.port or 5432),
                               "-U", url.username or "postgres", "-d", url.database or ""],
                              check=True, capture_output=True).stdout
        assert world.anna_sample.encode() in dump
        for identifier in (ANNA, BEN, ADDRESS):
            assert identifier.encode() not in dump
        with Session(engine) as fresh:
            tables = fresh.exec(text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).all()  # type: ignore[call-overload]
            for (table,) in tables:
                hits = fresh.exec(text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :needle'),  # type: ignore[call-overload]
                                  params={"needle": f"%{ANNA}%"}).one()
                assert hits[0] == 0, table
                hits = fresh.exec(text(f'SELECT count(*) FROM "{table}" t WHERE t::text LIKE :needle'),  # type: ignore[call-overload]
                                  params={"needle": f"%{ADDRESS}%"}).one()
                assert hits[0] == 0, table


def _csrf(world: World) -> str:
    import re

    match = re.search(r'<meta name="csrf-token" content="([^"]+)">', world.client.get("/signin").text)
    assert match
    return match.group(1)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append({"message": record.getMessage(), **getattr(record, "fields", {})})


def test_the_access_log_names_a_participant_by_hash(world: World) -> None:
    assert world.upload(link_sheet(world)).status_code == 201
    handler = _Lines()
    access_log = logging.getLogger("genomegate.http")
    access_log.addHandler(handler)
    try:
        assert world.api("GET", "/api/participants/me", ANNA).status_code == 200
        assert world.api("GET", f"/api/participants/me/genotypes/{world.file.id}", ANNA).status_code == 200
    finally:
        access_log.removeHandler(handler)
    requests = [entry for entry in handler.lines if entry["message"] == "request"]
    assert len(requests) == 2
    digest = participant_hash(world.runtime.settings.participant_key, ANNA)
    assert {entry["subject"] for entry in requests} == {f"participant:{digest}"}
    assert all(ANNA not in json.dumps(entry) for entry in handler.lines)


def test_sheets_uploaded_at_once_get_distinct_versions_or_a_conflict(world: World, session: Session) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sheet = link_sheet(world)
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: world.upload(sheet).status_code, range(4)))
    assert set(statuses) <= {201, 409, 503} and 201 in statuses, statuses
    versions = [s.version for s in session.exec(select(LinkSheet)).all()]
    assert sorted(versions) == list(range(1, statuses.count(201) + 1))
    in_force = world.api("GET", f"/api/datasets/{world.dataset}/link-sheets", STEWARD).json()
    assert [s["in_force"] for s in in_force].count(True) == 1
