"""Typed Beacon answers as Beacon v2 JSON documents: dataset entries, exclusions, result sets, records."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from beacon.answers import (
    COUNT_HIDDEN_NOTE,
    UNKNOWN_TOTAL_NOTE,
    DatasetResult,
    Exclusion,
    Reason,
    VariantAnswer,
    VariantRecord,
)
from beacon.genotypes import ZYGOSITY, Carrier
from beacon.granularity import Granularity
from beacon.models import BeaconRequest
from beacon.plan import Plan
from beacon.responses import BEACON_ID, result_set, summary_response
from catalogue.annotations import Annotation, effect_term
from catalogue.assemblies import accession
from catalogue.services.lookup import VariantHit, VariantSearch, VariantTally

__all__ = [
    "case_level", "dataset_entries", "excluded_entries", "molecular_attributes", "plain_result_sets",
    "present_entries", "present_variants", "query_info", "variant_record",
]

R = TypeVar("R")
_NOTHING = VariantTally(0, 0, 0)


def present_variants(answer: VariantAnswer, *, base_url: str, files: Mapping[str, Sequence[tuple[str, str]]],
                     beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """A g_variants response: boolean, count or result sets, whichever the answer's granularity calls for.

    `files` gives the (id, format) of the files of each dataset answering at record level, for its handovers.
    """
    plan = answer.plan
    sets = [_variant_set(r, base_url, plan.group, plan.searches, files.get(r.dataset.id, ()))
            for r in answer.results if r.listed]
    return present_entries(answer.request, "genomicVariation", answer.results, answer.excluded, sets,
                           query=query_info(plan), note_hidden=True, beacon_id=beacon_id)


def _variant_set(r: DatasetResult[VariantRecord], base_url: str, group: str | None,
                 searches: dict[str, VariantSearch], files: Sequence[tuple[str, str]]) -> dict[str, Any]:
    tally = r.tally or _NOTHING
    search = searches[r.dataset.assembly]
    handovers = (_handover(base_url, r.dataset.id, search, files)
                 if r.granularity is Granularity.RECORD and r.exists and search.chrom else None)
    return result_set(r.dataset.id, exists=r.exists, count=r.matched,
                      results=[variant_record(x, base_url=base_url, group=group) for x in r.records],
                      info={"returnedGranularity": r.granularity.label, "alleleCount": tally.allele_count,
                            # Unknown (null) without genotypes: allele counts alone say nothing of carriers.
                            "carriers": tally.carriers if r.dataset.carriers_known else None},
                      handovers=handovers)


def present_entries(request: BeaconRequest, entity: str, results: Sequence[DatasetResult[Any]],
                    excluded: Sequence[Exclusion], result_sets: list[dict[str, Any]], *,
                    query: dict[str, Any] | None = None, note_hidden: bool = False,
                    beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """A boolean, count or result-set response of any entry type from its datasets' results and result sets.

    Its info: each dataset's entry, the `query` as the index saw it (when given), the exclusions, and (with
    `note_hidden`) a note when a count was hidden below its threshold.
    """
    granularity, exists, total = _overall(results)
    entries, hidden = dataset_entries(results)
    info: dict[str, Any] = {"datasets": entries}
    if query is not None:
        info["query"] = query
    if excluded:
        info["excludedDatasets"] = excluded_entries(excluded)
    if hidden and note_hidden:
        info["note"] = COUNT_HIDDEN_NOTE
    if total is None and granularity >= Granularity.COUNT:
        info["numTotalResultsOmitted"] = UNKNOWN_TOTAL_NOTE
    return summary_response(request, granularity, entity, exists=exists, total=total, result_sets=result_sets,
                            info=info, beacon_id=beacon_id)


def _overall(results: Sequence[DatasetResult[Any]]) -> tuple[Granularity, bool, int | None]:
    """A response's granularity (the most detailed of its datasets', boolean at least), whether anything was
    found, and the total count over the datasets answering with counts: None when it is not known, i.e.
    when a dataset answering yes/no only found something (a total that leaves out its count is no total)."""
    granularity, exists, total = Granularity.BOOLEAN, False, 0
    known = True
    for r in results:  # one pass: this runs on every query
        level = r.granularity
        if level > granularity:
            granularity = level
        exists = exists or r.exists
        if level >= Granularity.COUNT:
            total += r.matched
        elif r.exists:
            known = False
    return granularity, exists, total if known else None


def plain_result_sets(results: Sequence[DatasetResult[R]],
                      render: Callable[[R], dict[str, Any]]) -> list[dict[str, Any]]:
    """The listed datasets' result sets, their records rendered by `render`, their granularity as info."""
    return [_plain_set(r, render) for r in results if r.listed]


def _plain_set(result: DatasetResult[R], render: Callable[[R], dict[str, Any]]) -> dict[str, Any]:
    return result_set(result.dataset.id, exists=result.exists, count=result.matched,
                      results=[render(x) for x in result.records],
                      info={"returnedGranularity": result.granularity.label})


def dataset_entries(results: Sequence[DatasetResult[Any]]) -> tuple[list[dict[str, Any]], bool]:
    """`info.datasets`: each dataset's granularity and existence (and the threshold hiding its count); and
    whether any count was hidden."""
    out = []
    hidden = False
    for r in results:
        entry: dict[str, Any] = {"datasetId": r.dataset.id, "returnedGranularity": r.granularity.label,
                                 "exists": r.exists}
        if r.limited_by is Reason.COUNT_BELOW_THRESHOLD:
            entry["countBelowThreshold"] = r.dataset.count_threshold
            hidden = True
        out.append(entry)
    return out, hidden


def excluded_entries(excluded: Sequence[Exclusion]) -> list[dict[str, str]]:
    """`info.excludedDatasets`: each dataset left out, with the reason in words."""
    return [{"datasetId": e.dataset_id, "reason": e.text} for e in excluded]


def case_level(carriers: Sequence[Carrier]) -> list[dict[str, Any]]:
    return [{"biosampleId": c.sample_id, "individualId": c.sample_id, "zygosity": ZYGOSITY[c.zygosity]}
            for c in carriers]


def variant_record(record: VariantRecord, *, base_url: str, group: str | None = None) -> dict[str, Any]:
    """A genomicVariation of the default model for one index row, with its carriers as case-level data."""
    hit, assembly = record.hit, record.assembly
    seq_id = f"refseq:{accession(hit.chrom, assembly)}"
    symbolic = hit.alt.startswith("<")
    out: dict[str, Any] = {
        "variantInternalId": record.id,
        "variation": {
            "location": {"type": "SequenceLocation", "sequence_id": seq_id,
                         "interval": {"type": "SequenceInterval", "start": {"type": "Number", "value": hit.pos - 1},
                                      "end": {"type": "Number", "value": hit.end}}},
            "referenceBases": hit.ref, "alternateBases": "" if symbolic else hit.alt,
            "variantType": record.variant_type,
        },
        "frequencyInPopulations": [{
            "source": f"GenomeGate dataset {hit.dataset_id}",
            "sourceReference": f"{base_url}/api/datasets/{hit.dataset_id}",
            "frequencies": _frequencies(hit, group),
        }],
    }
    if hit.variant_type == "SNV":
        out["identifiers"] = {"genomicHGVSId": f"{accession(hit.chrom, assembly)}:g.{hit.pos}{hit.ref}>{hit.alt}"}
    if symbolic:
        out["variation"]["info"] = {"alternateAllele": hit.alt, "length": hit.length}
    if record.annotations:
        out["molecularAttributes"] = molecular_attributes(record.annotations)
    out["caseLevelData"] = case_level(record.carriers)
    return out


def molecular_attributes(annotations: Sequence[Annotation]) -> dict[str, Any]:
    """A variant's genes, molecular effects (SO terms; ones without an SO id are left out) and protein changes."""
    genes = list(dict.fromkeys(g for a in annotations for g in (a.gene, a.gene_id) if g))
    effects = list(dict.fromkeys(t for a in annotations for e in a.effects if (t := effect_term(e)) is not None))
    changes = list(dict.fromkeys(a.change for a in annotations if a.change))
    out: dict[str, Any] = {}
    if genes:
        out["geneIds"] = genes
    if effects:
        out["molecularEffects"] = [{"id": term, "label": label} for term, label in effects]
    if changes:
        out["aminoacidChanges"] = changes
    return out


def _frequencies(hit: VariantHit, group: str | None) -> list[dict[str, Any]]:
    out = [{"population": "ALL", "alleleFrequency": hit.ac / hit.an if hit.an else 0.0}]
    for key, counts in sorted((hit.groups or {}).items()):
        if key.startswith("population:") and (group is None or group == key):
            ac, an = int(counts[0]), int(counts[1])
            out.append({"population": key.split(":", 1)[1], "alleleFrequency": ac / an if an else 0.0})
    return out


_EDAM = {"VCF": "EDAM:3016", "BCF": "EDAM:3020"}


def _handover(base_url: str, dataset_id: str, search: VariantSearch,
              files: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    """Links to the dataset's records of the queried region (htsget), in each file's own format: one link for
    a dataset of one file, else one per file."""
    start = (search.pos_min or (search.overlap or (1, 1))[0]) - 1
    end = search.pos_max or search.end_max or (search.overlap or (0, start + 1))[1]
    region = f"?referenceName={search.chrom}&start={start}&end={max(end, start + 1)}"
    path = f"{base_url}/htsget/variants/{dataset_id}"
    return [{
        "handoverType": {"id": _EDAM.get(fmt, "EDAM:3016"), "label": fmt},
        "note": f"the dataset's records of the queried region as {fmt} (htsget; for callers entitled to it)",
        "url": (path if len(files) == 1 else f"{path}/{file_id}") + f"{region}&format={fmt}",
    } for file_id, fmt in files]


def query_info(plan: Plan) -> dict[str, Any]:
    """The query as the index sees it (normalised alleles, 1-based VCF positions), for the caller to check."""
    out: dict[str, Any] = {"shape": plan.query.shape}
    for assembly, s in plan.searches.items():
        out[assembly] = _described(s)
    if plan.group:
        out["group"] = plan.group
    return out


def _described(s: VariantSearch) -> dict[str, Any]:
    # Plain tests rather than a table of pairs filtered: this runs on every query.
    out: dict[str, Any] = {"chrom": s.chrom} if s.chrom else {}
    if s.gene is not None:
        out["gene"] = s.gene
        out["geneRegion"] = "the gene's extent, or annotated with it" if s.gene_region else "annotated with it"
    if s.amino_acid is not None:
        out["aminoacidChange"] = s.amino_acid
    exact = s.pos_min == s.pos_max
    if exact and s.pos_min is not None:
        out["vcfPos"] = s.pos_min
    if not exact and s.pos_min is not None:
        out["posRange"] = [s.pos_min, s.pos_max]
    if s.end_min is not None or s.end_max is not None:
        out["endRange"] = [s.end_min, s.end_max]
    if s.overlap:
        out["overlaps1Based"] = list(s.overlap)
    if s.ref is not None:
        out["ref"] = s.ref
    if s.alt is not None:
        out["alt"] = s.alt
    if s.variant_types:
        out["variantTypes"] = list(s.variant_types)
    if s.min_length is not None:
        out["minLength"] = s.min_length
    if s.max_length is not None:
        out["maxLength"] = s.max_length
    return out
