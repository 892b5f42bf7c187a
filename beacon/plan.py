"""Planning a Beacon query: the datasets in scope at the caller's granularity, and each assembly's search."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace
from typing import NamedTuple

from sqlmodel import Session

from access.rights import record_datasets
from beacon.answers import Exclusion, Reason
from beacon.errors import InvalidParameter
from beacon.filters import Selection, select_individuals, variant_group
from beacon.granularity import Granularity, allowed_granularity, returned_granularity
from beacon.models import BeaconRequest
from beacon.query import VariantQuery, parse_variant_query, search_for
from beacon.reference import References
from catalogue.annotations import gene_key
from catalogue.errors import NotFound
from catalogue.identity import Caller
from catalogue.models import SecurityLevel
from catalogue.services.lookup import PublishedDataset, VariantSearch, find_gene, published_for_queries

__all__ = [
    "Plan", "Scope", "Scoped", "dataset_scope", "parse_variant_id", "plan_variant_id",
    "plan_variants", "record_rights",
]

_VARIANT_ID = re.compile(r"^(GRCh3[78]):([0-9XYMT]{1,2}):(\d+):([ACGTN]+):([ACGTN]+|<[A-Z:0-9]+>)$")
_ALIASES = {"GRCh37": "hg19", "GRCh38": "hg38"}


class Scoped(NamedTuple):
    """A dataset in a query's scope, the granularity it answers this caller at, and the caller's record rights.

    A tuple, as the privacy gate takes and returns them.
    """

    dataset: PublishedDataset
    granularity: Granularity
    record_rights: bool


class Scope(NamedTuple):
    """The datasets a query reaches, and those left out and why."""

    datasets: tuple[Scoped, ...]
    excluded: tuple[Exclusion, ...]


class Plan(NamedTuple):
    """What a variant query will do: the datasets it asks, the search per assembly, how filters are answered.

    `group` is the index group (one sex or population) whose counts answer the filters; `scan` holds the
    selection when the filters are answered from the genotypes in the files instead (None: no such filters).
    """

    query: VariantQuery
    selection: Selection | None
    group: str | None
    scan: Selection | None
    datasets: tuple[Scoped, ...]
    searches: dict[str, VariantSearch]
    excluded: tuple[Exclusion, ...]

    def search_of(self, dataset: PublishedDataset) -> VariantSearch:
        """The search that asks `dataset` (its assembly's)."""
        return self.searches[dataset.assembly]


def record_rights(session: Session, caller: Caller, dataset_ids: Sequence[str]) -> frozenset[str]:
    """The datasets whose records the caller may see: active entitlements and accepted GA4GH visas."""
    if caller.subject is None or not dataset_ids:
        return frozenset()
    by_visa = frozenset(d for d in dataset_ids if d in caller.visa_grants)
    return record_datasets(session, caller.subject, dataset_ids) | by_visa


def dataset_scope(session: Session, caller: Caller, request: BeaconRequest, *, only: str | None = None,
                  assemblies: Sequence[str] | None = None) -> Scope:
    """Published datasets restricted by datasetIds (or one path id) and assembly, with granularities."""
    excluded: list[Exclusion] = []
    in_assembly = []
    for d in _wanted(session, request, only):
        if assemblies is not None and d.assembly not in assemblies:
            excluded.append(Exclusion(d.id, Reason.OTHER_ASSEMBLY, assembly=d.assembly, asked=tuple(assemblies)))
        else:
            in_assembly.append(d)
    authenticated = caller.authenticated
    rights = record_rights(session, caller, [d.id for d in in_assembly]) if authenticated else frozenset()
    scoped: list[Scoped] = []
    for d in in_assembly:
        records = d.id in rights
        allowed = allowed_granularity(d.security, authenticated=authenticated, record_rights=records,
                                      controlled_granularity=d.beacon_granularity)
        level = returned_granularity(request.granularity, allowed)
        if not d.counts_known:  # presence only: any count would be made up
            level = min(level, Granularity.BOOLEAN)
        if level is not Granularity.NONE:
            scoped.append(Scoped(d, level, records))
        elif not authenticated and d.security == SecurityLevel.REGISTERED:
            excluded.append(Exclusion(d.id, Reason.SIGN_IN_REQUIRED))
        else:
            excluded.append(Exclusion(d.id, Reason.RECORD_RIGHTS_REQUIRED))
    return Scope(tuple(scoped), tuple(excluded))


def _wanted(session: Session, request: BeaconRequest, only: str | None) -> list[PublishedDataset]:
    """The published datasets the request names (all of them when it names none)."""
    datasets = published_for_queries(session)
    known = {d.id: d for d in datasets}
    wanted: list[str] | None = None
    if only is not None:
        if only not in known:
            raise NotFound(f"dataset {only} does not exist", field="datasetId")
        wanted = [only]
    if "datasetIds" in request.params:
        unknown = [i for i in request.params["datasetIds"] if i not in known]
        if unknown:
            raise InvalidParameter("datasetIds", f"no published dataset has id {', '.join(unknown)}")
        wanted = [i for i in request.params["datasetIds"] if wanted is None or i in wanted]
    return [known[i] for i in wanted] if wanted is not None else datasets


def plan_variants(session: Session, caller: Caller, request: BeaconRequest, *, dataset_id: str | None = None,
                  references: References | None = None) -> Plan:
    """The plan of a g_variants query (GET or POST, or under /datasets/{id})."""
    query = parse_variant_query(request.params, references.fetcher if references else None)
    if query is None:
        raise InvalidParameter("referenceName", "give referenceName and start (with referenceBases and "
                                                "alternateBases, or end), or geneId")
    selection = select_individuals(request.filters)
    scope = dataset_scope(session, caller, request, only=dataset_id, assemblies=_assemblies(query, request))
    return _plan(session, query, scope, selection)


def plan_variant_id(session: Session, caller: Caller, request: BeaconRequest, variant: str) -> Plan:
    """The plan of /g_variants/{id}: the one variant, in every dataset of its assembly."""
    assembly, search = parse_variant_id(variant)
    query = VariantQuery(variant, {assembly: search.chrom}, search)
    return _plan(session, query, dataset_scope(session, caller, request, assemblies=[assembly]), None)


def _assemblies(query: VariantQuery, request: BeaconRequest) -> list[str] | None:
    """The assemblies a query may ask: its chromosome's, or for a gene or protein change the assemblyId's
    (None: any)."""
    if query.shape not in ("gene", "protein"):
        return list(query.chroms)
    assembly_id = request.params.get("assemblyId")
    if not isinstance(assembly_id, str):
        return None
    return [a for a in ("GRCh37", "GRCh38") if assembly_id.lower() in (a.lower(), _ALIASES[a])]


def _plan(session: Session, query: VariantQuery, scope: Scope, selection: Selection | None) -> Plan:
    """The searches of each assembly in scope (a gene looked up per assembly).

    A search only annotations can answer (a gene not in the gene table, a protein change) leaves out the
    datasets without annotations, saying why: an unknown gene is a "no", never a refusal.
    """
    group = variant_group(selection) if selection is not None else None
    scan = None if selection is None or selection.empty or group is not None else selection
    excluded = list(scope.excluded)
    found: dict[str, VariantSearch] = {}
    reachable: list[Scoped] = []
    for item in scope.datasets:
        assembly = item.dataset.assembly
        search = found.get(assembly)
        if search is None:
            search = found[assembly] = _search(session, query, assembly)
        if search.annotated and not item.dataset.annotated:
            excluded.append(Exclusion(item.dataset.id, Reason.NOT_ANNOTATED, assembly=assembly, gene=query.gene or "",
                                      message=_asked(query, assembly)))
        else:
            reachable.append(item)
    return Plan(query, selection, group, scan, tuple(reachable), found, tuple(excluded))


def _asked(query: VariantQuery, assembly: str) -> str:
    """What only annotations could answer, in words (for an exclusion)."""
    if query.amino_acid is not None:
        return f"aminoacidChange {query.amino_acid}" + (f" in {query.gene}" if query.gene else "")
    return f"geneId {query.gene} (not in the gene table of {assembly})"


def _search(session: Session, query: VariantQuery, assembly: str) -> VariantSearch:
    if query.shape == "protein":
        return query.search
    if query.shape != "gene":
        return search_for(query, query.chroms[assembly])
    assert query.gene is not None
    gene = find_gene(session, assembly, query.gene) if query.amino_acid is None else None
    if gene is None:  # annotations only: the gene's variants wherever they are, or its protein change
        return replace(query.search, gene=gene_key(query.gene))
    return search_for(query, gene.chrom, gene.start, gene.end)


def parse_variant_id(value: str) -> tuple[str, VariantSearch]:
    """(assembly, exact search) for a variant id, or InvalidParameter naming its expected form."""
    match = _VARIANT_ID.match(value)
    if match is None:
        raise InvalidParameter("variantInternalId", f"{value!r} is not of the form GRCh38:1:12345:A:G "
                                                    "(assembly:chrom:VCF POS:REF:ALT)")
    assembly, chrom, pos, ref, alt = match.groups()
    return assembly, VariantSearch(chrom, pos_min=int(pos), pos_max=int(pos), ref=ref, alt=alt)
