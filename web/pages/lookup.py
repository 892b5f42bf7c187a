"""Variant lookup: a form over the Beacon's own query service, each dataset's answer explained in words."""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Literal
from urllib.parse import urlencode

import anyio.from_thread
from fastapi import Query, Request
from fastapi.responses import HTMLResponse

from beacon import request as beacon_request
from beacon.answers import DatasetResult, Exclusion, Reason, VariantAnswer, VariantRecord
from beacon.granularity import Granularity
from beacon.privacy.errors import BudgetExhausted, TooRevealing
from beacon.privacy.services import Gate
from beacon.reference import References
from beacon.services import answer_variants
from catalogue.counts import allele_counts_known, carriers_known
from catalogue.deps import ReadSessionDep, SessionDep, SettingsDep
from catalogue.errors import DomainError, InvalidInput
from catalogue.identity import Caller
from catalogue.models import Dataset, SecurityLevel
from catalogue.services.datasets import get_dataset
from network.combine import NetworkAnswer
from network.fanout import Call, Network
from network.forwarding import Identity
from web.i18n import DEFAULT_LANGUAGE, N_, Translator, translator
from web.routing import page_router
from web.session import PageCallerDep, session_token
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
    """One dataset's answer as the page shows it (its words in the page's language)."""

    dataset: Dataset
    granularity: str  # none, boolean, count or record
    exists: bool | None
    explanation: str
    level_words: str  # the granularity as the page says it
    count: int | None = None
    allele_count: int | None = None
    carriers: int | None = None
    records: tuple[VariantRecord, ...] = ()
    sign_in: bool = False
    request_access: bool = False


_LEVEL_WORDS = {"none": N_("not answered"), "boolean": N_("yes/no answer"), "count": N_("counts"),
                "record": N_("record-level answer")}
# Why a dataset gave no answer, in other languages than English (in English the page gives the Beacon's own words,
# Exclusion.text, which these follow).
_EXCLUDED = {
    Reason.OTHER_ASSEMBLY: N_("its assembly %(assembly)s is not the query's (%(asked)s)"),
    Reason.SIGN_IN_REQUIRED: N_("it answers signed-in callers only"),
    Reason.RECORD_RIGHTS_REQUIRED: N_("it does not answer Beacon queries without record-level rights"),
    Reason.NOT_ANNOTATED: N_("its variants carry no annotations (VEP CSQ or SnpEff ANN) to answer this question"),
    Reason.GENOTYPES_SIGN_IN_REQUIRED: N_("it holds individuals' genotypes and answers signed-in callers only, "
                                          "within a privacy budget"),
    Reason.PRIVACY_REFUSED: N_("this question alone could reveal whether one person is in the cohort"),
    Reason.BUDGET_SPENT: N_("your privacy budget for this dataset is spent"),
    Reason.INDIVIDUAL_RECORD_RIGHTS_REQUIRED: N_("an individual's genotypes need record-level rights"),
    Reason.COUNT_BELOW_THRESHOLD: N_("its count is below the threshold for showing counts"),
    Reason.PRIVACY_BUDGETED: N_("it holds individuals' genotypes: it answers yes or no, within a privacy budget"),
}


def explain(answer: VariantAnswer, caller: Caller, datasets: dict[str, Dataset],
            t: Translator) -> list[DatasetAnswer]:
    """Each dataset's answer, with why it is given at that granularity, and why the others gave none."""
    anonymous = not caller.authenticated
    shown = [_answered(r, datasets[r.dataset.id], anonymous, t) for r in answer.results]
    shown += [_excluded(e, datasets[e.dataset_id], anonymous, t) for e in answer.excluded]
    return sorted(shown, key=lambda a: a.dataset.id)


def _answered(result: DatasetResult[VariantRecord], dataset: Dataset, anonymous: bool,
              t: Translator) -> DatasetAnswer:
    controlled = dataset.security == SecurityLevel.CONTROLLED
    level = result.granularity
    shown = DatasetAnswer(dataset, level.label, result.exists, _explanation(result, dataset, t),
                          t.gettext(_LEVEL_WORDS[level.label]),
                          sign_in=anonymous and level is not Granularity.RECORD,
                          request_access=controlled and level is not Granularity.RECORD)
    if result.listed and result.tally is not None:
        shown.count, shown.allele_count = result.matched, result.tally.allele_count
        # Allele counts without genotypes (a sites-only file) say nothing of carriers.
        shown.carriers = result.tally.carriers if carriers_known(dataset.statistics) else None
        shown.records = result.records
    return shown


def _explanation(result: DatasetResult[VariantRecord], dataset: Dataset, t: Translator) -> str:
    _ = t.gettext
    if not allele_counts_known(dataset.statistics):
        return _("Present or absent only: this dataset's files say which variants are present but give no allele "
                 "counts, so there are no counts or carriers to show.")
    if result.granularity is Granularity.RECORD:
        return _("Record level: your approved access shows each variant and its carriers.")
    if result.count_hidden:
        return _("Present, but the count is hidden below %(threshold)s: small numbers are shown only with "
                 "record-level access.", threshold=dataset.count_threshold)
    controlled = dataset.security == SecurityLevel.CONTROLLED
    budgeted = result.limited_by is Reason.PRIVACY_BUDGETED
    if budgeted and not controlled:
        return _("Present or absent only: this dataset holds individuals' genotypes, and counts could reveal who "
                 "is in it. Each new question is charged to your privacy budget; record-level data needs an "
                 "approved access request.")
    if result.granularity is Granularity.COUNT:
        shown = (_("Counts are shown to anyone.") if dataset.security == SecurityLevel.PUBLIC
                 else _("Counts are shown to signed-in users."))
        return shown + (" " + _("Record-level data needs an approved access request.") if controlled else "")
    return (_("This controlled dataset only says whether the variant is present; records need an approved access "
              "request.") + (" " + _("Each new question is charged to your privacy budget.") if budgeted else ""))


def _excluded(exclusion: Exclusion, dataset: Dataset, anonymous: bool, t: Translator) -> DatasetAnswer:
    sign_in = anonymous and exclusion.reason.sign_in_helps
    reason = (exclusion.text if t.language == DEFAULT_LANGUAGE else
              t.gettext(_EXCLUDED[exclusion.reason], assembly=exclusion.assembly, asked=", ".join(exclusion.asked)))
    return DatasetAnswer(dataset, "none", None, t.gettext("Not answered: %(reason)s.", reason=reason),
                         t.gettext(_LEVEL_WORDS["none"]), sign_in=sign_in,
                         request_access=dataset.security == SecurityLevel.CONTROLLED and not sign_in)


_ENGLISH = Translator(DEFAULT_LANGUAGE)


def refusal_message(error: DomainError, t: Translator = _ENGLISH) -> str:
    """What the page says when the Beacon refuses a query; other errors' messages (meant for people, from the
    services) are shown as they are."""
    if isinstance(error, BudgetExhausted):
        if error.renews_at is not None:
            return t.gettext("Your privacy budget for this dataset is spent until %(when)s UTC: new questions about "
                             "it are refused, questions you asked before are still answered. Request access for "
                             "record-level answers.", when=error.renews_at.strftime("%Y-%m-%d %H:%M"))
        return t.gettext("Your privacy budget for this dataset is spent for good (budgets here do not renew): new "
                         "questions about it are refused, questions you asked before are still answered. Request "
                         "access for record-level answers.")
    if isinstance(error, TooRevealing):
        return t.gettext("This question alone could reveal whether one person is in the cohort (no public reference "
                         "shows the allele to be common), so it is answered only with record-level access.")
    return error.message


def _references(request: Request) -> References:
    references: References | None = getattr(request.app.state, "web_references", None)
    if references is None:
        references = request.app.state.web_references = References(
            request.app.state.runtime.settings.reference_fasta)
    return references


def _ask_network(request: Request, caller: Caller, form: LookupForm, max_limit: int) -> NetworkAnswer:
    """The whole network's answer to the form's query: this node and every peer, under the node's deadline, the
    signed-in user's token forwarded only to peers configured to take it (web/session.py keeps it)."""
    started = time.monotonic()
    network: Network = request.app.state.network
    params = form.beacon_params()
    parsed = beacon_request.from_query(params, max_limit=max_limit)
    identity = Identity(bearer=session_token(request) if caller.authenticated else None, address=caller.address)
    call = Call("GET", "/g_variants", urlencode(params))
    answer = anyio.from_thread.run(partial(network.ask, caller, identity, parsed, call,
                                           deadline=network.settings.network_deadline_seconds, started=started))
    network.record(answer.to_record)
    return answer


@router.get("/variants", response_class=HTMLResponse)
def lookup_page(request: Request, session: SessionDep, caller: PageCallerDep, settings: SettingsDep,
                reads: ReadSessionDep, assembly: Literal["GRCh37", "GRCh38"] = "GRCh38", chrom: Short = "",
                start: Short = "", end: Short = "", ref: Bases = "", alt: Bases = "",
                where: Literal["node", "network"] = "node") -> HTMLResponse:
    form = LookupForm(assembly=assembly, chrom=chrom, start=start, end=end, ref=ref, alt=alt)
    answers: list[DatasetAnswer] | None = None
    refusal = None
    if form.asked and where == "network":
        try:
            network = _ask_network(request, caller, form, settings.max_page_size)
        except DomainError as exc:
            refusal = refusal_message(exc)
            network = None
        return render(request, "lookup.html", {"form": form, "answers": None, "refusal": refusal,
                                               "network": network, "where": where})
    if form.asked:
        try:
            parsed = beacon_request.from_query(form.beacon_params(), max_limit=settings.max_page_size)
            answered = answer_variants(session, caller, parsed, gate=Gate.for_caller(caller, settings),
                                       references=_references(request), reads=reads)
            ids = [r.dataset.id for r in answered.results] + [e.dataset_id for e in answered.excluded]
            answers = explain(answered, caller, {i: get_dataset(session, caller, i) for i in ids},
                              translator(request))
        except DomainError as exc:
            refusal = refusal_message(exc, translator(request))
    return render(request, "lookup.html", {"form": form, "answers": answers, "refusal": refusal, "network": None,
                                           "where": where})
