"""The access workflow over HTTP, with every refusal: object-level rights, the state machine, DUO, recusal."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from access.models import Notification
from catalogue.models import Dac
from tests.access.conftest import World

ALICE, BOB, CAROL = "alice@uni.example", "bob@uni.example", "carol@uni.example"


def test_the_whole_lifecycle_from_draft_to_entitlement(world: World) -> None:
    request_id = world.draft(ALICE, [world.hmb], co_applicants=[CAROL], accept=False)
    assert world.call("GET", f"/requests/{request_id}/duo-check", ALICE).json()["result"] == "approve"
    refused = world.call("POST", f"/requests/{request_id}/submit", ALICE)
    assert refused.status_code == 422
    assert "accept the data access agreement" in refused.json()["detail"]
    world.call("PATCH", f"/requests/{request_id}", ALICE, json={"accept_agreements": {world.hmb: "1"}})
    submitted = world.call("POST", f"/requests/{request_id}/submit", ALICE).json()
    assert submitted["state"] == "submitted"
    assert submitted["duo_verdict"]["result"] == "approve"

    queue = world.call("GET", "/requests?scope=dac", "dac1@example.org").json()
    assert [r["id"] for r in queue] == [request_id]
    assert world.call("GET", "/requests?scope=dac", "other-dac@example.org").json() == []
    world.call("POST", f"/requests/{request_id}/comments", "dac1@example.org",
               json={"message": "Looks fine to me", "internal": True})
    world.call("POST", f"/requests/{request_id}/comments", "dac2@example.org", json={"message": "Which cohort?"})
    world.call("POST", f"/requests/{request_id}/comments", ALICE, json={"message": "The HMB one."})
    vote = world.call("POST", f"/requests/{request_id}/votes", "dac2@example.org", json={"choice": "approve"})
    assert vote.status_code == 201

    end = (datetime.now(UTC) + timedelta(days=90)).replace(microsecond=0)
    approved = world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                          json={"decision": "approve", "access_end": end.isoformat()}).json()
    assert approved["state"] == "approved"
    assert approved["decided_by"] == "dac1@example.org"
    for who in (ALICE, CAROL):
        [entitlement] = world.call("GET", "/entitlements", who).json()
        assert (entitlement["dataset_id"], entitlement["active"]) == (world.hmb, True)
        assert entitlement["end"].startswith(end.strftime("%Y-%m-%dT%H:%M:%S"))
        assert entitlement["granted_use"] == ["DUO:0000037"]
    applicant_view = [e["kind"] for e in world.call("GET", f"/requests/{request_id}/events", ALICE).json()]
    dac_view = [e["kind"] for e in world.call("GET", f"/requests/{request_id}/events", "dac2@example.org").json()]
    assert applicant_view == ["create", "submit", "comment", "comment", "approve"]
    assert dac_view == ["create", "submit", "comment", "comment", "comment", "vote", "approve"]


@pytest.mark.parametrize("who", [BOB, "other-dac@example.org", None])
def test_others_cannot_read_or_act_on_a_request(world: World, who: str | None) -> None:
    request_id = world.submitted(ALICE, [world.hmb])
    expected = 401 if who is None else 404
    assert world.call("GET", f"/requests/{request_id}", who).status_code == expected
    assert world.call("GET", f"/requests/{request_id}/events", who).status_code == expected
    assert world.call("PATCH", f"/requests/{request_id}", who, json={"project_title": "x"}).status_code == expected
    decision = world.call("POST", f"/requests/{request_id}/decision", who, json={"decision": "approve"})
    assert decision.status_code == expected
    assert world.call("POST", f"/requests/{request_id}/withdraw", who).status_code == expected
    assert world.call("GET", f"/requests/{request_id}", ALICE).json()["state"] == "submitted"


def test_a_draft_is_invisible_to_the_dac(world: World) -> None:
    request_id = world.draft(ALICE, [world.hmb])
    assert world.call("GET", f"/requests/{request_id}", "dac1@example.org").status_code == 404


def test_co_applicants_read_but_only_the_applicant_acts(world: World) -> None:
    request_id = world.draft(ALICE, [world.hmb], co_applicants=[CAROL])
    assert world.call("GET", f"/requests/{request_id}", CAROL).status_code == 200
    assert [r["id"] for r in world.call("GET", "/requests", CAROL).json()] == [request_id]
    refused = world.call("POST", f"/requests/{request_id}/submit", CAROL)
    assert refused.status_code == 403
    assert "only the applicant" in refused.json()["detail"]


@pytest.mark.parametrize(("setup", "command", "body"), [
    ("draft", "decision", {"decision": "approve"}),
    ("submitted", "submit", None),
    ("approved", "withdraw", None),
    ("approved", "decision", {"decision": "reject", "reason": "changed our mind"}),
    ("withdrawn", "submit", None),
])
def test_commands_not_allowed_in_a_state_are_refused_with_409_and_the_reason(
        world: World, setup: str, command: str, body: dict[str, str] | None) -> None:
    request_id = {"draft": lambda: world.draft(ALICE, [world.hmb]),
                  "submitted": lambda: world.submitted(ALICE, [world.hmb]),
                  "approved": lambda: world.approved(ALICE, [world.hmb]),
                  "withdrawn": lambda: _withdrawn(world)}[setup]()
    who = "dac1@example.org" if command == "decision" else ALICE
    response = world.call("POST", f"/requests/{request_id}/{command}", who, json=body)
    assert response.status_code == (404 if setup == "draft" else 409), response.text
    if response.status_code == 409:
        assert f"a {setup} request cannot be" in response.json()["detail"]


def _withdrawn(world: World) -> str:
    request_id = world.submitted(ALICE, [world.hmb])
    assert world.call("POST", f"/requests/{request_id}/withdraw", ALICE).json()["state"] == "withdrawn"
    return request_id


def test_an_incompatible_purpose_is_shown_before_and_refused_at_submission(world: World) -> None:
    request_id = world.draft(ALICE, [world.hmb], purpose=["POA"])
    preview = world.call("GET", f"/requests/{request_id}/duo-check", ALICE).json()
    assert preview["result"] == "deny"
    assert "ancestry" in preview["datasets"][world.hmb]["reasons"][0]
    refused = world.call("POST", f"/requests/{request_id}/submit", ALICE)
    assert refused.status_code == 422
    assert "incompatible" in refused.json()["detail"]
    assert world.call("GET", f"/requests/{request_id}", ALICE).json()["state"] == "draft"


def test_abstentions_are_recorded_for_the_dac(world: World) -> None:
    request_id = world.submitted(ALICE, [world.gru])
    verdict = world.call("GET", f"/requests/{request_id}", "dac1@example.org").json()["duo_verdict"]
    assert verdict["result"] == "abstain"
    assert any("ethics approval" in r for r in verdict["reasons"])


def test_requests_span_one_dac_and_controlled_datasets_only(world: World) -> None:
    body = {"project_title": "x", "purpose": ["HMB"]}
    mixed = world.call("POST", "/requests", ALICE, json={**body, "datasets": [world.hmb, world.elsewhere]})
    assert mixed.status_code == 422
    assert "share a data access committee" in mixed.json()["detail"]
    public = world.call("POST", "/requests", ALICE, json={**body, "datasets": [world.public]})
    assert public.status_code == 422
    assert "needs no access request" in public.json()["detail"]
    assert f"released to anyone (/htsget/variants/{world.public}" in public.json()["detail"]
    assert world.call("POST", "/requests", None, json={**body, "datasets": [world.hmb]}).status_code == 401


def test_a_member_cannot_review_a_request_they_apply_for_and_the_recusal_is_recorded(world: World) -> None:
    request_id = world.submitted("dac2@example.org", [world.hmb])
    refused = world.call("POST", f"/requests/{request_id}/decision", "dac2@example.org", json={"decision": "approve"})
    assert refused.status_code == 403
    assert "another member of the DAC" in refused.json()["detail"]
    assert world.call("POST", f"/requests/{request_id}/votes", "dac2@example.org",
                      json={"choice": "approve"}).status_code == 403
    events = world.call("GET", f"/requests/{request_id}/events", "dac1@example.org").json()
    assert [e["kind"] for e in events].count("recuse") == 2
    assert world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                      json={"decision": "approve"}).status_code == 200


def test_return_edit_resubmit_approve(world: World) -> None:
    request_id = world.submitted(ALICE, [world.hmb])
    no_reason = world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org", json={"decision": "return"})
    assert no_reason.status_code == 422
    returned = world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                          json={"decision": "return", "reason": "Add your ethics approval"}).json()
    assert returned["state"] == "returned"
    assert world.call("PATCH", f"/requests/{request_id}", ALICE,
                      json={"lay_summary": "Now with ethics approval"}).status_code == 200
    assert world.call("POST", f"/requests/{request_id}/submit", ALICE).json()["state"] == "submitted"
    assert world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                      json={"decision": "approve"}).json()["state"] == "approved"


def test_rejection_needs_a_reason_and_grants_nothing(world: World) -> None:
    request_id = world.submitted(ALICE, [world.hmb])
    rejected = world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                          json={"decision": "reject", "reason": "Out of scope"}).json()
    assert (rejected["state"], rejected["decision_reason"]) == ("rejected", "Out of scope")
    assert world.call("GET", "/entitlements", ALICE).json() == []


def test_the_dac_revokes_an_entitlement_and_it_stops_at_once(world: World) -> None:
    world.approved(ALICE, [world.hmb])
    [entitlement] = world.call("GET", "/entitlements", ALICE).json()
    path = f"/entitlements/{entitlement['id']}/revoke"
    assert world.call("POST", path, ALICE, json={"reason": "mine"}).status_code == 403
    assert world.call("POST", path, "other-dac@example.org", json={"reason": "x"}).status_code == 404
    revoked = world.call("POST", path, "dac2@example.org", json={"reason": "Breach of agreement"}).json()
    assert (revoked["active"], revoked["revoke_reason"]) == (False, "Breach of agreement")
    assert visa_types(world.call("GET", "/passport", ALICE).json()["ga4gh_passport_v1"]) == [
        "AcceptedTermsAndPolicies"]
    dac_list = world.call("GET", "/entitlements?scope=dac", "dac1@example.org").json()
    assert [e["active"] for e in dac_list] == [False]


def visa_types(visas: list[str]) -> list[str]:
    def claims(token: str) -> dict[str, dict[str, str]]:
        payload = token.split(".")[1]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))  # type: ignore[no-any-return]

    return sorted(claims(v)["ga4gh_visa_v1"]["type"] for v in visas)


def test_closing_an_approved_request_revokes_what_it_granted(world: World) -> None:
    request_id = world.approved(ALICE, [world.hmb])
    closed = world.call("POST", f"/requests/{request_id}/close", "dac1@example.org", json={"reason": "Project over"})
    assert closed.json()["state"] == "closed"
    assert [e["active"] for e in world.call("GET", "/entitlements", ALICE).json()] == [False]


def test_a_renewal_is_prefilled_and_reviewed_like_the_original(world: World) -> None:
    original = world.approved(ALICE, [world.hmb], co_applicants=[CAROL])
    renewal = world.call("POST", f"/requests/{original}/renew", ALICE).json()
    assert (renewal["state"], renewal["renewal_of"], renewal["co_applicants"]) == ("draft", original, [CAROL])
    assert renewal["datasets"] == [world.hmb]
    assert world.call("POST", f"/requests/{original}/renew", CAROL).status_code == 403


def test_a_quorum_dac_decides_only_with_enough_votes(world: World, session: Session) -> None:
    dac = session.get(Dac, world.dac)
    assert dac is not None
    dac.quorum = 2
    session.add(dac)
    session.commit()
    request_id = world.submitted(ALICE, [world.hmb])
    early = world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org", json={"decision": "approve"})
    assert early.status_code == 422
    assert "quorum of 2" in early.json()["detail"]
    for member in ("dac1@example.org", "dac2@example.org"):
        world.call("POST", f"/requests/{request_id}/votes", member, json={"choice": "approve"})
    assert world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
                      json={"decision": "approve"}).status_code == 200


def test_concurrent_decisions_make_one_decision(world: World) -> None:
    request_id = world.submitted(ALICE, [world.hmb])
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def decide(member: str, decision: dict[str, str]) -> None:
        barrier.wait()
        response = world.call("POST", f"/requests/{request_id}/decision", member, json=decision)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=decide, args=("dac1@example.org", {"decision": "approve"})),
               threading.Thread(target=decide, args=("dac2@example.org", {"decision": "reject", "reason": "no"}))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409]
    final = world.call("GET", f"/requests/{request_id}", ALICE).json()
    decisions = [e for e in world.call("GET", f"/requests/{request_id}/events", "dac1@example.org").json()
                 if e["kind"] in ("approve", "reject")]
    assert len(decisions) == 1
    assert len(world.call("GET", "/entitlements", ALICE).json()) == (1 if final["state"] == "approved" else 0)


def test_attachments_are_checked_and_private_to_the_request(world: World) -> None:
    request_id = world.draft(ALICE, [world.hmb])
    pdf = b"%PDF-1.4 ethics approval"
    path = f"/requests/{request_id}/attachments?filename=ethics.pdf"
    uploaded = world.call("POST", path, ALICE, content=pdf, headers={"content-type": "application/pdf"})
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json()["sha256"] == hashlib.sha256(pdf).hexdigest()
    wrong = world.call("POST", path, ALICE, content=b"MZ...", headers={"content-type": "application/x-msdownload"})
    assert wrong.status_code == 422
    too_big = world.call("POST", path, ALICE, content=b"x" * 10_000_001, headers={"content-type": "text/plain"})
    assert too_big.status_code == 422
    assert world.call("POST", path, CAROL, content=pdf, headers={"content-type": "application/pdf"}).status_code == 404
    download = f"/requests/{request_id}/attachments/{uploaded.json()['id']}"
    assert world.call("GET", download, ALICE).content == pdf
    assert world.call("GET", download, BOB).status_code == 404


def test_the_audit_log_is_for_admins_and_the_dac_of_the_datasets(world: World) -> None:
    world.approved(ALICE, [world.hmb])
    world.submitted(BOB, [world.elsewhere])
    admin = world.call("GET", "/audit", "admin@example.org").json()
    actions = [e["action"] for e in admin]
    assert {"request.create", "request.submit", "request.approve", "entitlement.grant"} <= set(actions)
    dac_view = world.call("GET", "/audit", "dac1@example.org").json()
    assert dac_view and all(e["request_id"] != "GGR000002" for e in dac_view)
    assert world.call("GET", "/audit", ALICE).status_code == 403
    assert world.call("GET", "/audit/verify", "admin@example.org").json()["ok"] is True
    assert world.call("GET", "/audit/verify", "dac1@example.org").status_code == 403


def test_notifications_are_queued_for_the_dac_and_the_applicant(world: World, session: Session) -> None:
    world.approved(ALICE, [world.hmb])
    notes = session.exec(select(Notification)).all()
    by_kind = {(n.kind, n.recipient) for n in notes}
    assert ("submission", "dac1@example.org") in by_kind
    assert ("submission", "dac@example.org") in by_kind
    assert ("decision", ALICE) in by_kind


def test_applicants_are_reminded_once_before_access_ends(world: World, session: Session) -> None:
    from access.services.entitlements import remind_expiring

    soon = (datetime.now(UTC) + timedelta(days=10)).isoformat()
    request_id = world.submitted(ALICE, [world.hmb])
    world.call("POST", f"/requests/{request_id}/decision", "dac1@example.org",
               json={"decision": "approve", "access_end": soon})
    world.approved(BOB, [world.hmb])  # a year: not due
    assert remind_expiring(session, days=30) == 1
    assert remind_expiring(session, days=30) == 0
    [note] = session.exec(select(Notification).where(Notification.kind == "expiry")).all()
    assert note.recipient == ALICE
    assert "renewal" in note.body


def test_an_approved_renewal_follows_without_a_gap(world: World) -> None:
    original = world.approved(ALICE, [world.hmb])
    renewal = world.call("POST", f"/requests/{original}/renew", ALICE).json()["id"]
    world.call("PATCH", f"/requests/{renewal}", ALICE, json={"accept_agreements": {world.hmb: "1"}})
    world.call("POST", f"/requests/{renewal}/submit", ALICE)
    end = (datetime.now(UTC) + timedelta(days=730)).isoformat()
    world.call("POST", f"/requests/{renewal}/decision", "dac1@example.org",
               json={"decision": "approve", "access_end": end})
    old, new = sorted(world.call("GET", "/entitlements", ALICE).json(), key=lambda e: e["id"])
    assert old["active"] and new["active"]
    assert new["start"] <= old["end"] < new["end"]
