"""The catalogue pages: search with facets, the dataset page, and who may see a draft."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import OTHER_STEWARD, RESEARCHER, STEWARD, World, text_of


def test_root_is_the_catalogue_of_published_datasets(world: World) -> None:
    page = world.browser().get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    text = text_of(page)
    assert "3 datasets" in text
    for title in ("Population panel", "Cardiomyopathy cohort", "Other cohort"):
        assert title in text
    assert "Unfinished cohort" not in text  # a draft is not in the public catalogue


def test_facets_narrow_the_result_and_show_counts(world: World) -> None:
    page = world.browser().get("/", params={"security": "CONTROLLED", "organisation": world.org})
    text = text_of(page)
    assert "1 dataset" in text and "Cardiomyopathy cohort" in text and "Population panel" not in text
    assert re.search(r'name="security" value="CONTROLLED" checked', page.text)
    assert "disease specific research (DS) (1)" in text  # the DUO facet in words, with its count


def test_free_text_search(world: World) -> None:
    text = text_of(world.browser().get("/", params={"q": "population"}))
    assert "1 dataset" in text and "Population panel" in text


def test_dataset_page_says_the_conditions_in_plain_words(world: World) -> None:
    text = text_of(world.browser().get(f"/datasets/{world.controlled}"))
    assert "Research on the named disease(s) only." in text
    assert "Ethics committee approval required." in text
    assert "Biobank DAC" in text and "MONDO:0004994" in text
    assert "Sign in to request access" in text


def test_signed_in_researcher_gets_the_request_button_on_controlled_datasets_only(world: World) -> None:
    browser = world.browser(RESEARCHER)
    assert f'href="/requests/new?dataset={world.controlled}"' in browser.get(f"/datasets/{world.controlled}").text
    public = browser.get(f"/datasets/{world.public}")
    assert "Request access" not in public.text and "CC-BY-4.0" in public.text


@pytest.mark.parametrize(("who", "status"), [(None, 404), (RESEARCHER, 404), (OTHER_STEWARD, 404), (STEWARD, 200)])
def test_a_draft_is_shown_to_its_stewards_only(world: World, who: str | None, status: int) -> None:
    page = world.browser(who).get(f"/datasets/{world.draft}")
    assert page.status_code == status
    assert ("Unfinished cohort" in page.text) is (status == 200)


def test_unknown_dataset_is_an_html_404(world: World) -> None:
    page = world.browser().get("/datasets/GGD999999")
    assert page.status_code == 404 and "<h1>Not found</h1>" in page.text
    assert "dataset GGD999999 does not exist" in text_of(page)


@pytest.mark.parametrize("query", [f"offset={2**63}", "offset=1000001", "&".join(["duo=DUO:0000042"] * 51)])
def test_an_out_of_range_search_is_an_html_4xx_not_a_500(world: World, query: str) -> None:
    """A deep offset overflowed SQLite's integer and many facet values its expression depth: both were 500s."""
    page = world.browser().get(f"/?{query}")
    assert 400 <= page.status_code < 500 and "text/html" in page.headers["content-type"], page.text[:300]
    assert world.browser().get("/?offset=1000000").status_code == 200
