"""Answering genomic-variation queries: datasets in scope, each at the caller's granularity, from the index."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from access import audit
from access.rights import record_datasets
from beacon.errors import InvalidParameter
from beacon.filters import Selection, select_individuals, variant_group
from beacon.genotypes import ZYGOSITY, Carrier, open_files
from beacon.granularity import (
    Granularity,
    allowed_granularity,
    dataset_granularity,
    included,
    returned_granularity,
)
from beacon.models import BeaconRequest
from beacon.privacy.services import Gate
from beacon.query import VariantQuery, parse_variant_query, search_for
from beacon.reference import References
from beacon.responses import result_set, summary_response
from catalogue.assemblies import accession
from catalogue.errors import NotFound
from catalogue.identity import Caller
from catalogue.services.lookup import (
    PublishedDataset,
    VariantHit,
    VariantSearch,
    VariantTally,
    dataset_file,
    find_gene,
    find_variants,
    published_for_queries,
    samples_of,
    tally_variants,
)

__all__ = [
    "Scope", "dataset_scope", "parse_variant_id", "query_variants", "record_rights", "variant_id", "variant_record",
]

_VARIANT_ID = re.compile(r"^(GRCh3[78]):([0-9XYMT]{1,2}):(\d+):([ACGTN]+):([ACGTN]+|<[A-Z:0-9]+>)$")


def record_rights(session: Session, caller: Caller, dataset_ids: Sequence[str]) -> frozenset[str]:
    """The datasets whose records the caller may see: active entitlements and accepted GA4GH visas."""
    if caller.subject is None or not dataset_ids:
        return frozenset()
    by_visa = frozenset(d for d in dataset_ids if d in caller.visa_grants)
    return record_datasets(session, caller.subject, dataset_ids) | by_visa


@dataclass(slots=True)
class Scope:
    """The datasets a query reaches, each with the granularity this caller gets, and those left out and why."""

    # (dataset, level, records)
    datasets: list[tuple[PublishedDataset, Granularity, bool]] = field(default_factory=list)
    excluded: list[dict[str, str]] = field(default_factory=list)


def dataset_scope(session: Session, caller: Caller, request: BeaconRequest, *, only: str | None = None,
                  assemblies: Sequence[str] | None = None) -> Scope:
    """Published datasets restricted by datasetIds (or one path id) and assembly, with granularities."""
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
    scope = Scope()
    candidates = [known[i] for i in wanted] if wanted is not None else datasets
    in_assembly = []
    for d in candidates:
        if assemblies is not None and d.assembly not in assemblies:
            scope.excluded.append({"datasetId": d.id, "reason": f"its assembly {d.assembly} is not the query's "
                                                                f"({', '.join(assemblies)})"})
        else:
            in_assembly.append(d)
    rights = record_rights(session, caller, [d.id for d in in_assembly]) if caller.authenticated else frozenset()
    for d in in_assembly:
        records = d.id in rights
        allowed = allowed_granularity(d.security, authenticated=caller.authenticated, record_rights=records,
                                      controlled_granularity=d.beacon_granularity)
        level = returned_granularity(request.granularity, allowed)
        if level is Granularity.NONE:
            reason = ("it answers signed-in callers only" if not caller.authenticated and d.security == "REGISTERED"
                      else "it does not answer Beacon queries without record-level rights")
            scope.excluded.append({"datasetId": d.id, "reason": reason})
        else:
            scope.datasets.append((d, level, records))
    return scope


def variant_id(assembly: str, hit: VariantHit) -> str:
    """The stable id of a variant: `<assembly>:<chrom>:<VCF POS>:<REF>:<ALT>` of the normalised (trimmed) allele."""
    return f"{assembly}:{hit.chrom}:{hit.pos}:{hit.ref}:{hit.alt}"


def parse_variant_id(value: str) -> tuple[str, VariantSearch]:
    """(assembly, exact search) for a variant id, or InvalidParameter naming its expected form."""
    match = _VARIANT_ID.match(value)
    if match is None:
        raise InvalidParameter("variantInternalId", f"{value!r} is not of the form GRCh38:1:12345:A:G "
                                                    "(assembly:chrom:VCF POS:REF:ALT)")
    assembly, chrom, pos, ref, alt = match.groups()
    return assembly, VariantSearch(chrom, pos_min=int(pos), pos_max=int(pos), ref=ref, alt=alt)


def _group_tally(hits: Sequence[VariantHit], group: str) -> dict[str, VariantTally]:
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


def variant_record(assembly: str, hit: VariantHit, *, base_url: str, group: str | None = None,
                   carriers: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A genomicVariation of the default model for one index row."""
    seq_id = f"refseq:{accession(hit.chrom, assembly)}"
    symbolic = hit.alt.startswith("<")
    record: dict[str, Any] = {
        "variantInternalId": variant_id(assembly, hit),
        "variation": {
            "location": {"type": "SequenceLocation", "sequence_id": seq_id,
                         "interval": {"type": "SequenceInterval", "start": {"type": "Number", "value": hit.pos - 1},
                                      "end": {"type": "Number", "value": hit.end}}},
            "referenceBases": hit.ref, "alternateBases": "" if symbolic else hit.alt,
            "variantType": "SNP" if hit.variant_type == "SNV" else hit.variant_type,
        },
        "frequencyInPopulations": [{
            "source": f"GenomeGate dataset {hit.dataset_id}",
            "sourceReference": f"{base_url}/api/datasets/{hit.dataset_id}",
            "frequencies": _frequencies(hit, group),
        }],
    }
    if hit.variant_type == "SNV":
        record["identifiers"] = {"genomicHGVSId": f"{accession(hit.chrom, assembly)}:g.{hit.pos}{hit.ref}>{hit.alt}"}
    if symbolic:
        record["variation"]["info"] = {"alternateAllele": hit.alt, "length": hit.length}
    if carriers is not None:
        record["caseLevelData"] = carriers
    return record


def _frequencies(hit: VariantHit, group: str | None) -> list[dict[str, Any]]:
    out = [{"population": "ALL", "alleleFrequency": hit.ac / hit.an if hit.an else 0.0}]
    for key, counts in sorted((hit.groups or {}).items()):
        if key.startswith("population:") and (group is None or group == key):
            ac, an = int(counts[0]), int(counts[1])
            out.append({"population": key.split(":", 1)[1], "alleleFrequency": ac / an if an else 0.0})
    return out


def _handover(base_url: str, dataset_id: str, search: VariantSearch) -> list[dict[str, Any]]:
    start = (search.pos_min or (search.overlap or (1, 1))[0]) - 1
    end = search.pos_max or search.end_max or (search.overlap or (0, start + 1))[1]
    return [{
        "handoverType": {"id": "EDAM:3016", "label": "VCF"},
        "note": "the dataset's VCF records of the queried region (data release endpoint, for entitled callers)",
        "url": f"{base_url}/htsget/variants/{dataset_id}?referenceName={search.chrom}"
               f"&start={start}&end={max(end, start + 1)}",
    }]


def _searches(session: Session, query: VariantQuery, assembly: str) -> VariantSearch | None:
    if query.shape != "gene":
        return search_for(query, query.chroms[assembly])
    assert query.gene is not None
    gene = find_gene(session, assembly, query.gene)
    if gene is None:
        return None
    return search_for(query, gene.chrom, gene.start, gene.end)


def query_variants(session: Session, caller: Caller, request: BeaconRequest, *, base_url: str, gate: Gate,
                   dataset_id: str | None = None, references: References | None = None) -> dict[str, Any]:
    """Answer a g_variants query (GET or POST, or under /datasets/{id}) as a Beacon response document."""
    query = parse_variant_query(request.params, references.fetcher if references else None)
    if query is None:
        raise InvalidParameter("referenceName", "give referenceName and start (with referenceBases and "
                                                "alternateBases, or end), or geneId")
    selection = select_individuals(request.filters)
    assembly_id = request.params.get("assemblyId")
    assemblies = list(query.chroms) if query.shape != "gene" else None
    if isinstance(assembly_id, str) and assemblies is None:
        assemblies = [a for a in ("GRCh37", "GRCh38") if a.lower() == assembly_id.lower()
                      or {"GRCh37": "hg19", "GRCh38": "hg38"}[a] == assembly_id.lower()]
    scope = dataset_scope(session, caller, request, only=dataset_id, assemblies=assemblies)
    return answer(session, caller, request, query, scope, base_url=base_url, gate=gate, selection=selection)


def answer(session: Session, caller: Caller, request: BeaconRequest, query: VariantQuery, scope: Scope, *,
           base_url: str, gate: Gate, selection: Selection | None = None) -> dict[str, Any]:
    """Run `query` over the scope's datasets and build the response at the granularity each allows.

    The individuals the filters select (`selection`) are counted from the index's per-group counts where it
    keeps them (one sex or population), else from their genotypes in the files (diseases, combinations).
    The privacy gate charges (or refuses) every answer about a dataset with genotypes to a caller without
    record-level rights, and caps it at boolean.
    """
    group = variant_group(selection) if selection is not None else None
    scan = None if selection is None or selection.empty or group is not None else selection
    excluded = list(scope.excluded)
    searches: dict[str, VariantSearch] = {}
    reachable: list[tuple[PublishedDataset, Granularity, bool]] = []
    for d, level, records in scope.datasets:
        if d.assembly not in searches:
            found = _searches(session, query, d.assembly)
            if found is None:
                excluded.append({"datasetId": d.id, "reason": f"gene {query.gene} is not loaded for {d.assembly}"})
                continue
            searches[d.assembly] = found
        reachable.append((d, level, records))
    if query.shape == "gene" and not searches and not excluded:
        raise InvalidParameter("geneId", f"{query.gene!r} is not a known gene")
    if query.shape == "gene" and not searches and scope.datasets:
        raise InvalidParameter("geneId", f"{query.gene!r} is not a known gene of "
                                         f"{', '.join(sorted({d.assembly for d, _, _ in scope.datasets}))}")
    reachable, refused = gate.admit(session, reachable, lambda d: searches[d.assembly], selection=selection)
    excluded += refused
    tallies: dict[str, VariantTally] = {}
    by_assembly: dict[str, list[PublishedDataset]] = {}
    for d, _, _ in reachable:
        by_assembly.setdefault(d.assembly, []).append(d)
    carried: dict[str, list[tuple[VariantHit, list[Carrier]]]] = {}
    for assembly, members in by_assembly.items():
        if scan is not None:
            for d in members:
                carried[d.id] = _selected_carriers(session, d, searches[assembly], scan)
                tallies[d.id] = _carrier_tally(carried[d.id])
        elif group is None:
            tallies.update(tally_variants(session, members, searches[assembly]))
        else:
            tallies.update(_group_tally(find_variants(session, members, searches[assembly]), group))

    granularity = Granularity.BOOLEAN
    exists = False
    total = 0
    sets: list[dict[str, Any]] = []
    per_dataset: list[dict[str, Any]] = []
    audited: list[tuple[PublishedDataset, int]] = []
    for d, level, records in reachable:
        tally = tallies.get(d.id, VariantTally(0, 0, 0))
        hit = tally.variants > 0
        exists = exists or hit
        level, entry = dataset_granularity(d.id, level, exists=hit, count=tally.carriers,
                                           threshold=d.count_threshold, record_rights=records)
        per_dataset.append(entry)
        granularity = max(granularity, level)
        if level < Granularity.COUNT:
            continue
        total += tally.variants
        if not included(request.include, hit):
            continue
        info = {"returnedGranularity": level.label, "alleleCount": tally.allele_count, "carriers": tally.carriers}
        results: list[dict[str, Any]] = []
        handovers = None
        if level is Granularity.RECORD:
            search = searches[d.assembly]
            if scan is not None:
                page = carried[d.id][request.skip:request.skip + request.limit]
                results = [variant_record(d.assembly, h, base_url=base_url, carriers=_case_level(c)) for h, c in page]
            else:
                hits = find_variants(session, [d], search, limit=request.limit, offset=request.skip)
                results = _records(session, d, hits, base_url=base_url, group=group)
            handovers = _handover(base_url, d.id, search) if hit else None
            audited.append((d, len(results)))
        sets.append(result_set(d.id, exists=hit, count=tally.variants, results=results, info=info,
                               handovers=handovers))
    info: dict[str, Any] = {"datasets": per_dataset, "query": _query_info(query, searches, group)}
    if excluded:
        info["excludedDatasets"] = excluded
    if any("countBelowThreshold" in e for e in per_dataset):
        info["note"] = ("counts below a dataset's threshold are not shown without record-level rights; "
                        "this is a display policy, not a privacy protection")
    if audited and caller.subject is not None:
        for d, n in audited:
            audit.append(session, actor=caller.subject, action="beacon.record_query", dataset_id=d.id,
                         visa_jti=caller.visa_grants.get(d.id),
                         details={"query": info["query"], "records": n, "skip": request.skip, "limit": request.limit})
        session.commit()
    return summary_response(request, granularity, "genomicVariation", exists=exists, total=total,
                            result_sets=sets, info=info)


MAX_SCANNED = 10_000  # index rows of one query whose genotypes are read to answer a filter


def _selected_carriers(session: Session, dataset: PublishedDataset, search: VariantSearch,
                       selection: Selection) -> list[tuple[VariantHit, list[Carrier]]]:
    """The matching variants carried by the selected individuals, with those carriers, from the files."""
    hits = find_variants(session, [dataset], search, limit=MAX_SCANNED + 1)
    if len(hits) > MAX_SCANNED:
        raise InvalidParameter("filters", f"these filters are answered from the genotypes, and the query reaches "
                                          f"more than {MAX_SCANNED:,} variants of {dataset.id}: narrow it")
    selected = {s.sample_id for s in samples_of(session, [dataset.id])
                if selection.matches(s.sex, s.population, s.diseases)}
    out: list[tuple[VariantHit, list[Carrier]]] = []
    if not selected:
        return out
    with open_files(dataset.assembly) as reader:
        for f in dataset_file(session, dataset.id):
            for hit in hits:
                carriers = [c for c in reader.carriers(f.uri, hit.chrom, hit.pos, hit.ref, hit.alt, hit.end)
                            if c.sample_id in selected]
                if carriers:
                    out.append((hit, carriers))
    return out


_COPIES = {"het": 1, "hom": 2, "hemi": 1}


def _carrier_tally(carried: list[tuple[VariantHit, list[Carrier]]]) -> VariantTally:
    return VariantTally(len(carried), sum(_COPIES[c.zygosity] for _, cs in carried for c in cs),
                        sum(len(cs) for _, cs in carried))


def _case_level(carriers: list[Carrier]) -> list[dict[str, Any]]:
    return [{"biosampleId": c.sample_id, "individualId": c.sample_id, "zygosity": ZYGOSITY[c.zygosity]}
            for c in carriers]


def _query_info(query: VariantQuery, searches: dict[str, VariantSearch], group: str | None) -> dict[str, Any]:
    """The query as the index sees it (normalised alleles, 1-based VCF positions), for the caller to check."""
    out: dict[str, Any] = {"shape": query.shape}
    for assembly, s in searches.items():
        out[assembly] = {k: v for k, v in (
            ("chrom", s.chrom), ("vcfPos", s.pos_min if s.pos_min == s.pos_max else None),
            ("posRange", [s.pos_min, s.pos_max] if s.pos_min != s.pos_max and s.pos_min is not None else None),
            ("endRange", [s.end_min, s.end_max] if s.end_min is not None or s.end_max is not None else None),
            ("overlaps1Based", list(s.overlap) if s.overlap else None), ("ref", s.ref), ("alt", s.alt),
            ("variantTypes", list(s.variant_types) or None), ("minLength", s.min_length),
            ("maxLength", s.max_length)) if v is not None}
    if group:
        out["group"] = group
    return out


def _records(session: Session, dataset: PublishedDataset, hits: list[VariantHit], *, base_url: str,
             group: str | None) -> list[dict[str, Any]]:
    """Record-level results with case-level data read from the dataset's files."""
    files = {f.id: f for f in dataset_file(session, dataset.id)}
    out = []
    with open_files(dataset.assembly) as reader:
        for hit in hits:
            carriers: list[dict[str, Any]] = []
            for f in files.values():
                carriers += _case_level(reader.carriers(f.uri, hit.chrom, hit.pos, hit.ref, hit.alt, hit.end))
            out.append(variant_record(dataset.assembly, hit, base_url=base_url, group=group, carriers=carriers))
    return out
