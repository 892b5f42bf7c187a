"""The privacy budget over HTTP: prices, refusals (403 too revealing, 429 spent), repeats, ranges, organisations,
anonymous callers, record rights, persistence across apps, operators' view and the audit, on both databases."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from access.models import AuditEvent
from beacon.answers import Reason
from beacon.privacy.domain import RARE_AF, answer_cost, budget, haplotypes
from beacon.privacy.models import PrivacyLedger
from beacon.privacy.services import Gate
from beacon.request import from_query
from beacon.services import answer_variants
from catalogue.identity import Caller
from catalogue.models import Assembly, Dataset, ReferenceAllele, SecurityLevel
from catalogue.runtime import Runtime
from ingest.reference_af import load_reference_af
from tests.beacon.conftest import Cohort
from tests.factories import client_with, grant, make_entitlement

B = "/beacon/v2/g_variants"
OPERATOR = Caller.cli_operator()
# A larger budget than the default (bound 0.25 at alpha 0.05): the 40-person test cohort then has enough alleles
# that cost a sizeable part of it. The attack suite (tests/beacon/privacy) runs at the default.
P = 0.2


@dataclass(frozen=True)
class Panel:
    """Alleles of the test cohort by what a question about them costs on a dataset of its 40 samples."""

    dataset: Dataset
    common: list[ReferenceAllele]  # practically free
    medium: list[ReferenceAllele]  # between a sixth and a half of the budget each
    rare: list[ReferenceAllele]  # more than the whole budget: never answered
    rare_priced: list[ReferenceAllele]  # rarer than RARE_AF in the panel yet within the budget, dearest first


def _cost(allele: ReferenceAllele, samples: int) -> float:
    return answer_cost(allele.af_lower, haplotypes(samples, allele.chrom))


@pytest.fixture
def panel(session: Session, make_beacon_dataset: Callable[..., Dataset], cohort: Cohort) -> Panel:
    dataset = make_beacon_dataset(SecurityLevel.REGISTERED, "Budgeted cohort", privacy_p=P, count_threshold=0)
    loaded = load_reference_af(session, OPERATOR, cohort.cohort.path, assembly=Assembly.GRCh38)
    assert loaded > 0
    samples = len(cohort.cohort.samples)
    limit = budget(P)
    query = select(ReferenceAllele).where(col(ReferenceAllele.chrom).in_(["1", "2"]), ReferenceAllele.ac > 0,
                                          ~col(ReferenceAllele.alt).startswith("<"))
    alleles = session.exec(query.order_by(col(ReferenceAllele.chrom), col(ReferenceAllele.pos))).all()
    common = [a for a in alleles if _cost(a, samples) < 1e-6]
    medium = [a for a in alleles if limit / 6 < _cost(a, samples) <= limit / 2]
    rare = [a for a in alleles if _cost(a, samples) > limit]
    assert len(common) >= 5 and len(medium) >= 7 and len(rare) >= 2, (len(common), len(medium), len(rare))
    rare_priced = sorted((a for a in alleles if a.af_lower < RARE_AF and _cost(a, samples) <= limit),
                         key=lambda a: -_cost(a, samples))
    return Panel(dataset, common, medium, rare, rare_priced)


def _params(allele: ReferenceAllele, dataset: Dataset, **extra: Any) -> dict[str, Any]:
    return {"referenceName": allele.chrom, "start": allele.pos - 1, "referenceBases": allele.ref,
            "alternateBases": allele.alt, "datasetIds": dataset.id, "requestedGranularity": "count", **extra}


def _token(runtime: Runtime, subject: str, affiliation: str | None = None) -> dict[str, str]:
    assert runtime.issuer is not None
    return {"Authorization": f"Bearer {runtime.issuer.issue(subject, affiliation=affiliation)}"}


def _ledger(session: Session, holder_end: str, dataset_id: str) -> PrivacyLedger:
    session.expire_all()
    rows = session.exec(select(PrivacyLedger).where(col(PrivacyLedger.holder).endswith(holder_end),
                                                    PrivacyLedger.dataset_id == dataset_id)).all()
    assert len(rows) == 1, rows
    return rows[0]


def _spend(client: TestClient, headers: dict[str, str], panel: Panel) -> list[int]:
    """Ask medium-cost questions until the budget is spent; the statuses in order."""
    statuses = []
    for allele in panel.medium:
        response = client.get(B, params=_params(allele, panel.dataset), headers=headers)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    return statuses


def _new_rare(panel: Panel) -> ReferenceAllele:
    """A question about a rare allele that `_spend` never asks: a locked budget refuses it."""
    return next(a for a in panel.rare_priced if a not in panel.medium)


def test_an_answer_is_boolean_and_charged_once(client: TestClient, runtime: Runtime, session: Session,
                                               panel: Panel) -> None:
    headers = _token(runtime, "reader")
    allele = panel.medium[0]
    first = client.get(B, params=_params(allele, panel.dataset), headers=headers)
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["meta"]["returnedGranularity"] == "boolean"  # counts would leak past the bound
    assert body["responseSummary"]["exists"] is True
    assert "numTotalResults" not in body["responseSummary"]
    spent = _ledger(session, "|reader", panel.dataset.id).spent
    assert spent == pytest.approx(_cost(allele, 40))
    again = client.get(B, params=_params(allele, panel.dataset, start=allele.pos - 1), headers=headers)
    assert again.json()["responseSummary"] == body["responseSummary"]
    assert _ledger(session, "|reader", panel.dataset.id).spent == pytest.approx(spent)  # the same question, once


def test_a_too_revealing_question_is_refused_without_locking_the_account(
        client: TestClient, runtime: Runtime, session: Session, panel: Panel) -> None:
    headers = _token(runtime, "curious")
    refused = client.get(B, params=_params(panel.rare[0], panel.dataset), headers=headers)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["errorCode"] == 403 and "record-level rights" in error["errorMessage"]
    assert refused.json()["meta"]["returnedGranularity"] == "boolean"
    assert client.get(B, params=_params(panel.common[0], panel.dataset), headers=headers).status_code == 200
    ledger = _ledger(session, "|curious", panel.dataset.id)
    assert ledger.refused == 1 and ledger.locked_at is None


def test_a_spent_budget_refuses_the_whole_account_with_429(client: TestClient, runtime: Runtime, session: Session,
                                                           panel: Panel) -> None:
    headers = _token(runtime, "spender")
    statuses = _spend(client, headers, panel)
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200} and 2 <= len(statuses) - 1 <= 5, statuses
    new = client.get(B, params=_params(_new_rare(panel), panel.dataset), headers=headers)
    assert new.status_code == 429, "a spent account is refused a new question about a rare allele"
    body = new.json()
    assert body["error"]["errorCode"] == 429 and "does not renew" in body["error"]["errorMessage"]
    assert "Retry-After" not in new.headers
    repeat = client.get(B, params=_params(panel.medium[0], panel.dataset), headers=headers)
    assert repeat.status_code == 200 and repeat.json()["responseSummary"]["exists"] is True  # asked before
    ledger = _ledger(session, "|spender", panel.dataset.id)
    assert ledger.locked_at is not None and ledger.spent <= budget(P)
    other = client.get(B, params=_params(panel.medium[0], panel.dataset),
                       headers=_token(runtime, "someone-else", "elsewhere.example"))
    assert other.status_code == 200, "another account (of another organisation) has its own budget"


def test_retry_after_says_when_a_renewing_budget_comes_back(runtime: Runtime, panel: Panel) -> None:
    client = client_with(runtime, privacy_renew_days=7)
    headers = _token(runtime, "weekly")
    _spend(client, headers, panel)
    refused = client.get(B, params=_params(_new_rare(panel), panel.dataset), headers=headers)
    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert 7 * 86_400 - 120 <= seconds <= 7 * 86_400
    assert "spent until" in refused.json()["error"]["errorMessage"]


def test_accounts_of_one_organisation_share_its_cap(client: TestClient, runtime: Runtime, session: Session,
                                                    panel: Panel) -> None:
    first = _token(runtime, "lab-a-1", affiliation="lab-a.example.org")
    second = _token(runtime, "lab-a-2", affiliation="lab-a.example.org")
    outsider = _token(runtime, "lab-b-1", affiliation="lab-b.example.org")
    assert _spend(client, first, panel)[-1] == 429
    colleague = client.get(B, params=_params(panel.medium[-1], panel.dataset), headers=second)
    assert colleague.status_code == 429 and "organisation's" in colleague.json()["error"]["errorMessage"]
    assert client.get(B, params=_params(panel.medium[-1], panel.dataset), headers=outsider).status_code == 200
    org = _ledger(session, "org:lab-a.example.org", panel.dataset.id)
    assert org.kind == "organisation" and org.locked_at is not None
    pooled = client_with(runtime, privacy_org_budgets=2.0)
    assert pooled.get(B, params=_params(panel.medium[-1], panel.dataset),
                      headers=_token(runtime, "lab-c-2", affiliation="lab-c.example.org")).status_code == 200


def test_a_range_costs_what_its_most_common_allele_costs(client: TestClient, runtime: Runtime, session: Session,
                                                         panel: Panel) -> None:
    headers = _token(runtime, "ranger")
    common = panel.common[0]
    around = {"referenceName": "1", "start": common.pos - 1, "end": common.pos, "datasetIds": panel.dataset.id}
    answered = client.get(B, params=around, headers=headers)
    assert answered.status_code == 200 and answered.json()["responseSummary"]["exists"] is True
    assert _ledger(session, "|ranger", panel.dataset.id).spent < 1e-6
    cheaper = panel.common + panel.medium
    rare = next(a for a in panel.rare if a.chrom == "1" and not any(
        c.chrom == "1" and c.pos <= a.pos <= c.end for c in cheaper))  # a position only rare alleles reach
    alone = {"referenceName": "1", "start": rare.pos - 1, "end": rare.pos, "datasetIds": panel.dataset.id}
    assert client.get(B, params=alone, headers=headers).status_code == 403
    empty = {"referenceName": "1", "start": 10, "end": 20, "datasetIds": panel.dataset.id}
    assert client.get(B, params=empty, headers=headers).status_code == 403, "no public allele there: unknown"


def test_anonymous_callers_are_refused_genotype_datasets_by_default(
        client: TestClient, runtime: Runtime, session: Session, panel: Panel,
        make_beacon_dataset: Callable[..., Dataset]) -> None:
    public = make_beacon_dataset(SecurityLevel.PUBLIC, "Public genotypes", privacy_p=P, count_threshold=0)
    response = client.get(B, params=_params(panel.common[0], public))
    assert response.status_code == 200
    body = response.json()
    assert body["responseSummary"]["exists"] is False
    assert body["info"]["excludedDatasets"] == [{"datasetId": public.id, "reason": (
        "it holds individuals' genotypes and answers signed-in callers only, within a privacy budget")}]
    by_address = client_with(runtime, privacy_anonymous="budget", privacy_anonymous_p=0.9)
    answered = by_address.get(B, params=_params(panel.common[0], public))
    assert answered.status_code == 200 and answered.json()["responseSummary"]["exists"] is True
    assert _ledger(session, "addr:testclient", public.id).kind == "address"
    statuses = [by_address.get(B, params=_params(a, public)).status_code for a in panel.medium[:3]]
    assert statuses == [403] * 3, "one address's budget (p = 0.9) is smaller than an account's: too small for these"
    assert by_address.get(B, params=_params(panel.common[1], public)).status_code == 200


def test_aggregated_data_answers_anyone_with_counts(client: TestClient, session: Session, tmp_path: Any,
                                                    make_beacon_dataset: Callable[..., Dataset],
                                                    panel: Panel) -> None:
    from ingest.synthetic import simulate_cohort

    sites = simulate_cohort(tmp_path / "sites.vcf.gz", samples=40, variants_per_contig=250, contigs=("1", "2"),
                            seed=11, include_x=True, multiallelic_rate=0.05, indel_rate=0.15, sv_rate=0.03,
                            sites_only=True)
    aggregated = make_beacon_dataset(SecurityLevel.PUBLIC, "Allele counts only", privacy_p=0.625,
                                     count_threshold=0, files=Cohort(sites, None))  # type: ignore[arg-type]
    assert aggregated.statistics["samples"] == 0
    response = client.get(B, params=_params(panel.rare[0], aggregated))
    assert response.status_code == 200
    assert response.json()["meta"]["returnedGranularity"] == "count"
    assert response.json()["responseSummary"]["numTotalResults"] == 1


def test_record_rights_are_not_budgeted(client: TestClient, runtime: Runtime, session: Session, panel: Panel,
                                        make_beacon_dataset: Callable[..., Dataset]) -> None:
    controlled = make_beacon_dataset(SecurityLevel.CONTROLLED, "Controlled budgeted", privacy_p=P)
    make_entitlement(session, "entitled", controlled.id)
    headers = _token(runtime, "entitled")
    for allele in panel.rare[:2] + panel.medium:
        response = client.get(B, params=_params(allele, controlled, requestedGranularity="record"), headers=headers)
        assert response.status_code == 200 and response.json()["meta"]["returnedGranularity"] == "record"
    session.expire_all()
    assert not session.exec(select(PrivacyLedger).where(PrivacyLedger.dataset_id == controlled.id)).all()


def test_budgets_persist_across_restarts_and_are_shared_between_workers(runtime: Runtime, panel: Panel) -> None:
    headers = _token(runtime, "persistent")
    worker_a, worker_b = client_with(runtime), client_with(runtime)
    statuses = []
    for i, allele in enumerate(panel.medium):
        statuses.append((worker_a if i % 2 else worker_b).get(B, params=_params(allele, panel.dataset),
                                                             headers=headers).status_code)
        if statuses[-1] == 429:
            break
    assert statuses[-1] == 429
    restarted = client_with(runtime)
    assert restarted.get(B, params=_params(_new_rare(panel), panel.dataset), headers=headers).status_code == 429


def test_without_a_reference_panel_every_allele_is_unknown(client: TestClient, runtime: Runtime, session: Session,
                                                           panel: Panel) -> None:
    from sqlalchemy import delete

    session.execute(delete(ReferenceAllele))
    session.commit()
    response = client.get(B, params=_params(panel.common[0], panel.dataset), headers=_token(runtime, "early"))
    assert response.status_code == 403


def test_operators_see_budgets_refusals_and_alerts(runtime: Runtime, session: Session, panel: Panel) -> None:
    client = client_with(runtime, privacy_alert_rare=2)
    headers = _token(runtime, "suspect")
    for allele in panel.rare[:2]:
        assert client.get(B, params=_params(allele, panel.dataset), headers=headers).status_code == 403
    _spend(client, headers, panel)
    grant(session, "root", "admin")
    assert client.get("/api/admin/privacy", headers=_token(runtime, "nosy")).status_code == 403
    assert client.get("/api/admin/privacy").status_code == 401
    rows = client.get("/api/admin/privacy", params={"holder": "suspect"}, headers=_token(runtime, "root")).json()
    assert len(rows) == 1
    row = rows[0]
    assert row["locked_at"] and row["alerted_at"] and row["refused"] == 3 and row["rare"] == 2
    assert row["budget"] == pytest.approx(-math.log(P)) and row["remaining"] < row["budget"] / 2
    flagged = client.get("/api/admin/privacy", params={"alerts": "true"}, headers=_token(runtime, "root")).json()
    assert [r["holder"] for r in flagged] == [row["holder"]]
    session.expire_all()
    actions = session.exec(select(AuditEvent.action, AuditEvent.details).where(
        AuditEvent.dataset_id == panel.dataset.id)).all()
    refusals = [d for a, d in actions if a == "beacon.privacy_refused"]
    assert sorted(d["reason"] for d in refusals) == ["budget_spent", "too_revealing", "too_revealing"]
    assert any(a == "beacon.privacy_alert" for a, _ in actions)


def test_privacy_status_cli(runtime: Runtime, panel: Panel, monkeypatch: pytest.MonkeyPatch,
                            capsys: pytest.CaptureFixture[str]) -> None:
    client = client_with(runtime)
    _spend(client, _token(runtime, "cli-spender"), panel)
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(runtime.settings.data_dir))
    monkeypatch.setenv("GENOMEGATE_DATABASE_URL", runtime.settings.database_url)
    from genomegate.cli import main

    with pytest.raises(SystemExit) as done:
        main(["privacy", "status", "--subject", "cli-spender", "--json"])
    assert done.value.code in (0, None)
    rows = json.loads(capsys.readouterr().out)
    assert rows[0]["holder"].endswith("|cli-spender") and rows[0]["locked_at"]


@pytest.fixture
def low_count(make_beacon_dataset: Callable[..., Dataset]) -> Iterator[Dataset]:
    yield make_beacon_dataset(SecurityLevel.PUBLIC, "Threshold only", privacy_p=0.0, count_threshold=1_000)


def test_the_small_count_display_rule_never_flips_exists(client: TestClient, low_count: Dataset,
                                                         panel: Panel) -> None:
    allele = panel.common[0]
    body = client.get(B, params=_params(allele, low_count)).json()
    assert body["responseSummary"]["exists"] is True
    assert body["meta"]["returnedGranularity"] == "boolean"
    assert body["info"]["datasets"][0]["countBelowThreshold"] == 1_000


def test_racing_requests_of_one_account_never_overspend(runtime: Runtime, session: Session, panel: Panel) -> None:
    import threading

    headers = _token(runtime, "racer")
    workers = [client_with(runtime) for _ in panel.medium[:6]]
    for i, worker in enumerate(workers):  # each app builds its route models on its first request, not in the race
        warm = _token(runtime, f"warm-{i}", f"warm-{i}.example")
        assert worker.get(B, params=_params(panel.common[0], panel.dataset), headers=warm).status_code == 200
    barrier = threading.Barrier(len(workers))
    statuses: dict[int, int] = {}

    def ask(i: int) -> None:
        barrier.wait()
        statuses[i] = workers[i].get(B, params=_params(panel.medium[i], panel.dataset), headers=headers).status_code

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert set(statuses.values()) <= {200, 429} and 429 in statuses.values(), statuses
    answered = [panel.medium[i] for i, status in statuses.items() if status == 200]
    ledger = _ledger(session, "|racer", panel.dataset.id)
    assert ledger.spent == pytest.approx(sum(_cost(a, 40) for a in answered))
    assert ledger.spent <= budget(P) + 1e-12 and ledger.answered == len(answered)


def test_stewards_set_a_datasets_budget_parameter(client: TestClient, runtime: Runtime, session: Session,
                                                  panel: Panel) -> None:
    dataset = panel.dataset
    grant(session, "lab-steward", "steward", org=dataset.organisation_id)
    url = f"/api/datasets/{dataset.id}"
    assert client.patch(url, json={"privacy_p": 0.5}).status_code == 401
    assert client.patch(url, json={"privacy_p": 0.5}, headers=_token(runtime, "stranger")).status_code == 403
    bad = client.patch(url, json={"privacy_p": 1.5}, headers=_token(runtime, "lab-steward"))
    assert bad.status_code == 422 and "privacy_p" in bad.text
    done = client.patch(url, json={"privacy_p": 0.0}, headers=_token(runtime, "lab-steward"))
    assert done.status_code == 200 and done.json()["privacy_p"] == 0.0
    counted = client.get(B, params=_params(panel.rare[0], dataset), headers=_token(runtime, "after"))
    assert counted.status_code == 200 and counted.json()["meta"]["returnedGranularity"] == "count"


def test_a_filtered_question_is_priced_for_the_people_it_is_about(
        client: TestClient, runtime: Runtime, session: Session, panel: Panel, cohort: Cohort) -> None:
    females = sum(1 for sex in cohort.cohort.sexes if sex == "female")
    allele = next(a for a in panel.common if 0 < _cost_for(a, females) < budget(P))
    headers = _token(runtime, "filterer")
    response = client.get(B, params=_params(allele, panel.dataset, filters="NCIT:C16576"), headers=headers)
    assert response.status_code == 200, response.text
    assert _ledger(session, "|filterer", panel.dataset.id).spent == pytest.approx(_cost_for(allele, females))
    client.get(B, params=_params(allele, panel.dataset), headers=headers)  # the whole cohort: another question
    assert _ledger(session, "|filterer", panel.dataset.id).spent == pytest.approx(
        _cost_for(allele, females) + _cost(allele, 40))


def _cost_for(allele: ReferenceAllele, samples: int) -> float:
    return answer_cost(allele.af_lower, haplotypes(samples, allele.chrom))


@pytest.mark.parametrize("group", ["population:EUR", "MONDO:0005148"])
def test_questions_about_a_population_or_disease_group_are_refused(
        client: TestClient, runtime: Runtime, session: Session, panel: Panel, group: str) -> None:
    """A group's frequency is not the panel's (an allele common elsewhere can be rare in one ancestry)."""
    response = client.get(B, params=_params(panel.common[0], panel.dataset, filters=group),
                          headers=_token(runtime, "grouper"))
    assert response.status_code == 403
    assert "population or a disease group" in response.json()["error"]["errorMessage"]


def test_refusals_and_budgeted_answers_validate_against_the_beacon_schemas(
        client: TestClient, runtime: Runtime, panel: Panel) -> None:
    from tests.beacon._schemas import validate
    from tests.beacon.test_api import BOOLEAN, ERROR

    headers = _token(runtime, "conformant")
    answered = client.get(B, params=_params(panel.medium[0], panel.dataset), headers=headers)
    validate(answered.json(), *BOOLEAN)
    too_revealing = client.get(B, params=_params(panel.rare[0], panel.dataset), headers=headers)
    assert too_revealing.status_code == 403
    validate(too_revealing.json(), *ERROR)
    spent = _spend(client, headers, panel)
    assert spent[-1] == 429
    refused = client.post(B, json={"meta": {"apiVersion": "v2.0"}, "query": {
        "requestParameters": {k: v for k, v in _params(_new_rare(panel), panel.dataset).items()
                              if k != "requestedGranularity"}, "requestedGranularity": "count"}}, headers=headers)
    assert refused.status_code == 429
    validate(refused.json(), *ERROR)
    assert refused.json()["meta"]["receivedRequestSummary"]["requestedGranularity"] == "count"


def test_a_locked_account_is_still_answered_common_alleles_and_still_refused_rare_ones(
        client: TestClient, runtime: Runtime, session: Session, panel: Panel) -> None:
    headers = _token(runtime, "prober")
    statuses = []
    for allele in panel.rare_priced:  # the attack's questions: rare alleles, until the budget is spent
        response = client.get(B, params=_params(allele, panel.dataset), headers=headers)
        statuses.append(response.status_code)
        if response.status_code == 429:
            break
    assert statuses[-1] == 429 and set(statuses[:-1]) == {200}, statuses
    locked = _ledger(session, "|prober", panel.dataset.id)
    assert locked.locked_at is not None
    spent, answered_before = locked.spent, locked.answered
    fresh = _token(runtime, "newcomer", "elsewhere.example")
    for allele in panel.common[:5]:  # public frequency >= 1%: the answer says nothing about membership
        assert allele.af_lower >= RARE_AF
        answered = client.get(B, params=_params(allele, panel.dataset), headers=headers)
        assert answered.status_code == 200, answered.text
        as_fresh = client.get(B, params=_params(allele, panel.dataset), headers=fresh)
        assert answered.json()["responseSummary"] == as_fresh.json()["responseSummary"] == {"exists": True}
    after = _ledger(session, "|prober", panel.dataset.id)
    charged = sum(_cost(a, 40) for a in panel.common[:5])
    assert after.spent == pytest.approx(spent + charged) and after.spent <= budget(P)  # charged, within budget
    assert after.locked_at is not None and after.answered == answered_before + 5
    for allele in panel.rare_priced[len(statuses):len(statuses) + 3]:  # still locked for what could reveal
        refused = client.get(B, params=_params(allele, panel.dataset), headers=headers)
        assert refused.status_code == 429, refused.text
        assert "privacy budget" in refused.json()["error"]["errorMessage"]


def test_a_spent_budget_beside_an_answering_dataset_is_a_typed_exclusion_with_its_renewal(
        runtime: Runtime, session: Session, panel: Panel, make_beacon_dataset: Callable[..., Dataset]) -> None:
    """When another dataset answers, a spent budget is not an error but an exclusion: BUDGET_SPENT, with the time
    the budget comes back, in the typed answer and (in the same words) in the Beacon document."""
    free = make_beacon_dataset(SecurityLevel.PUBLIC, "Unbudgeted", count_threshold=0)
    weekly = client_with(runtime, privacy_renew_days=7)
    assert runtime.issuer is not None
    token = runtime.issuer.issue("typed")
    assert _spend(weekly, {"Authorization": f"Bearer {token}"}, panel)[-1] == 429
    allele = _new_rare(panel)  # a locked budget still answers common alleles, never a rare one
    pairs = [("referenceName", allele.chrom), ("start", str(allele.pos - 1)), ("referenceBases", allele.ref),
             ("alternateBases", allele.alt), ("datasetIds", f"{panel.dataset.id},{free.id}"),
             ("requestedGranularity", "count")]
    caller = Caller(principal=runtime.verifier.verify(token))
    settings = runtime.settings.model_copy(update={"privacy_renew_days": 7})
    answer = answer_variants(session, caller, from_query(pairs, max_limit=100), gate=Gate.for_caller(caller, settings))
    assert [r.dataset.id for r in answer.results] == [free.id]
    [spent] = answer.excluded
    assert spent.dataset_id == panel.dataset.id and spent.reason is Reason.BUDGET_SPENT
    assert spent.renews_at is not None and spent.retry_after is not None
    assert 7 * 86_400 - 120 <= spent.retry_after <= 7 * 86_400
    document = weekly.get(B, params=dict(pairs), headers={"Authorization": f"Bearer {token}"}).json()
    assert document["info"]["excludedDatasets"] == [{"datasetId": panel.dataset.id, "reason": spent.text}]
    assert spent.renews_at.isoformat(timespec="seconds") in spent.text
