"""Answering genomic-variation queries as a pipeline: plan, gate, count, audit; then present as Beacon JSON.

parse (beacon.request, beacon.query) -> plan (beacon.plan: datasets in scope, searches per assembly) ->
gate (beacon.gate over beacon.privacy) -> count (beacon.count, beacon.genotypes) -> audit (beacon.audit) ->
present (beacon.present: the typed answer as a Beacon document; the web's lookup page renders it as HTML).

Two sessions: `session` (the primary) takes the gate's charges and the audit, `reads` (a read replica's,
read-only connections; `session` itself when there is no replica) the plan and the counts.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import Session

from beacon.answers import VariantAnswer
from beacon.audit import audit_variant_answer
from beacon.count import count_variants
from beacon.errors import InvalidParameter
from beacon.gate import admit
from beacon.granularity import Granularity
from beacon.models import BeaconRequest
from beacon.plan import Plan, plan_variant_id, plan_variants
from beacon.present import present_variants
from beacon.privacy.services import Gate
from beacon.reference import References
from beacon.responses import BEACON_ID
from catalogue.identity import Caller
from catalogue.services.lookup import dataset_file

__all__ = ["answer", "answer_variant_id", "answer_variants", "handover_files", "query_variants"]


def query_variants(session: Session, caller: Caller, request: BeaconRequest, *, base_url: str, gate: Gate,
                   dataset_id: str | None = None, references: References | None = None,
                   reads: Session | None = None, beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """Answer a g_variants query (GET or POST, or under /datasets/{id}) as a Beacon response document of the
    Beacon `beacon_id`."""
    answered = answer_variants(session, caller, request, gate=gate, dataset_id=dataset_id, references=references,
                               reads=reads)
    return present_variants(answered, base_url=base_url, files=handover_files(reads or session, answered),
                            beacon_id=beacon_id)


def handover_files(session: Session, answered: VariantAnswer) -> dict[str, list[tuple[str, str]]]:
    """(id, format) of the files of each dataset with a record-level hit: its handovers name their format."""
    return {r.dataset.id: [(f.id, f.format.upper()) for f in dataset_file(session, r.dataset.id)]
            for r in answered.results if r.granularity is Granularity.RECORD and r.exists}


def answer_variants(session: Session, caller: Caller, request: BeaconRequest, *, gate: Gate,
                    dataset_id: str | None = None, references: References | None = None,
                    reads: Session | None = None) -> VariantAnswer:
    """A g_variants query's typed answer: each dataset's result at the caller's granularity, and exclusions."""
    plan = plan_variants(reads or session, caller, request, dataset_id=dataset_id, references=references)
    return answer(session, caller, request, plan, gate=gate, reads=reads)


def answer_variant_id(session: Session, caller: Caller, request: BeaconRequest, variant: str, *,
                      gate: Gate, reads: Session | None = None) -> VariantAnswer:
    """One variant by its id (/g_variants/{id}), in every dataset of its assembly."""
    if request.params:
        raise InvalidParameter(next(iter(request.params)), "is not a parameter of /g_variants/{id}")
    plan = plan_variant_id(reads or session, caller, request, variant)
    return answer(session, caller, request, plan, gate=gate, reads=reads)


def answer(session: Session, caller: Caller, request: BeaconRequest, plan: Plan, *, gate: Gate,
           reads: Session | None = None) -> VariantAnswer:
    """Run a plan: the privacy gate admits (and charges) datasets, they are counted (through `reads`),
    record-level ones audited."""
    admitted = admit(session, gate, plan.datasets, plan.search_of, selection=plan.selection)
    results = count_variants(reads or session, plan, admitted, request)
    answered = VariantAnswer(request, plan, results, plan.excluded + admitted.excluded)
    audit_variant_answer(session, caller, answered, sample_key=gate.sample_key)
    return answered
