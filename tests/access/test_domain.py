"""Pure rules: the request state machine and DUO purpose matching (no database)."""

from __future__ import annotations

import pytest

from access.domain import TRANSITIONS, Match, allowed_commands, check_use, combine, normalise_purpose, transition
from access.errors import InvalidTransition
from access.models import Command, RequestState

S, C = RequestState, Command
DECISIONS = [C.submit, C.return_, C.approve, C.reject, C.withdraw, C.close]

EXPECTED = {
    (S.draft, C.submit): S.submitted, (S.draft, C.withdraw): S.withdrawn, (S.draft, C.close): S.closed,
    (S.submitted, C.return_): S.returned, (S.submitted, C.approve): S.approved,
    (S.submitted, C.reject): S.rejected, (S.submitted, C.withdraw): S.withdrawn, (S.submitted, C.close): S.closed,
    (S.returned, C.submit): S.submitted, (S.returned, C.withdraw): S.withdrawn, (S.returned, C.close): S.closed,
    (S.approved, C.close): S.closed, (S.rejected, C.close): S.closed,
}


@pytest.mark.parametrize("state", list(S))
@pytest.mark.parametrize("command", DECISIONS)
def test_every_state_and_command(state: RequestState, command: Command) -> None:
    expected = EXPECTED.get((state, command))
    if expected is None:
        with pytest.raises(InvalidTransition, match=f"a {state.value} request cannot be"):
            transition(state, command)
    else:
        assert transition(state, command) is expected


def test_final_states_allow_nothing_and_say_so() -> None:
    for state in (S.withdrawn, S.closed):
        assert allowed_commands(state) == []
        with pytest.raises(InvalidTransition, match=r"allowed now: nothing \(it is final\)"):
            transition(state, C.submit)
    assert set(TRANSITIONS) == set(S)


def _check(purpose: list[str], conditions: list[str], *, diseases: list[str] | None = None,
           allowed: list[str] | None = None, for_profit: bool = False) -> tuple[Match, str]:
    verdict = check_use(normalise_purpose(purpose), diseases or [], for_profit=for_profit,
                        conditions=[*conditions], condition_diseases=allowed or [])
    return verdict.result, " ".join(verdict.reasons)


@pytest.mark.parametrize(("purpose", "conditions", "kwargs", "result", "reason"), [
    (["HMB"], ["DUO:0000042"], {}, Match.approve, "compatible"),
    (["POA"], ["DUO:0000042"], {}, Match.approve, "compatible"),
    (["DUO:0000031"], ["DUO:0000042"], {}, Match.approve, "compatible"),
    (["HMB"], ["DUO:0000006"], {}, Match.approve, "compatible"),
    (["DUO:0000038"], ["DUO:0000006"], {}, Match.approve, "compatible"),
    (["POA"], ["DUO:0000006"], {}, Match.deny, "population origins or ancestry"),
    (["DUO:0000032"], ["DUO:0000006"], {}, Match.deny, "population origins or ancestry"),
    (["DS"], ["DUO:0000007"], {"diseases": ["MONDO:0004994"], "allowed": ["MONDO:0004994"]}, Match.approve, ""),
    (["DS"], ["DUO:0000007"], {"diseases": ["MONDO:0005148"], "allowed": ["MONDO:0004994"]}, Match.abstain,
     "is not among the permitted diseases"),
    (["DS"], ["DUO:0000007"], {"allowed": ["MONDO:0004994"]}, Match.deny, "must name its disease"),
    (["HMB"], ["DUO:0000007"], {"allowed": ["MONDO:0004994"]}, Match.deny, "only for research on MONDO:0004994"),
    (["POA"], ["DUO:0000011"], {}, Match.approve, "compatible"),
    (["HMB"], ["DUO:0000011"], {}, Match.deny, "only for population origins"),
    (["HMB"], ["DUO:0000042", "DUO:0000046"], {"for_profit": True}, Match.deny, "non-commercial"),
    (["HMB"], ["DUO:0000042", "DUO:0000046"], {}, Match.approve, "compatible"),
    (["HMB"], ["DUO:0000042", "DUO:0000018"], {"for_profit": True}, Match.deny, "not-for-profit"),
    (["DUO:0000031"], ["DUO:0000042", "DUO:0000015"], {}, Match.deny, "NMDS"),
    (["POA"], ["DUO:0000042", "DUO:0000044"], {}, Match.deny, "NPOA"),
    (["HMB"], ["DUO:0000042", "DUO:0000021"], {}, Match.abstain, "ethics approval"),
    (["HMB"], ["DUO:0000042", "DUO:0000019", "DUO:0000020"], {}, Match.abstain, "collaboration"),
    (["HMB"], ["DUO:0000042", "DUO:0000022"], {}, Match.abstain, "geographical"),
    (["HMB"], ["DUO:0000042", "DUO:0000016"], {}, Match.abstain, "genetic studies"),
    (["POA"], ["DUO:0000006", "DUO:0000021"], {}, Match.deny, "ethics approval"),
    ([], ["DUO:0000042"], {}, Match.deny, "no research purpose"),
    (["HMB"], [], {}, Match.abstain, "no data use permission"),
])
def test_duo_matching(purpose: list[str], conditions: list[str], kwargs: dict[str, object], result: Match,
                      reason: str) -> None:
    got, reasons = _check(purpose, conditions, **kwargs)  # type: ignore[arg-type]
    assert got is result
    assert reason in reasons


def test_one_verdict_for_several_datasets_is_the_strictest() -> None:
    approve = check_use(["DUO:0000037"], [], for_profit=False, conditions=["DUO:0000042"], condition_diseases=[])
    abstain = check_use(["DUO:0000037"], [], for_profit=False, conditions=["DUO:0000042", "DUO:0000021"],
                        condition_diseases=[])
    deny = check_use(["DUO:0000033"], [], for_profit=False, conditions=["DUO:0000006"], condition_diseases=[])
    assert combine([approve, abstain]).result is Match.abstain
    assert combine([approve, abstain, deny]).result is Match.deny
    assert combine([approve, approve]).result is Match.approve
    assert len(combine([approve, deny]).reasons) == 2


def test_purposes_are_normalised_from_shorthands() -> None:
    assert normalise_purpose(["HMB", "DS", "POA", "DUO:0000031"]) == [
        "DUO:0000031", "DUO:0000033", "DUO:0000037", "DUO:0000040"]
