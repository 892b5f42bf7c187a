"""`renewal_of` names one of the applicant's own requests that granted access; anything else is refused, naming it."""

from __future__ import annotations

from typing import Any

from tests.access.conftest import World

ALICE, BOB = "alice@uni.example", "bob@uni.example"
BODY = {"project_title": "Cardiac variants", "lay_summary": "We study heart disease.", "purpose": ["HMB"],
        "institution": "University"}


def _create(world: World, who: str, renewal_of: str) -> Any:
    return world.call("POST", "/requests", who, json={**BODY, "datasets": [world.hmb], "renewal_of": renewal_of})


def test_a_renewal_of_an_own_approved_request_is_accepted(world: World) -> None:
    original = world.approved(ALICE, [world.hmb])
    created = _create(world, ALICE, original)
    assert created.status_code == 201, created.text
    assert created.json()["renewal_of"] == original


def test_a_renewal_of_an_own_request_whose_access_was_granted_then_closed_is_accepted(world: World) -> None:
    original = world.approved(ALICE, [world.hmb])
    closed = world.call("POST", f"/requests/{original}/close", "dac1@example.org", json={"reason": "Project over"})
    assert closed.json()["state"] == "closed"
    assert _create(world, ALICE, original).status_code == 201


def test_another_researchers_request_is_as_unknown_as_a_missing_one(world: World) -> None:
    bobs = world.approved(BOB, [world.hmb])
    for named in (bobs, "GGR999999"):
        refused = _create(world, ALICE, named)
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        problem = refused.json()
        assert problem["field"] == "renewal_of"
        assert problem["detail"].startswith(f"renewal_of: {named} is not a request of yours")
    assert [r["id"] for r in world.call("GET", "/requests", ALICE).json()] == []  # nothing was made


def test_an_own_request_that_never_granted_access_is_refused(world: World) -> None:
    draft = world.draft(ALICE, [world.hmb])
    submitted = world.submitted(ALICE, [world.gru])
    rejected = world.submitted(ALICE, [world.hmb])
    assert world.call("POST", f"/requests/{rejected}/decision", "dac1@example.org",
                      json={"decision": "reject", "reason": "Out of scope"}).status_code == 200
    for named, state in ((draft, "draft"), (submitted, "submitted"), (rejected, "rejected")):
        refused = _create(world, ALICE, named)
        assert refused.status_code == 422, refused.text
        assert refused.json()["field"] == "renewal_of"
        assert f"{named} is {state} and never granted access" in refused.json()["detail"]
