"""The researcher's access pages: the request form, the draft's DUO verdict, agreements, attachments, my requests."""

from __future__ import annotations

import pytest

from tests.web.conftest import (
    DAC_MEMBER,
    OTHER_DAC_MEMBER,
    OTHER_RESEARCHER,
    OTHER_STEWARD,
    RESEARCHER,
    World,
    text_of,
)


def test_the_form_offers_the_duo_purposes_for_the_chosen_dataset(world: World) -> None:
    page = world.browser(RESEARCHER).get("/requests/new", params={"dataset": world.controlled})
    assert page.status_code == 200
    text = text_of(page)
    assert "Cardiomyopathy cohort" in text and "Disease category research" in text
    assert 'name="purpose" value="DUO:0000040"' in page.text


def test_the_form_needs_a_signed_in_user(world: World) -> None:
    page = world.browser().get("/requests/new", params={"dataset": world.controlled})
    assert page.status_code == 401 and 'href="/signin?next=' in page.text


def test_a_draft_shows_the_duo_verdict_before_it_is_submitted(world: World) -> None:
    request_id = world.draft_request()
    page = world.browser(RESEARCHER).get(f"/requests/{request_id}")
    text = text_of(page)
    assert "draft" in text and "needs a DAC member's judgement" in text
    assert "ethics approval (IRB) must be checked" in text
    assert "Submit to the DAC" in text


def test_an_incompatible_purpose_is_shown_as_such_and_cannot_be_submitted(world: World) -> None:
    request_id = world.draft_request(purpose="DUO:0000033")  # ancestry research on disease-specific data
    browser = world.browser(RESEARCHER)
    assert "DUO check: incompatible" in text_of(browser.get(f"/requests/{request_id}"))
    browser.post(f"/requests/{request_id}/agreements", {"accept": f"{world.controlled}@1"})
    response = browser.post(f"/requests/{request_id}/submit")
    assert response.status_code == 303 and response.headers["location"] == f"/requests/{request_id}"
    page = text_of(browser.get(f"/requests/{request_id}"))
    assert "incompatible with the data use conditions" in page and "draft" in page


def test_submitting_needs_the_agreement_accepted_first(world: World) -> None:
    request_id = world.draft_request()
    browser = world.browser(RESEARCHER)
    browser.post(f"/requests/{request_id}/submit")
    assert "accept the data access agreement" in text_of(browser.get(f"/requests/{request_id}"))
    browser.post(f"/requests/{request_id}/agreements", {"accept": f"{world.controlled}@1"})
    assert browser.post(f"/requests/{request_id}/submit").status_code == 303
    page = text_of(browser.get(f"/requests/{request_id}"))
    assert "Submitted to the data access committee." in page and "submitted" in page


def test_a_form_error_comes_back_as_a_message_on_the_form(world: World) -> None:
    browser = world.browser(RESEARCHER)
    response = browser.post("/requests", {"datasets": world.controlled, "project_title": "X", "purpose": "DUO:0000040",
                                          "disease_terms": "not-a-curie"})
    assert response.status_code == 303 and response.headers["location"].startswith("/requests/new?dataset=")
    assert "is not a CURIE of a disease ontology" in text_of(browser.get(response.headers["location"]))


def test_attachments_are_uploaded_and_downloaded_by_the_requests_readers_only(world: World) -> None:
    request_id = world.draft_request(co_applicants=OTHER_RESEARCHER)
    browser = world.browser(RESEARCHER)
    response = browser.post(f"/requests/{request_id}/attachments",
                            files={"file": ("ethics.txt", b"approved by the ethics board", "text/plain")})
    assert response.status_code == 303
    page = browser.get(f"/requests/{request_id}")
    assert "Attached ethics.txt." in text_of(page)
    link = f"/requests/{request_id}/attachments/GGA000001"
    assert link in page.text
    assert browser.get(link).content == b"approved by the ethics board"
    assert world.browser(OTHER_RESEARCHER).get(link).status_code == 200  # a co-applicant reads the request
    assert world.browser(OTHER_STEWARD).get(link).status_code == 404


def test_a_wrong_attachment_type_is_refused_with_a_message(world: World) -> None:
    request_id = world.draft_request()
    browser = world.browser(RESEARCHER)
    browser.post(f"/requests/{request_id}/attachments", files={"file": ("x.exe", b"MZ", "application/x-msdownload")})
    assert "attachments must be one of" in text_of(browser.get(f"/requests/{request_id}"))


def test_editing_a_draft_changes_it(world: World) -> None:
    request_id = world.draft_request()
    browser = world.browser(RESEARCHER)
    browser.post(f"/requests/{request_id}/edit", {"project_title": "Heart genes, second try",
                                                  "purpose": "DUO:0000040", "disease_terms": "MONDO:0004994"})
    assert "Heart genes, second try" in text_of(browser.get(f"/requests/{request_id}"))


def test_my_requests_lists_state_and_the_requests_page_shows_messages(world: World) -> None:
    request_id = world.submitted_request()
    world.browser(DAC_MEMBER).post(f"/requests/{request_id}/comments", {"message": "Which cohort exactly?"})
    world.browser(DAC_MEMBER).post(f"/requests/{request_id}/comments", {"message": "looks fine", "internal": "true"})
    browser = world.browser(RESEARCHER)
    listing = text_of(browser.get("/requests"))
    assert request_id in listing and "Heart genes" in listing and "submitted" in listing
    page = text_of(browser.get(f"/requests/{request_id}"))
    assert "Which cohort exactly?" in page
    assert "looks fine" not in page  # internal comments are the DAC's


@pytest.mark.parametrize(("who", "status"), [
    (None, 401), (OTHER_RESEARCHER, 404), (OTHER_DAC_MEMBER, 404), (OTHER_STEWARD, 404), (RESEARCHER, 200),
    (DAC_MEMBER, 200),
])
def test_who_may_open_a_submitted_request(world: World, who: str | None, status: int) -> None:
    request_id = world.submitted_request()
    page = world.browser(who).get(f"/requests/{request_id}")
    assert page.status_code == status
    assert ("Heart genes" in page.text) is (status == 200)


def test_the_dac_does_not_see_a_draft(world: World) -> None:
    request_id = world.draft_request()
    assert world.browser(DAC_MEMBER).get(f"/requests/{request_id}").status_code == 404


def test_another_researcher_cannot_act_on_a_request(world: World) -> None:
    request_id = world.draft_request()
    browser = world.browser(OTHER_RESEARCHER)
    assert browser.post(f"/requests/{request_id}/submit").status_code == 404
    assert browser.post(f"/requests/{request_id}/withdraw").status_code == 404
    assert "draft" in text_of(world.browser(RESEARCHER).get(f"/requests/{request_id}"))


def test_withdrawing_a_request(world: World) -> None:
    request_id = world.submitted_request()
    browser = world.browser(RESEARCHER)
    browser.post(f"/requests/{request_id}/withdraw")
    assert "withdrawn" in text_of(browser.get(f"/requests/{request_id}"))


@pytest.mark.parametrize(("purpose", "said"), [
    ("DUO:0000040", "needs a DAC member's judgement"),  # disease research on DS + IRB data: the IRB needs a person
    ("DUO:0000033", "incompatible"),  # ancestry research on disease-specific data
])
def test_the_forms_live_check_gives_the_verdict_before_a_draft_exists(world: World, purpose: str, said: str) -> None:
    page = world.browser(RESEARCHER).get("/requests/verdict", params={
        "dataset": world.controlled, "purpose": purpose, "disease_terms": "MONDO:0004994"})
    assert page.status_code == 200 and said in text_of(page)
    assert "<html" not in page.text  # a fragment for the form, not a page
    assert "You have no access requests" in text_of(world.browser(RESEARCHER).get("/requests"))  # nothing saved


def test_the_live_check_explains_bad_input_and_keeps_drafts_private(world: World) -> None:
    browser = world.browser(RESEARCHER)
    page = browser.get("/requests/verdict", params={"dataset": world.controlled, "disease_terms": "nonsense"})
    assert "is not a CURIE of a disease ontology" in text_of(page)
    assert browser.get("/requests/verdict", params={"dataset": world.draft}).status_code == 404
    assert world.browser().get("/requests/verdict", params={"dataset": world.controlled}).status_code == 401
