"""Datasets and individuals entry types, and the single-variant endpoints built on the variant answers."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from sqlmodel import Session

from beacon.answers import DatasetResult, Exclusion, Reason, VariantRecord
from beacon.audit import audit_records, tag_samples
from beacon.count import dataset_result, withdrawn_tally
from beacon.errors import InvalidParameter
from beacon.filters import SEX_TERMS, select_individuals
from beacon.gate import admit
from beacon.genotypes import MAX_SCANNED, MAX_STREAMED, ZYGOSITY, file_carriers, sample_alleles
from beacon.granularity import Granularity, included
from beacon.models import BeaconRequest
from beacon.plan import dataset_scope, parse_variant_id
from beacon.present import plain_result_sets, present_entries, present_variants, variant_record
from beacon.privacy.services import Gate
from beacon.query import parse_variant_query, search_for
from beacon.reference import References
from beacon.responses import BEACON_ID, meta
from beacon.services import answer_variant_id, handover_files
from catalogue.duo import DUO_TERMS, DUO_VERSION
from catalogue.errors import NotFound
from catalogue.identity import Caller
from catalogue.models import Dataset, Sample
from catalogue.services.lookup import PublishedDataset, VariantSearch, find_variants, published_datasets, samples_of

__all__ = ["dataset_documents", "individual_variants", "individuals", "variant_by_id", "variant_individuals"]

_SEX = {sex: {"id": term, "label": label} for term, (sex, label) in SEX_TERMS.items()}


def _dataset_doc(d: Dataset, base_url: str) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "id": d.id, "name": d.title, "description": d.description,
        "createDateTime": d.created_at.isoformat(), "updateDateTime": d.updated_at.isoformat(),
        "version": str(d.version), "externalUrl": f"{base_url}/api/datasets/{d.id}",
        "info": {"assemblyId": d.assembly, "securityLevel": d.security, "statistics": d.statistics},
    }
    if d.duo:  # the schema's duoDataUse has at least one term: without terms there are no conditions to state
        doc["dataUseConditions"] = {"duoDataUse": [_duo_doc(t) for t in d.duo]}
    return doc


def _duo_doc(curie: str) -> dict[str, str]:
    term = DUO_TERMS.get(curie)
    return {"id": curie, "label": term.label if term else curie, "version": DUO_VERSION}


def dataset_documents(session: Session, request: BeaconRequest, *, base_url: str,
                      dataset_id: str | None = None, beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """Published datasets as a collections response; their metadata is public (it is a catalogue)."""
    datasets = published_datasets(session)
    if dataset_id is not None:
        datasets = [d for d in datasets if d.id == dataset_id]
        if not datasets:
            raise NotFound(f"dataset {dataset_id} does not exist", field="datasetId")
    page = datasets[request.skip:request.skip + request.limit]
    return {
        "meta": meta(request, Granularity.RECORD, "dataset", beacon_id),
        "responseSummary": {"exists": bool(datasets), "numTotalResults": len(datasets)},
        "response": {"collections": [_dataset_doc(d, base_url) for d in page]},
    }


def _individual_doc(sample: Sample) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": sample.sample_id, "sex": _SEX.get(sample.sex, _SEX["unknown"]),
                           "info": {"datasetId": sample.dataset_id}}
    if sample.population:
        doc["info"]["population"] = sample.population
    if sample.diseases:
        doc["diseases"] = [{"diseaseCode": {"id": d, "label": d}} for d in sample.diseases]
    if sample.phenotypes:
        doc["phenotypicFeatures"] = [{"featureType": {"id": p, "label": p}} for p in sample.phenotypes]
    return doc


def _recorded(results: Sequence[DatasetResult[Any]]) -> list[str]:
    """The datasets answered at record level: their records were the caller's to see."""
    return [r.dataset.id for r in results if r.granularity is Granularity.RECORD]


def individuals(session: Session, caller: Caller, request: BeaconRequest, *,
                individual_id: str | None = None, reads: Session | None = None,
                beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """Individuals matching the filters, per dataset at the caller's granularity (read through `reads`,
    audited through `session`, as in beacon.services)."""
    if request.params:
        raise InvalidParameter(next(iter(request.params)), "is not a parameter of individuals queries")
    selection = select_individuals(request.filters)
    reader = reads or session
    scope = dataset_scope(reader, caller, request)
    results = []
    for item in scope.datasets:
        matching = [s for s in samples_of(reader, [item.dataset.id], sample_id=individual_id)
                    if selection.matches(s.sex, s.population, s.diseases)]
        page = partial(tuple, matching[request.skip:request.skip + request.limit])
        results.append(dataset_result(item, len(matching), page, include=request.include))
    if individual_id is not None and not any(r.exists for r in results) and not scope.excluded:
        raise NotFound(f"no individual {individual_id} in the datasets you may query", field="individualId")
    details = {"entity": "individual", "id": individual_id, "filters": [f.as_dict() for f in request.filters]}
    audit_records(session, caller, [(d, details) for d in _recorded(results)])
    return present_entries(request, "individual", results, scope.excluded,
                           plain_result_sets(results, _individual_doc), beacon_id=beacon_id)


def variant_by_id(session: Session, caller: Caller, request: BeaconRequest, variant: str, *,
                  base_url: str, gate: Gate, reads: Session | None = None, beacon_id: str = BEACON_ID
                  ) -> dict[str, Any]:
    """One variant by its id, in every dataset of its assembly, at the caller's granularity."""
    answered = answer_variant_id(session, caller, request, variant, gate=gate, reads=reads)
    return present_variants(answered, base_url=base_url, files=handover_files(reads or session, answered),
                            beacon_id=beacon_id)


def variant_individuals(session: Session, caller: Caller, request: BeaconRequest, variant: str, *,
                        gate: Gate, reads: Session | None = None, beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """The individuals carrying a variant: records (from the files) where entitled, else carrier counts.

    Without record-level rights a dataset with genotypes answers through the privacy gate (charged, boolean).
    """
    assembly, search = parse_variant_id(variant)
    selection = select_individuals(request.filters)
    reader = reads or session
    scope = dataset_scope(reader, caller, request, assemblies=[assembly])
    admitted = admit(session, gate, scope.datasets, lambda d: search, selection=selection)
    results = []
    for item in admitted.datasets:
        d, level, _ = item
        hits = find_variants(reader, [d], search)
        n = sum(h.carriers for h in hits)
        carriers: list[tuple[Sample, str]] = []
        if hits and (level is Granularity.RECORD or not selection.empty):
            samples = {s.sample_id: s for s in samples_of(reader, [d.id])}
            carriers = [(s, c.zygosity) for _, _, found in file_carriers(reader, d, hits) for c in found
                        if (s := samples.get(c.sample_id)) is not None
                        and selection.matches(s.sex, s.population, s.diseases)]
            n = len(carriers)
        if d.id in admitted.budgeted and not n:  # yes/no: alleles opt-outs withdrew still answer yes (count.py)
            group = f"sex:{selection.sex}" if selection.sex else None
            n = 1 if withdrawn_tally(reader, d, search, group) is not None else 0
        page = partial(tuple, carriers[request.skip:request.skip + request.limit])
        results.append(dataset_result(item, n, page, include=None,  # listed whatever is asked
                                      limited_by=Reason.PRIVACY_BUDGETED if d.id in admitted.budgeted else None))
    shown = {r.dataset.id: tag_samples(r.dataset.id, {s.sample_id for s, _ in r.records}, gate.sample_key)
             for r in results}
    audit_records(session, caller, [(d, {"entity": "individual", "variant": variant, "samples": shown.get(d, [])})
                                    for d in _recorded(results)])
    return present_entries(request, "individual", results, scope.excluded + admitted.excluded,
                           plain_result_sets(results, _carrier_doc), beacon_id=beacon_id)


def _carrier_doc(carrier: tuple[Sample, str]) -> dict[str, Any]:
    sample, zygosity = carrier
    doc = _individual_doc(sample)
    doc["info"]["zygosity"] = ZYGOSITY[zygosity]
    return doc


def individual_variants(session: Session, caller: Caller, request: BeaconRequest, individual_id: str, *,
                        base_url: str, references: References | None = None,
                        reads: Session | None = None, beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """The variants an individual carries: all of them (as the spec's GET asks, paged by skip and limit), or
    those in a region or at an allele, from the dataset's files.

    An individual's genotypes are individual-level data: only datasets where the caller has record-level
    rights answer; the others are listed as excluded with the reason.
    """
    query = parse_variant_query(request.params, references.fetcher if references else None)
    if query is not None and query.shape == "gene":
        raise InvalidParameter("referenceName", "give a region (referenceName, start, end) or an allele to list "
                                                "an individual's variants")
    reader = reads or session
    scope = dataset_scope(reader, caller, request, assemblies=list(query.chroms) if query is not None else None)
    excluded = list(scope.excluded)
    results = []
    for item in scope.datasets:
        d = item.dataset
        if not item.record_rights:
            excluded.append(Exclusion(d.id, Reason.INDIVIDUAL_RECORD_RIGHTS_REQUIRED))
            continue
        if not samples_of(reader, [d.id], sample_id=individual_id):
            continue
        if query is None:
            total, page = _carried_anywhere(reader, d, individual_id, request.skip, request.limit)
        else:
            carried = _carried_by(reader, d, search_for(query, query.chroms[d.assembly]), individual_id)
            total, page = len(carried), tuple(carried[request.skip:request.skip + request.limit])
        results.append(DatasetResult(d, Granularity.RECORD, total > 0, total, True,
                                     included(request.include, total > 0), page))
    audit_records(session, caller, [(r.dataset.id, {"entity": "genomicVariation", "individual": individual_id,
                                                    "query": request.params}) for r in results])
    return present_entries(request, "genomicVariation", results, excluded,
                           plain_result_sets(results, lambda x: variant_record(x, base_url=base_url)),
                           beacon_id=beacon_id)


def _carried_anywhere(session: Session, dataset: PublishedDataset, individual_id: str, skip: int,
                      limit: int) -> tuple[int, tuple[VariantRecord, ...]]:
    """How many of the dataset's variants the individual carries, and the page [skip, skip + limit) of them in
    index order: the files read through once, matched against the index (so that only what the index holds,
    e.g. PASS alleles, counts). A dataset of more than MAX_STREAMED variants needs a region."""
    held = int(dataset.statistics.get("variants") or 0)
    if held > MAX_STREAMED:
        raise InvalidParameter("referenceName", f"{dataset.id} holds {held:,} variants, more than the "
                                                f"{MAX_STREAMED:,} read through for one individual: give a region "
                                                "(referenceName, start, end)")
    mine = dict(sample_alleles(session, dataset, individual_id))
    hits = [hit for chrom in sorted({key[0] for key in mine}, key=_chrom_order)
            for hit in find_variants(session, [dataset], VariantSearch(chrom))
            if (hit.chrom, hit.pos, hit.ref, hit.alt) in mine]
    page = tuple(VariantRecord(dataset.assembly, hit, (mine[(hit.chrom, hit.pos, hit.ref, hit.alt)],))
                 for hit in hits[skip:skip + limit])
    return len(hits), page


def _chrom_order(chrom: str) -> tuple[int, str]:
    """Chromosomes in karyotype order: 1..22 by number, then the others (X, Y, MT, ...) by name."""
    return (int(chrom), "") if chrom.isdigit() else (1_000, chrom)


def _carried_by(session: Session, dataset: PublishedDataset, search: VariantSearch,
                individual_id: str) -> list[VariantRecord]:
    """The variants of the search that the individual carries, with their zygosity, from the files."""
    hits = find_variants(session, [dataset], search, limit=MAX_SCANNED + 1)
    if len(hits) > MAX_SCANNED:
        raise InvalidParameter("end", f"the region holds more than {MAX_SCANNED:,} variants in {dataset.id}: "
                                      "ask for a smaller one")
    out = []
    for _, hit, carriers in file_carriers(session, dataset, hits):
        mine = next((c for c in carriers if c.sample_id == individual_id), None)
        if mine is not None:
            out.append(VariantRecord(dataset.assembly, hit, (mine,)))
    return out
