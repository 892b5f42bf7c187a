"""Variant lookup: a form over the Beacon's own query service, each dataset's answer explained in words."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from beacon import request as beacon_request
from beacon.privacy.errors import BudgetExhausted, TooRevealing
from beacon.privacy.services import Gate
from beacon.reference import References
from beacon.services import query_variants
from catalogue.deps import SessionDep, SettingsDep
from catalogue.errors import DomainError, InvalidInput
from catalogue.identity import Caller
from catalogue.models import Dataset, SecurityLevel
from catalogue.services.datasets import get_dataset
from web.routing import page_router
from web.session import PageCallerDep
from web.templating import render

__all__ = ["DatasetAnswer", "LookupForm", "explain", "refusal_message", "router"]

router = page_router()
Short = Annotated[str, Query(max_length=40)]
Bases = Annotated[str, Query(max_length=1000)]


@dataclass(frozen=True, slots=True)
class LookupForm:
    """The lookup form, in the words people use: 1-based positions as in VCF and genome browsers.

    `start` is the position of a sequence query or the first position of a range; `end` the range's last.
    """

    assembly: str = "GRCh38"
    chrom: str = ""
    start: str = ""
    end: str = ""
    ref: str = ""
    alt: str = ""

    @property
    def asked(self) -> bool:
        return bool(self.chrom.strip())

    def beacon_params(self) -> list[tuple[str, str]]:
        """The same query as Beacon parameters (0-based, half-open), at the most detail the caller may see."""
        start = self._position(self.start, "start")
        params = [("assemblyId", self.assembly), ("referenceName", self.chrom.strip()),
                  ("requestedGranularity", "record"), ("start", str(start - 1))]
        if self.ref.strip() or self.alt.strip():
            if not (self.ref.strip() and self.alt.strip()):
                raise InvalidInput("a sequence query needs both the reference and the alternate bases", field="alt")
            return params + [("referenceBases", self.ref.strip().upper()),
                             ("alternateBases", self.alt.strip().upper())]
        if not self.end.strip():
            raise InvalidInput("give the last position of the range, or the reference and alternate bases",
                               field="end")
        end = self._position(self.end, "end")
        if end < start:
            raise InvalidInput("the range ends before it starts", field="end")
        return params + [("end", str(end))]

    @staticmethod
    def _position(value: str, name: str) -> int:
        text = value.strip().replace(",", "").replace("_", "")
        if not text.isdigit() or int(text) < 1:
            raise InvalidInput(f"{name} must be a position of 1 or more", field=name)
        return int(text)


@dataclass(slots=True)
class DatasetAnswer:
    """One dataset's answer as the page shows it."""

    dataset: Dataset
    granularity: str  # none, boolean, count or record
    exists: bool | None
    explanation: str
    count: int | None = None
    allele_count: int | None = None
    carriers: int | None = None
    records: list[dict[str, Any]] = field(default_factory=list)
    sign_in: bool = False
    request_access: bool = False


def explain(document: dict[str, Any], caller: Caller, datasets: dict[str, Dataset]) -> list[DatasetAnswer]:
    """Each dataset's answer in a Beacon response, with why it is given at that granularity."""
    sets = {s["id"]: s for s in document.get("response", {}).get("resultSets", [])}
    anonymous = not caller.authenticated
    answers = []
    for entry in document["info"].get("datasets", []):
        dataset = datasets[entry["datasetId"]]
        controlled = dataset.security == SecurityLevel.CONTROLLED
        level, found = entry["returnedGranularity"], bool(entry["exists"])
        answer = DatasetAnswer(dataset, level, found, "", sign_in=anonymous, request_access=controlled)
        result = sets.get(dataset.id)
        if result is not None and level in ("count", "record"):
            answer.count = result["resultsCount"]
            answer.allele_count = result.get("info", {}).get("alleleCount")
            # Allele counts without genotypes (a sites-only file) say nothing of carriers.
            answer.carriers = result.get("info", {}).get("carriers") if dataset.statistics.get("samples") else None
            answer.records = result.get("results", [])
        if level == "record":
            answer.request_access = answer.sign_in = False
            answer.explanation = "Record level: your approved access shows each variant and its carriers."
        elif "countBelowThreshold" in entry:
            answer.explanation = (f"Present, but the count is hidden below {entry['countBelowThreshold']}: small "
                                  "numbers are shown only with record-level access.")
        elif level == "boolean" and not controlled:
            answer.explanation = ("Present or absent only: this dataset holds individuals' genotypes, and counts "
                                  "could reveal who is in it. Each new question is charged to your privacy budget; "
                                  "record-level data needs an approved access request.")
        elif level == "count":
            answer.explanation = ("Counts are shown to " + ("anyone" if dataset.security == SecurityLevel.PUBLIC
                                                            else "signed-in users") + ".")
            if controlled:
                answer.explanation += " Record-level data needs an approved access request."
        else:
            answer.explanation = ("This controlled dataset only says whether the variant is present; records need "
                                  "an approved access request.")
            if dataset.privacy_p > 0 and dataset.statistics.get("samples"):
                answer.explanation += " Each new question is charged to your privacy budget."
        answers.append(answer)
    for entry in document["info"].get("excludedDatasets", []):
        dataset = datasets[entry["datasetId"]]
        needs_sign_in = anonymous and "signed-in" in entry["reason"]
        answers.append(DatasetAnswer(
            dataset, "none", None, f"Not answered: {entry['reason']}.", sign_in=needs_sign_in,
            request_access=dataset.security == SecurityLevel.CONTROLLED and not needs_sign_in))
    return sorted(answers, key=lambda a: a.dataset.id)


def refusal_message(error: DomainError) -> str:
    """What the page says when the Beacon refuses a query; the error's message is meant for people."""
    if isinstance(error, BudgetExhausted):
        when = (f"until {error.renews_at:%Y-%m-%d %H:%M} UTC" if error.renews_at is not None
                else "for good (budgets here do not renew)")
        return (f"Your privacy budget for this dataset is spent {when}: new questions about it are refused, "
                "questions you asked before are still answered. Request access for record-level answers.")
    if isinstance(error, TooRevealing):
        return ("This question alone could reveal whether one person is in the cohort (no public reference shows "
                "the allele to be common), so it is answered only with record-level access.")
    return error.message


def _references(request: Request) -> References:
    references: References | None = getattr(request.app.state, "web_references", None)
    if references is None:
        references = request.app.state.web_references = References(
            request.app.state.runtime.settings.reference_fasta)
    return references


@router.get("/variants", response_class=HTMLResponse)
def lookup_page(request: Request, session: SessionDep, caller: PageCallerDep, settings: SettingsDep,
                      assembly: Literal["GRCh37", "GRCh38"] = "GRCh38", chrom: Short = "", start: Short = "",
                      end: Short = "", ref: Bases = "", alt: Bases = "") -> HTMLResponse:
    form = LookupForm(assembly=assembly, chrom=chrom, start=start, end=end, ref=ref, alt=alt)
    answers: list[DatasetAnswer] | None = None
    refusal = None
    if form.asked:
        try:
            parsed = beacon_request.from_query(form.beacon_params(), max_limit=settings.max_page_size)
            document = query_variants(session, caller, parsed, base_url=settings.public_base_url,
                                      gate=Gate.for_caller(caller, settings), references=_references(request))
            ids = [e["datasetId"] for e in (*document["info"].get("datasets", []),
                                            *document["info"].get("excludedDatasets", []))]
            answers = explain(document, caller, {i: get_dataset(session, caller, i) for i in ids})
        except DomainError as exc:
            refusal = refusal_message(exc)
    return render(request, "lookup.html", {"form": form, "answers": answers, "refusal": refusal})
