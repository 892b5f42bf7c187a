"""Counting a planned variant query per dataset: index tallies, per-group counts or the genotypes of a selection."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import NamedTuple, TypeVar

from sqlmodel import Session

from beacon.answers import DatasetResult, Reason, VariantRecord
from beacon.gate import Admitted
from beacon.genotypes import COPIES, Carrier, carriers_of, selected_carriers
from beacon.granularity import Granularity, included, shown_granularity
from beacon.models import BeaconRequest
from beacon.plan import Plan, Scoped
from catalogue.services.lookup import (
    WITHDRAWN,
    PublishedDataset,
    VariantHit,
    VariantSearch,
    VariantTally,
    annotations_of,
    find_variants,
    tally_variants,
)

__all__ = ["count_variants", "dataset_result", "group_tally", "withdrawn_tally"]

R = TypeVar("R")

_NOTHING = VariantTally(0, 0, 0)

Carried = list[tuple[VariantHit, tuple[Carrier, ...]]]


class _Counts(NamedTuple):
    tallies: dict[str, VariantTally]
    carried: dict[str, Carried]  # per dataset, when filters are read from the files


def count_variants(session: Session, plan: Plan, admitted: Admitted,
                   request: BeaconRequest) -> tuple[DatasetResult[VariantRecord], ...]:
    """Each admitted dataset's result: its tally, the granularity it is shown at, and its page of records.

    The individuals the filters select are counted from the index's per-group counts where it keeps them
    (one sex or population), else from their genotypes in the files (diseases, combinations).
    """
    counts = _count(session, plan, admitted.datasets)
    charged = admitted.budgeted
    for item in admitted.datasets:
        d = item.dataset
        if d.id in charged and plan.scan is None and not counts.tallies.get(d.id, _NOTHING).variants:
            ghost = withdrawn_tally(session, d, plan.searches[d.assembly], plan.group)
            if ghost is not None:
                counts.tallies[d.id] = ghost
    return tuple([_result(session, plan, item, counts, request, item.dataset.id in charged)
                  for item in admitted.datasets])


def _count(session: Session, plan: Plan, datasets: Sequence[Scoped]) -> _Counts:
    counts = _Counts({}, {})
    by_assembly: dict[str, list[PublishedDataset]] = {}
    for item in datasets:
        by_assembly.setdefault(item.dataset.assembly, []).append(item.dataset)
    for assembly, members in by_assembly.items():
        search = plan.searches[assembly]
        if plan.scan is not None:
            for d in members:
                carried = counts.carried[d.id] = selected_carriers(session, d, search, plan.scan)
                counts.tallies[d.id] = _carrier_tally(carried)
        elif plan.group is None:
            counts.tallies.update(tally_variants(session, members, search))
        else:
            counts.tallies.update(group_tally(find_variants(session, members, search), plan.group))
    return counts


def _result(session: Session, plan: Plan, item: Scoped, counts: _Counts, request: BeaconRequest,
            budgeted: bool) -> DatasetResult[VariantRecord]:
    tally = counts.tallies.get(item.dataset.id, _NOTHING)
    return dataset_result(item, tally.variants, lambda: _records(session, plan, item.dataset, counts, request),
                          include=request.include, hidden_by=tally.carriers,
                          limited_by=Reason.PRIVACY_BUDGETED if budgeted else None, tally=tally)


def dataset_result(item: Scoped, matched: int, records: Callable[[], Iterable[R]], *, include: str | None,
                   hidden_by: int | None = None, limited_by: Reason | None = None,
                   tally: VariantTally | None = None) -> DatasetResult[R]:
    """A dataset's result of `matched` entries, at its level once the small-count policy applied.

    The count the threshold applies to is `hidden_by` (a variant answer's carriers), else `matched`.
    `records()` gives the record-level page; it is asked only for a dataset listed at record level.
    `include` is the request's includeResultsetResponses (None: every dataset at count level is listed).
    """
    d, level, rights = item
    shown = shown_granularity(level, count=matched if hidden_by is None else hidden_by,
                              threshold=d.count_threshold, record_rights=rights)
    listed = shown >= Granularity.COUNT and (include is None or included(include, matched > 0))
    page = tuple(records()) if listed and shown is Granularity.RECORD else ()
    limited = Reason.COUNT_BELOW_THRESHOLD if shown < level else limited_by
    return DatasetResult(d, shown, matched > 0, matched, rights, listed, page, limited, tally)


def _records(session: Session, plan: Plan, d: PublishedDataset, counts: _Counts,
             request: BeaconRequest) -> tuple[VariantRecord, ...]:
    """The page of record-level results, with their carriers (the selected ones, when filters were read)."""
    if plan.scan is not None:
        page = counts.carried[d.id][request.skip:request.skip + request.limit]
        annotated = annotations_of(session, [hit for hit, _ in page]) if d.annotated else [()] * len(page)
        return tuple(VariantRecord(d.assembly, hit, carriers, notes)
                     for (hit, carriers), notes in zip(page, annotated, strict=True))
    hits = find_variants(session, [d], plan.searches[d.assembly], limit=request.limit, offset=request.skip)
    annotations = annotations_of(session, hits) if d.annotated else [()] * len(hits)
    return tuple(VariantRecord(d.assembly, hit, carriers, notes)
                 for hit, carriers, notes in zip(hits, carriers_of(session, d, hits), annotations, strict=True))


def withdrawn_tally(session: Session, dataset: PublishedDataset, search: VariantSearch,
                    group: str | None) -> VariantTally | None:
    """The match among the alleles opt-outs withdrew from the dataset (of one index group, if given), or None.

    A budgeted (yes/no) answer that finds nothing carried now says "yes" when such an allele matches: it was
    carried when the caller may first have asked, and a yes turned no would tell someone who knows a genome that
    its owner was a member and opted out, which no price the budget charges covers (README, Opt-out)."""
    if group is None:
        return tally_variants(session, [dataset], search, table=WITHDRAWN).get(dataset.id)
    return group_tally(find_variants(session, [dataset], search, table=WITHDRAWN), group).get(dataset.id)


def group_tally(hits: Sequence[VariantHit], group: str) -> dict[str, VariantTally]:
    """Per dataset, the variants one index group (a sex, a population) carries, their alleles and carriers."""
    sums: dict[str, list[int]] = {}
    for hit in hits:
        counts = (hit.groups or {}).get(group)
        if not counts or counts[0] <= 0:
            continue
        ac, _an, het, hom = (int(x) for x in counts[:4])
        carriers = het + hom + max(ac - het - 2 * hom, 0)
        row = sums.setdefault(hit.dataset_id, [0, 0, 0])
        row[0] += 1
        row[1] += ac
        row[2] += carriers
    return {k: VariantTally(*v) for k, v in sums.items()}


def _carrier_tally(carried: Carried) -> VariantTally:
    return VariantTally(len(carried), sum(COPIES[c.zygosity] for _, cs in carried for c in cs),
                        sum(len(cs) for _, cs in carried))
