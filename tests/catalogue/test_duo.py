"""The project's DUO term table agrees with the DUO release in ../shared, and the condition rules hold."""

from __future__ import annotations

import csv

import pytest

from catalogue.duo import DUO_TERMS, DuoKind, duo_term, validate_conditions
from catalogue.errors import InvalidInput
from tests.conftest import need_shared


def _release() -> dict[str, dict[str, str]]:
    path = need_shared("ontology", "duo", "duo_terms.tsv")
    with path.open(newline="") as handle:
        return {row["id"]: row for row in csv.DictReader(handle, delimiter="\t")}


def test_every_term_matches_the_release_in_label_shorthand_and_parent() -> None:
    release = _release()
    for term in DUO_TERMS.values():
        row = release.get(term.id)
        assert row is not None, f"{term.id} is not in the DUO release"
        assert row["obsolete"] == "false", f"{term.id} is obsolete in the release"
        assert term.label == row["label"]
        assert term.shorthand == row["shorthand"]
        assert term.parent == row["parents"].split("|")[0]


def test_every_current_permission_and_modifier_of_the_release_is_known() -> None:
    release = _release()
    roots = {"DUO:0000001", "DUO:0000017"}
    wanted = {i for i, row in release.items() if row["obsolete"] == "false" and i not in roots}
    assert wanted <= set(DUO_TERMS), f"missing: {sorted(wanted - set(DUO_TERMS))}"


@pytest.mark.parametrize(("value", "curie"), [("GRU", "DUO:0000042"), ("hmb", "DUO:0000006"),
                                              ("DUO:0000007", "DUO:0000007")])
def test_terms_are_found_by_curie_or_shorthand(value: str, curie: str) -> None:
    assert duo_term(value).id == curie


@pytest.mark.parametrize(("duo", "diseases", "message"), [
    (["XYZ"], [], "unknown DUO term"),
    (["IRB"], [], "exactly one permission"),
    (["GRU", "POA"], [], "exactly one permission"),
    (["DS"], [], "needs at least one disease term"),
    (["DUO:0000031"], [], "research purpose"),
    (["DS"], ["MONDO:"], "not a CURIE"),
])
def test_invalid_conditions(duo: list[str], diseases: list[str], message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validate_conditions(duo, diseases)


def test_valid_conditions_are_normalised_to_sorted_curies() -> None:
    assert validate_conditions(["IRB", "DS", "NCU"], ["MONDO:0005148"]) == [
        "DUO:0000007", "DUO:0000021", "DUO:0000046"]
    assert validate_conditions([], []) == []
    assert all(t.kind in DuoKind for t in DUO_TERMS.values())
