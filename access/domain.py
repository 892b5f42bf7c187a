"""Pure rules of the access workflow: the request state machine and DUO purpose/consent matching."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from access.errors import InvalidTransition
from access.models import Command, RequestState
from catalogue.duo import duo_term

__all__ = [
    "TRANSITIONS", "Match", "Verdict", "allowed_commands", "check_use", "combine", "normalise_purpose", "transition",
]

S, C = RequestState, Command

# state -> {command: next state}; comments and votes change no state and are checked by the services.
TRANSITIONS: dict[RequestState, dict[Command, RequestState]] = {
    S.draft: {C.submit: S.submitted, C.withdraw: S.withdrawn, C.close: S.closed},
    S.submitted: {C.return_: S.returned, C.approve: S.approved, C.reject: S.rejected, C.withdraw: S.withdrawn,
                  C.close: S.closed},
    S.returned: {C.submit: S.submitted, C.withdraw: S.withdrawn, C.close: S.closed},
    S.approved: {C.close: S.closed},
    S.rejected: {C.close: S.closed},
    S.withdrawn: {},
    S.closed: {},
}


def allowed_commands(state: RequestState) -> list[Command]:
    return list(TRANSITIONS[state])


def transition(current: RequestState, command: Command) -> RequestState:
    """The state `command` leads to from `current`; InvalidTransition naming what is allowed otherwise."""
    target = TRANSITIONS[current].get(command)
    if target is None:
        allowed = ", ".join(c.value for c in TRANSITIONS[current]) or "nothing (it is final)"
        raise InvalidTransition(f"a {current.value} request cannot be {_past(command)}; allowed now: {allowed}",
                                field="command")
    return target


def _past(command: Command) -> str:
    return {C.submit: "submitted", C.return_: "returned", C.approve: "approved", C.reject: "rejected",
            C.withdraw: "withdrawn", C.close: "closed"}.get(command, command.value)


# --- DUO matching ------------------------------------------------------------------------------------

class Match(StrEnum):
    approve = "approve"
    deny = "deny"
    abstain = "abstain"


@dataclass(frozen=True, slots=True)
class Verdict:
    result: Match
    reasons: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {"result": self.result.value, "reasons": list(self.reasons)}


# Research purposes as DUO terms; the permission shorthands are accepted as the purpose they permit.
GRU, HMB, DS, POA, NRES = "DUO:0000042", "DUO:0000006", "DUO:0000007", "DUO:0000011", "DUO:0000004"
METHODS, POPULATION, ANCESTRY = "DUO:0000031", "DUO:0000032", "DUO:0000033"
BIOMEDICAL, GENETIC, DRUGS, DISEASE = "DUO:0000037", "DUO:0000038", "DUO:0000039", "DUO:0000040"
_AS_PURPOSE = {HMB: BIOMEDICAL, DS: DISEASE, POA: ANCESTRY}
_HEALTH = {BIOMEDICAL, GENETIC, DRUGS, DISEASE}
_ORIGINS = {POPULATION, ANCESTRY}
# Modifiers a machine cannot judge: a DAC member has to look.
_NEEDS_PERSON = {
    "DUO:0000021": "ethics approval (IRB) must be checked",
    "DUO:0000019": "the publication requirement must be agreed",
    "DUO:0000020": "collaboration with the data's investigators must be arranged",
    "DUO:0000024": "the publication moratorium must be agreed",
    "DUO:0000022": "the geographical restriction must be checked",
    "DUO:0000016": "the use must be limited to genetic studies",
    "DUO:0000012": "the research-specific restriction must be checked",
    "DUO:0000026": "the user-specific restriction must be checked",
    "DUO:0000027": "the project-specific restriction must be checked",
    "DUO:0000028": "the institution-specific restriction must be checked",
    "DUO:0000025": "the time limit on use must be set",
    "DUO:0000029": "returning derived data to the resource must be agreed",
}
_NOT_FOR_PROFIT = {"DUO:0000018", "DUO:0000045", "DUO:0000046"}
_NO_METHODS, _NO_ORIGINS = "DUO:0000015", "DUO:0000044"


def normalise_purpose(terms: Iterable[str]) -> list[str]:
    """Purposes as sorted research-purpose CURIEs (HMB -> biomedical research, DS -> disease research, ...)."""
    return sorted({_AS_PURPOSE.get(duo_term(t).id, duo_term(t).id) for t in terms})


def check_use(purpose: Sequence[str], diseases: Sequence[str], *, for_profit: bool,
              conditions: Sequence[str], condition_diseases: Sequence[str]) -> Verdict:
    """Can a project with this purpose use a dataset with these data use conditions? (DUOS-style rules.)

    `purpose` holds research-purpose terms (normalise_purpose); `conditions` the dataset's DUO terms.
    Deny when a rule is broken, abstain when only a person can tell, approve otherwise.
    """
    wanted = set(purpose)
    if not wanted:
        return Verdict(Match.deny, ("no research purpose was given",))
    denies: list[str] = []
    abstains: list[str] = []
    permission = next((c for c in conditions if c in (NRES, GRU, HMB, DS, POA)), None)
    if permission is None:
        abstains.append("the dataset states no data use permission; the DAC must judge")
    elif permission == HMB and wanted & _ORIGINS:
        denies.append("HMB data may not be used for population origins or ancestry research")
    elif permission == DS:
        denies += _disease_rule(wanted, diseases, condition_diseases, abstains)
    elif permission == POA and wanted - _ORIGINS - {METHODS}:
        denies.append("POA data may be used only for population origins or ancestry research")
    if for_profit and _NOT_FOR_PROFIT & set(conditions):
        denies.append("the data is for not-for-profit, non-commercial use only")
    if _NO_METHODS in conditions and METHODS in wanted:
        denies.append("the data may not be used for general methods development (NMDS)")
    if _NO_ORIGINS in conditions and wanted & _ORIGINS:
        denies.append("population origins or ancestry research is prohibited (NPOA)")
    abstains += [reason for term, reason in _NEEDS_PERSON.items() if term in conditions]
    if denies:
        return Verdict(Match.deny, tuple(denies + abstains))
    if abstains:
        return Verdict(Match.abstain, tuple(abstains))
    return Verdict(Match.approve, ("the purpose is compatible with the data use conditions",))


def _disease_rule(wanted: set[str], diseases: Sequence[str], allowed: Sequence[str],
                  abstains: list[str]) -> list[str]:
    other = wanted - {DISEASE, METHODS}
    if other:
        return [f"DS data may be used only for research on {', '.join(allowed) or 'the named diseases'}"]
    if DISEASE not in wanted:
        return []  # methods development alone, bounded by the NMDS rule
    unknown = [d for d in diseases if d not in allowed]
    if not diseases:
        return ["disease-specific research must name its disease(s)"]
    if unknown:
        # Without the disease ontology's hierarchy a narrower term cannot be told from an unrelated one.
        abstains.append(f"{', '.join(unknown)} is not among the permitted diseases ({', '.join(allowed)}); "
                        "a DAC member must judge whether it falls under them")
    return []


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """One verdict for several datasets: the strictest result, every reason."""
    verdicts = list(verdicts)
    reasons = tuple(r for v in verdicts for r in v.reasons)
    for result in (Match.deny, Match.abstain):
        if any(v.result is result for v in verdicts):
            return Verdict(result, reasons)
    return Verdict(Match.approve, reasons)
