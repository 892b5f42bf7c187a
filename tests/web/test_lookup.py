"""Variant lookup: the page answers exactly what the Beacon answers the same caller, and says why."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlmodel import Session

from catalogue.models import Dataset
from tests.factories import make_entitlement
from tests.web.conftest import RESEARCHER, Browser, World, text_of

RANGE = {"assembly": "GRCh38", "chrom": "1", "start": "1", "end": "10000"}


def _answers(page: str) -> dict[str, tuple[str, str]]:
    """dataset id -> (granularity, the article's text) of each answer on the lookup page."""
    found = {}
    for chunk in page.split('<article class="answer"')[1:]:
        match = re.match(r' data-dataset="(\w+)" data-granularity="(\w+)"', chunk)
        assert match, chunk[:200]
        body = chunk.split("</article>")[0]
        found[match.group(1)] = (match.group(2), " ".join(re.sub(r"<[^>]+>", " ", body).split()))
    return found


def _beacon(browser: Browser, token: dict[str, str] | None = None, **params: Any) -> dict[str, Any]:
    query = {"assemblyId": "GRCh38", "referenceName": "1", "start": 0, "end": 10000,
             "requestedGranularity": "record", **params}
    response = browser.client.get("/beacon/v2/g_variants", params=query, headers=token or {})
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_the_form_has_labelled_fields_and_examples(world: World) -> None:
    page = world.browser().get("/variants")
    for field in ("assembly", "chrom", "start", "end", "ref", "alt"):
        assert f'<label for="{field}"' in page.text and f'id="{field}"' in page.text
    assert "Examples" in page.text and "Range: chromosome 1" in page.text


def test_anonymous_callers_get_counts_of_public_data_and_yes_no_of_controlled_data(ingested: World) -> None:
    browser = ingested.browser()
    answers = _answers(browser.get("/variants", params=RANGE).text)
    api = _beacon(browser)
    counts = {s["id"]: s["resultsCount"] for s in api["response"]["resultSets"]}
    level, text = answers[ingested.public]
    assert level == "count" and f"{counts[ingested.public]:,} variants" in text
    assert "Counts are shown to anyone." in text
    level, text = answers[ingested.controlled]
    assert level == "boolean" and "Found" in text
    assert "only says whether the variant is present" in text and "Sign in for more." in text
    assert {e["datasetId"]: e["returnedGranularity"] for e in api["info"]["datasets"]} == {
        d: level for d, (level, _) in answers.items()}


def test_an_entitled_researcher_sees_the_records(ingested: World, session: Session, auth: Any) -> None:
    make_entitlement(session, RESEARCHER, ingested.controlled)
    browser = ingested.browser(RESEARCHER)
    page = browser.get("/variants", params=RANGE)
    level, text = _answers(page.text)[ingested.controlled]
    api = _beacon(browser, auth(RESEARCHER))
    result = next(s for s in api["response"]["resultSets"] if s["id"] == ingested.controlled)
    assert level == "record" and f"{result['resultsCount']:,} variants" in text
    assert "your approved access shows each variant" in text
    shown = re.findall(r'<td class="mono">(GRCh38:[^<]+)</td>', page.text.split(ingested.controlled, 2)[-1])
    assert shown[:len(result["results"])] == [r["variantInternalId"] for r in result["results"]]


def test_a_sequence_query_finds_one_variant(ingested: World, session: Session, auth: Any) -> None:
    make_entitlement(session, RESEARCHER, ingested.controlled)
    browser = ingested.browser(RESEARCHER)
    first = _beacon(browser, auth(RESEARCHER), datasetIds=ingested.controlled)["response"]["resultSets"][0]
    snv = next(r for r in first["results"] if r["variation"]["variantType"] == "SNP")
    _, chrom, pos, ref, alt = snv["variantInternalId"].split(":")
    page = browser.get("/variants", params={"chrom": chrom, "start": pos, "ref": ref, "alt": alt})
    level, text = _answers(page.text)[ingested.controlled]
    assert level == "record" and re.search(r"\b1 variant\b", text)
    assert snv["variantInternalId"] in page.text
    # The page speaks as the dataset statistics do (SNV), where the Beacon's schema says SNP.
    assert f'<td class="mono">{snv["variantInternalId"]}</td><td>SNV</td>' in page.text


def test_each_answer_says_its_level_in_words(ingested: World) -> None:
    answers = _answers(ingested.browser().get("/variants", params=RANGE).text)
    assert "(counts)" in answers[ingested.public][1]
    assert "(yes/no answer)" in answers[ingested.controlled][1]
    assert not any(" level)" in text for _, text in answers.values()), answers


def _change(session: Session, dataset_id: str, **fields: Any) -> None:
    """Change a dataset's settings as a steward would have set them (the Beacon reads them per query)."""
    dataset = session.get(Dataset, dataset_id)
    assert dataset is not None
    for name, value in fields.items():
        setattr(dataset, name, value)
    session.add(dataset)
    session.commit()


def test_small_counts_are_hidden_below_the_threshold(ingested: World, session: Session) -> None:
    _change(session, ingested.public, count_threshold=100_000)
    level, text = _answers(ingested.browser().get("/variants", params=RANGE).text)[ingested.public]
    assert level == "boolean" and "count is hidden below 100000" in text


def test_a_registered_dataset_asks_anonymous_callers_to_sign_in(ingested: World, session: Session) -> None:
    _change(session, ingested.public, security="REGISTERED")
    level, text = _answers(ingested.browser().get("/variants", params=RANGE).text)[ingested.public]
    assert level == "none" and "answers signed-in callers only" in text and "Sign in for more." in text
    level, _ = _answers(ingested.browser(RESEARCHER).get("/variants", params=RANGE).text)[ingested.public]
    assert level == "count"


@pytest.mark.parametrize(("dataset", "fields", "reason", "link"), [
    ("public", {"security": "REGISTERED"}, "it answers signed-in callers only", "Sign in for more."),
    ("controlled", {"beacon_granularity": "none"}, "it does not answer Beacon queries without record-level rights",
     "Request access for more."),
])
def test_an_excluded_dataset_offers_what_its_reason_code_calls_for(
        ingested: World, session: Session, dataset: str, fields: dict[str, str], reason: str, link: str) -> None:
    """SIGN_IN_REQUIRED links to sign-in, RECORD_RIGHTS_REQUIRED to the access request (never to sign-in), each
    worded as the Beacon words it."""
    dataset_id = getattr(ingested, dataset)
    _change(session, dataset_id, **fields)
    browser = ingested.browser()
    level, text = _answers(browser.get("/variants", params=RANGE).text)[dataset_id]
    api = {e["datasetId"]: e["reason"] for e in _beacon(browser)["info"]["excludedDatasets"]}
    assert level == "none" and api[dataset_id] == reason and f"Not answered: {reason}." in text
    assert link in text
    assert ("Sign in for more." in text) == (link == "Sign in for more.")


@pytest.mark.parametrize(("params", "message"), [
    ({"chrom": "1", "start": "500", "end": "100"}, "the range ends before it starts"),
    ({"chrom": "1", "start": "x", "end": "100"}, "start must be a position of 1 or more"),
    ({"chrom": "1", "start": "5"}, "give the last position of the range"),
    ({"chrom": "1", "start": "5", "ref": "A"}, "needs both the reference and the alternate bases"),
    ({"chrom": "1", "start": "5", "ref": "A", "alt": "Q"}, "alternateBases"),
])
def test_a_refused_query_is_explained_on_the_page(world: World, params: dict[str, str], message: str) -> None:
    page = world.browser().get("/variants", params=params)
    assert page.status_code == 200
    refusal = re.search(r'data-testid="lookup-refusal">([^<]+)<', page.text)
    assert refusal and message in refusal.group(1)


def test_the_dataset_page_draws_its_statistics(ingested: World) -> None:
    page = ingested.browser().get(f"/datasets/{ingested.public}")
    assert page.text.count('<svg class="chart" role="img"') == 3
    text = text_of(page)
    assert "Variants per chromosome" in text and "Variant types" in text and "Allele-frequency spectrum" in text
    assert "30 samples" in text
    assert "no privacy budget" in text  # this world's datasets have it off


def test_a_budgeted_dataset_answers_yes_or_no_and_explains_refusals(
        ingested: World, session: Session, cohort_files: Any) -> None:
    """With the privacy budget on, the page explains the yes/no answer, the anonymous refusal and a question
    too revealing to answer without record-level access."""
    from catalogue.identity import Caller
    from catalogue.models import Assembly
    from ingest.reference_af import load_reference_af

    for dataset_id in (ingested.public, ingested.controlled):
        _change(session, dataset_id, privacy_p=0.625)
    load_reference_af(session, Caller.cli_operator(), cohort_files[0], assembly=Assembly.GRCh38)
    level, text = _answers(ingested.browser().get("/variants", params=RANGE).text)[ingested.public]
    assert level == "none" and "within a privacy budget" in text and "Sign in for more." in text
    researcher = ingested.browser(RESEARCHER)
    answers = _answers(researcher.get("/variants", params=RANGE).text)
    level, text = answers[ingested.public]
    assert level == "boolean" and "charged to your privacy budget" in text
    level, text = answers[ingested.controlled]
    assert level == "boolean" and "charged to your privacy budget" in text
    described = text_of(researcher.get(f"/datasets/{ingested.public}"))
    assert "no membership test has power above 0.08 at 5% false positives" in described
    nothing_public = _answers(researcher.get("/variants", params={**RANGE, "start": "20000", "end": "20001"}).text)
    level, text = nothing_public[ingested.public]
    assert level == "none" and "could tell whether one person is in the cohort" in text


def test_a_spent_budget_is_worded_with_its_renewal() -> None:
    from datetime import UTC, datetime

    from beacon.privacy.errors import BudgetExhausted, TooRevealing
    from web.pages.lookup import refusal_message

    renewing = refusal_message(BudgetExhausted("spent", renews_at=datetime(2027, 1, 2, 3, 4, tzinfo=UTC)))
    assert "spent until 2027-01-02 03:04 UTC" in renewing and "Request access" in renewing
    assert "do not renew" in refusal_message(BudgetExhausted("spent"))
    assert "only with record-level access" in refusal_message(TooRevealing("too revealing"))
