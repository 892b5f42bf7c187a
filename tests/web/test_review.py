"""The DAC's review desk: the queue, votes, decisions with their required fields, entitlements, the audit trail."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.web.conftest import (
    DAC_MEMBER,
    OTHER_DAC_MEMBER,
    OTHER_RESEARCHER,
    RESEARCHER,
    STEWARD,
    World,
    text_of,
)


@pytest.mark.parametrize(("who", "status"), [(None, 401), (RESEARCHER, 403), (STEWARD, 403), (DAC_MEMBER, 200)])
def test_the_desk_is_for_dac_members(world: World, who: str | None, status: int) -> None:
    for path in ("/dac", "/dac/entitlements", "/dac/audit"):
        assert world.browser(who).get(path).status_code == status, path


def test_the_queue_shows_the_dacs_submitted_requests_only(world: World) -> None:
    mine = world.submitted_request()
    other = world.submitted_request(OTHER_RESEARCHER, dataset=world.elsewhere, purpose="DUO:0000037")
    draft = world.draft_request()
    queue = text_of(world.browser(DAC_MEMBER).get("/dac"))
    assert mine in queue and "abstain" in queue
    assert other not in queue and draft not in queue
    elsewhere = text_of(world.browser(OTHER_DAC_MEMBER).get("/dac"))
    assert other in elsewhere and mine not in elsewhere


def test_the_queue_filters_by_state(world: World) -> None:
    request_id = world.submitted_request()
    browser = world.browser(DAC_MEMBER)
    assert request_id not in text_of(browser.get("/dac", params={"state": "approved"}))
    assert request_id in text_of(browser.get("/dac", params={"state": "all"}))


def test_the_request_page_gives_the_reviewer_the_verdict_votes_and_internal_comments(world: World) -> None:
    request_id = world.submitted_request()
    browser = world.browser(DAC_MEMBER)
    browser.post(f"/requests/{request_id}/comments", {"message": "check the IRB letter", "internal": "true"})
    assert browser.post(f"/requests/{request_id}/votes", {"choice": "approve"}).status_code == 303
    page = text_of(browser.get(f"/requests/{request_id}"))
    assert "Which variants cause cardiomyopathy?" in page
    assert "ethics approval (IRB) must be checked" in page
    assert "check the IRB letter" in page and "(internal)" in page
    assert f"{DAC_MEMBER} voted approve" in page
    assert "Your vote (approve) is recorded." in page


def test_rejecting_and_returning_need_a_reason(world: World) -> None:
    request_id = world.submitted_request()
    browser = world.browser(DAC_MEMBER)
    browser.post(f"/requests/{request_id}/decision", {"decision": "reject", "reason": " "})
    page = text_of(browser.get(f"/requests/{request_id}"))
    assert "say why" in page and "submitted" in page
    browser.post(f"/requests/{request_id}/decision", {"decision": "return", "reason": "Attach the IRB letter."})
    assert "returned" in text_of(browser.get(f"/requests/{request_id}"))
    assert "Attach the IRB letter." in text_of(world.browser(RESEARCHER).get(f"/requests/{request_id}"))


def test_approving_entitles_the_applicant_until_the_chosen_day(world: World) -> None:
    request_id = world.submitted_request()
    end = date.today() + timedelta(days=30)
    response = world.browser(DAC_MEMBER).post(f"/requests/{request_id}/decision",
                                              {"decision": "approve", "access_end": end.isoformat()})
    assert response.status_code == 303
    researcher = world.browser(RESEARCHER)
    assert "approved" in text_of(researcher.get(f"/requests/{request_id}"))
    mine = text_of(researcher.get("/requests"))
    assert f"{world.controlled} {request_id}" in mine and end.isoformat() in mine and "active" in mine
    assert f"genomegate fetch http://testserver {world.controlled}" in mine
    assert f"/htsget/variants/{world.controlled}" in mine and "/api/access/passport" in mine
    assert "You have access to this dataset until" in text_of(researcher.get(f"/datasets/{world.controlled}"))


def test_an_end_of_access_in_the_past_is_refused(world: World) -> None:
    request_id = world.submitted_request()
    browser = world.browser(DAC_MEMBER)
    browser.post(f"/requests/{request_id}/decision", {"decision": "approve", "access_end": "2000-01-01"})
    assert "must lie in the future" in text_of(browser.get(f"/requests/{request_id}"))


def test_members_of_another_dac_and_applicants_cannot_decide(world: World) -> None:
    request_id = world.submitted_request()
    assert world.browser(OTHER_DAC_MEMBER).post(f"/requests/{request_id}/decision",
                                                {"decision": "approve"}).status_code == 404
    refused = world.browser(RESEARCHER).post(f"/requests/{request_id}/decision", {"decision": "approve"})
    assert refused.status_code == 403 and "only members of" in text_of(refused)
    assert world.browser(RESEARCHER).post(f"/requests/{request_id}/votes", {"choice": "approve"}).status_code == 403
    assert "submitted" in text_of(world.browser(RESEARCHER).get(f"/requests/{request_id}"))


def test_entitlements_are_listed_for_the_dac_and_revoked_with_a_reason(world: World) -> None:
    request_id = world.submitted_request()
    member = world.browser(DAC_MEMBER)
    member.post(f"/requests/{request_id}/decision", {"decision": "approve"})
    listing = text_of(member.get("/dac/entitlements"))
    assert RESEARCHER in listing and request_id in listing and "active" in listing
    assert RESEARCHER not in text_of(world.browser(OTHER_DAC_MEMBER).get("/dac/entitlements"))
    assert world.browser(OTHER_DAC_MEMBER).post("/dac/entitlements/1/revoke", {"reason": "x"}).status_code == 404
    member.post("/dac/entitlements/1/revoke", {"reason": ""})
    assert "a revocation needs a reason" in text_of(member.get("/dac/entitlements"))
    member.post("/dac/entitlements/1/revoke", {"reason": "project ended early"})
    assert "project ended early" in text_of(member.get("/dac/entitlements"))
    assert "revoked" in text_of(world.browser(RESEARCHER).get("/requests"))


def test_the_audit_trail_shows_the_dacs_lines_only(world: World) -> None:
    request_id = world.submitted_request()
    other = world.submitted_request(OTHER_RESEARCHER, dataset=world.elsewhere, purpose="DUO:0000037")
    trail = text_of(world.browser(DAC_MEMBER).get("/dac/audit"))
    assert "request.submit" in trail and request_id in trail and other not in trail
    filtered = text_of(world.browser(DAC_MEMBER).get("/dac/audit", params={"action": "agreement.accept"}))
    assert "agreement.accept" in filtered and "request.submit" not in filtered
