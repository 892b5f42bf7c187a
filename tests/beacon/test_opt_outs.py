"""After an opt-out is applied, the Beacon's record-level answers and `individuals` leave the sample out; its counts
are the recount's; before the job nothing changed; opting back in restores everything. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from catalogue.models import Dataset, SecurityLevel, Variant, utcnow
from catalogue.runtime import Runtime
from catalogue.services import opt_outs
from ingest.opt_outs import start_recounts
from tests.beacon.conftest import Cohort
from tests.beacon.test_api import check
from tests.factories import make_entitlement
from tests.workers import run_queued

B = "/beacon/v2"


def _apply(runtime: Runtime, session: Session) -> None:
    assert start_recounts(session)
    run_queued(runtime.engine, runtime.settings)


def _snapshot(client: TestClient, headers: dict[str, str], dataset_id: str, sample: str,
              vids: list[str]) -> dict[str, Any]:
    """What an entitled caller sees of the dataset: its individuals, the sample's own record and variants, and
    the carriers and counts of some variants the sample carries."""
    def get(path: str, **params: Any) -> dict[str, Any]:
        r = client.get(f"{B}{path}", params={"requestedGranularity": "record", **params},
                       headers=headers)
        assert r.status_code in (200, 404), r.text
        body: dict[str, Any] = r.json()
        if r.status_code == 200:
            check(body)
        else:  # an individual the caller may not know of (any more)
            assert body["error"]["errorCode"] == 404 and path == f"/individuals/{sample}", body
        return body

    def ids(body: dict[str, Any]) -> list[str]:
        return sorted(x.get("id") or x["caseLevelData"][0]["individualId"]
                      for rs in body.get("response", {}).get("resultSets", []) for x in rs["results"])

    listed = get("/individuals", limit=100)
    own = get(f"/individuals/{sample}")
    own_variants = get(f"/individuals/{sample}/g_variants", referenceName="1", start=0, end=10_000_000, limit=100)
    carriers, counts = {}, {}
    for vid in vids:
        carriers[vid] = ids(get(f"/g_variants/{vid}/individuals", limit=100))
        record = get(f"/g_variants/{vid}")
        sets = record["response"]["resultSets"] if record.get("response") else []
        counts[vid] = [(rs["info"].get("alleleCount"), sorted(c["individualId"] for r in rs["results"]
                                                              for c in r.get("caseLevelData", [])))
                       for rs in sets]
    return {"individuals": ids(listed), "total": listed["responseSummary"].get("numTotalResults"),
            "own": ids(own), "own_variants": own_variants["responseSummary"].get("numTotalResults", 0),
            "carriers": carriers, "counts": counts}


def test_record_level_answers_and_individuals_leave_an_applied_opt_out_out_and_opting_in_restores(
        client: TestClient, session: Session, runtime: Runtime, make_beacon_dataset: Callable[..., Dataset],
        cohort: Cohort, auth: Callable[[str], dict[str, str]]) -> None:
    target = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled", count_threshold=0,
                                 beacon_granularity="record")
    make_entitlement(session, "alice", target.id)
    headers = auth("alice")
    sample = cohort.cohort.samples[5]
    carried = [v for v in session.exec(select(Variant).where(Variant.dataset_id == target.id, Variant.ac > 0,
                                                             Variant.chrom == "1")).all()][:40]
    vids = [f"GRCh38:{v.chrom}:{v.pos}:{v.ref}:{v.alt}" for v in carried]
    before = _snapshot(client, headers, target.id, sample, vids)
    assert sample in before["individuals"] and before["own"] == [sample] and before["own_variants"] > 0
    mine = [vid for vid in vids if sample in before["carriers"][vid]]
    assert mine, "the sample carries some of the variants looked at"

    opt_outs.request_opt_out(session, target.id, [sample], at=utcnow())
    assert _snapshot(client, headers, target.id, sample, vids) == before  # pending: nothing changed yet

    _apply(runtime, session)
    after = _snapshot(client, headers, target.id, sample, vids)
    assert after["individuals"] == [s for s in before["individuals"] if s != sample]
    assert after["total"] == before["total"] - 1
    assert after["own"] == [] and after["own_variants"] == 0
    for vid in vids:
        assert after["carriers"][vid] == [s for s in before["carriers"][vid] if s != sample]
        assert all(sample not in individuals for _count, individuals in after["counts"][vid])
    with Session(runtime.engine) as s:  # counts are the recount's: the carriers listed add up to them
        for v in carried:
            fresh = s.get(Variant, (target.id, v.chrom, v.pos, v.ref, v.alt))
            assert fresh is not None
            vid = f"GRCh38:{v.chrom}:{v.pos}:{v.ref}:{v.alt}"
            assert fresh.het + fresh.hom_alt + fresh.hemi_alt == len(after["carriers"][vid])
            if vid in mine:
                assert fresh.ac < v.ac
            assert [count for count, _ in after["counts"][vid]] == ([fresh.ac] if fresh.ac else [])

    opt_outs.request_opt_in(session, target.id, [sample], at=utcnow())
    _apply(runtime, session)
    assert _snapshot(client, headers, target.id, sample, vids) == before
