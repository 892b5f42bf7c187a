"""The typed answer's pure parts: each exclusion reason's words."""

from __future__ import annotations

import pytest

from beacon.answers import Exclusion, Reason


@pytest.mark.parametrize(("exclusion", "words"), [
    (Exclusion("d1", Reason.OTHER_ASSEMBLY, assembly="GRCh38", asked=("GRCh37",)),
     "its assembly GRCh38 is not the query's (GRCh37)"),
    (Exclusion("d1", Reason.SIGN_IN_REQUIRED), "it answers signed-in callers only"),
    (Exclusion("d1", Reason.RECORD_RIGHTS_REQUIRED), "it does not answer Beacon queries without record-level rights"),
    (Exclusion("d1", Reason.NOT_ANNOTATED, message="geneId BRCA2 (not in the gene table of GRCh37)"),
     "its variants carry no annotations (VEP CSQ or SnpEff ANN) to answer geneId BRCA2 (not in the gene table of "
     "GRCh37) from"),
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
