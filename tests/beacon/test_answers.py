"""The typed answer's pure parts: each exclusion reason's words, and which queries need the thread pool."""

from __future__ import annotations

import pytest

from beacon.answers import Exclusion, Reason
from beacon.granularity import Granularity
from beacon.models import BeaconRequest, Filter
from beacon.plan import needs_thread
from beacon.privacy.services import Gate, Policy, account_of
from catalogue.identity import Caller, Principal


@pytest.mark.parametrize(("exclusion", "words"), [
    (Exclusion("d1", Reason.OTHER_ASSEMBLY, assembly="GRCh38", asked=("GRCh37",)),
     "its assembly GRCh38 is not the query's (GRCh37)"),
    (Exclusion("d1", Reason.SIGN_IN_REQUIRED), "it answers signed-in callers only"),
    (Exclusion("d1", Reason.RECORD_RIGHTS_REQUIRED), "it does not answer Beacon queries without record-level rights"),
    (Exclusion("d1", Reason.GENE_NOT_LOADED, assembly="GRCh37", gene="BRCA2"), "gene BRCA2 is not loaded for GRCh37"),
    (Exclusion("d1", Reason.BUDGET_SPENT, message="d1: your privacy budget is spent"),
     "d1: your privacy budget is spent"),
    (Exclusion("d1", Reason.PRIVACY_REFUSED, message="d1: too revealing"), "d1: too revealing"),
    (Exclusion("d1", Reason.INDIVIDUAL_RECORD_RIGHTS_REQUIRED), "an individual's genotypes need record-level rights"),
])
def test_an_exclusion_is_worded_from_its_reason(exclusion: Exclusion, words: str) -> None:
    assert exclusion.text == words


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_words(reason: Reason) -> None:
    text = Exclusion("d1", reason, assembly="GRCh38", asked=("GRCh37",), gene="G", message="m").text
    assert text and "{" not in text


def test_only_sign_in_reasons_offer_signing_in() -> None:
    assert {r for r in Reason if r.sign_in_helps} == {Reason.SIGN_IN_REQUIRED, Reason.GENOTYPES_SIGN_IN_REQUIRED}


SIGNED_IN = Caller(principal=Principal("alice", "https://issuer.example"))
BY_ADDRESS = Policy(anonymous="budget")


def _request(*filters: str) -> BeaconRequest:
    return BeaconRequest(params={"referenceName": "1"}, filters=tuple(Filter(f) for f in filters),
                         granularity=Granularity.COUNT)


@pytest.mark.parametrize(("caller", "request_", "gate", "expected"), [
    (Caller(), _request(), None, False),  # the hot path: the index only
    (Caller(), _request("NCIT:C16576"), None, False),  # one sex: the index's per-group counts
    (Caller(), _request("population:EUR"), None, False),
    (Caller(), _request("MONDO:0005148"), None, True),  # a disease: the genotypes in the files
    (Caller(), _request("NCIT:C16576", "population:EUR"), None, True),  # a combination: the files
    (Caller(), _request("NCIT:C16576", "NCIT:C20197"), None, False),  # refused before anything is read
    (SIGNED_IN, _request(), None, True),  # records (files, audit) or a budget charge
    (Caller(address="192.0.2.1"), _request(), Gate(account_of(Caller(address="192.0.2.1"), BY_ADDRESS), BY_ADDRESS),
     True),  # an address's budget is charged
    (Caller(address="192.0.2.1"), _request(), Gate(account_of(Caller(address="192.0.2.1"), Policy()), Policy()),
     False),  # anonymous callers refused genotype datasets: nothing charged
])
def test_a_query_needs_the_thread_pool_when_it_may_read_files_or_write(
        caller: Caller, request_: BeaconRequest, gate: Gate | None, expected: bool) -> None:
    assert needs_thread(caller, request_, gate) is expected
