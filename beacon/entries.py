"""Datasets and individuals entry types, and the single-variant endpoints built on the variant answers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from access import audit
from beacon.errors import InvalidParameter
from beacon.filters import SEX_TERMS, select_individuals
from beacon.genotypes import ZYGOSITY, open_files
from beacon.granularity import Granularity, dataset_granularity, included
from beacon.models import BeaconRequest
from beacon.privacy.services import Gate
from beacon.query import VariantQuery, parse_variant_query, search_for
from beacon.reference import References
from beacon.responses import meta, result_set, summary_response
from beacon.services import answer, dataset_scope, parse_variant_id, variant_record
from catalogue.errors import NotFound
from catalogue.identity import Caller
from catalogue.models import Dataset, Sample
from catalogue.services.lookup import PublishedDataset, dataset_file, find_variants, published_datasets, samples_of

__all__ = ["dataset_documents", "individual_variants", "individuals", "variant_by_id", "variant_individuals"]

_SEX = {sex: {"id": term, "label": label} for term, (sex, label) in SEX_TERMS.items()}


def _dataset_doc(d: Dataset, base_url: str) -> dict[str, Any]:
    return {
        "id": d.id, "name": d.title, "description": d.description,
        "createDateTime": d.created_at.isoformat(), "updateDateTime": d.updated_at.isoformat(),
        "version": str(d.version), "externalUrl": f"{base_url}/api/datasets/{d.id}",
        "dataUseConditions": {"duoDataUse": [{"id": t, "label": t, "version": "2024"} for t in d.duo]},
        "info": {"assemblyId": d.assembly, "securityLevel": d.security, "statistics": d.statistics},
    }


def dataset_documents(session: Session, request: BeaconRequest, *, base_url: str,
                      dataset_id: str | None = None) -> dict[str, Any]:
    """Published datasets as a collections response; their metadata is public (it is a catalogue)."""
    datasets = published_datasets(session)
    if dataset_id is not None:
        datasets = [d for d in datasets if d.id == dataset_id]
        if not datasets:
            raise NotFound(f"dataset {dataset_id} does not exist", field="datasetId")
    page = datasets[request.skip:request.skip + request.limit]
    return {
        "meta": meta(request, Granularity.RECORD, "dataset"),
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


@dataclass(slots=True)
class _Answers:
    """Per-dataset answers adding up to one response: granularity, existence, total, result sets, info."""

    granularity: Granularity = Granularity.BOOLEAN
    exists: bool = False
    total: int = 0
    sets: list[dict[str, Any]] = field(default_factory=list)
    per_dataset: list[dict[str, Any]] = field(default_factory=list)
    audited: list[str] = field(default_factory=list)

    def count(self, dataset: PublishedDataset, level: Granularity, *, n: int, records: bool) -> Granularity:
        """Note a dataset's count; the level it may be shown at (boolean under its small-count threshold)."""
        self.exists = self.exists or n > 0
        level, entry = dataset_granularity(dataset.id, level, exists=n > 0, count=n,
                                           threshold=dataset.count_threshold, record_rights=records)
        self.per_dataset.append(entry)
        self.granularity = max(self.granularity, level)
        if level >= Granularity.COUNT:
            self.total += n
        return level

    def response(self, request: BeaconRequest, entity: str, excluded: list[dict[str, str]]) -> dict[str, Any]:
        info: dict[str, Any] = {"datasets": self.per_dataset}
        if excluded:
            info["excludedDatasets"] = excluded
        return summary_response(request, self.granularity, entity, exists=self.exists, total=self.total,
                                result_sets=self.sets, info=info)


def individuals(session: Session, caller: Caller, request: BeaconRequest, *,
                individual_id: str | None = None) -> dict[str, Any]:
    """Individuals matching the filters, per dataset at the caller's granularity."""
    if request.params:
        raise InvalidParameter(next(iter(request.params)), "is not a parameter of individuals queries")
    selection = select_individuals(request.filters)
    scope = dataset_scope(session, caller, request)
    answers = _Answers()
    for d, level, records in scope.datasets:
        matching = [s for s in samples_of(session, [d.id], sample_id=individual_id)
                    if selection.matches(s.sex, s.population, s.diseases)]
        n = len(matching)
        level = answers.count(d, level, n=n, records=records)
        if level < Granularity.COUNT:
            continue
        results = []
        if level is Granularity.RECORD:
            results = [_individual_doc(s) for s in matching[request.skip:request.skip + request.limit]]
            answers.audited.append(d.id)
        if included(request.include, n > 0):
            answers.sets.append(result_set(d.id, exists=n > 0, count=n, results=results,
                                           info={"returnedGranularity": level.label}))
    if individual_id is not None and not answers.exists and not scope.excluded:
        raise NotFound(f"no individual {individual_id} in the datasets you may query", field="individualId")
    _audit(session, caller, answers.audited, {"entity": "individual", "id": individual_id,
                                              "filters": [f.as_dict() for f in request.filters]})
    return answers.response(request, "individual", scope.excluded)


def _audit(session: Session, caller: Caller, dataset_ids: list[str], details: dict[str, Any]) -> None:
    if not dataset_ids or caller.subject is None:
        return
    for dataset_id in dataset_ids:
        audit.append(session, actor=caller.subject, action="beacon.record_query", dataset_id=dataset_id,
                     visa_jti=caller.visa_grants.get(dataset_id), details=details)
    session.commit()


def variant_by_id(session: Session, caller: Caller, request: BeaconRequest, variant: str, *,
                  base_url: str, gate: Gate) -> dict[str, Any]:
    """One variant by its id, in every dataset of its assembly, at the caller's granularity."""
    if request.params:
        raise InvalidParameter(next(iter(request.params)), "is not a parameter of /g_variants/{id}")
    assembly, search = parse_variant_id(variant)
    query = VariantQuery(variant, {assembly: search.chrom}, search)
    scope = dataset_scope(session, caller, request, assemblies=[assembly])
    return answer(session, caller, request, query, scope, base_url=base_url, gate=gate)


def variant_individuals(session: Session, caller: Caller, request: BeaconRequest, variant: str, *,
                        gate: Gate) -> dict[str, Any]:
    """The individuals carrying a variant: records (from the files) where entitled, else carrier counts.

    Without record-level rights a dataset with genotypes answers through the privacy gate (charged, boolean).
    """
    assembly, search = parse_variant_id(variant)
    selection = select_individuals(request.filters)
    scope = dataset_scope(session, caller, request, assemblies=[assembly])
    admitted, refused = gate.admit(session, scope.datasets, lambda d: search, selection=selection)
    scope.excluded.extend(refused)
    answers = _Answers()
    for d, level, records in admitted:
        hits = find_variants(session, [d], search)
        carriers: list[tuple[Sample, str]] = []
        n = sum(h.carriers for h in hits)
        if hits and (level is Granularity.RECORD or not selection.empty):
            samples = {s.sample_id: s for s in samples_of(session, [d.id])}
            with open_files(d.assembly) as reader:
                for f in dataset_file(session, d.id):
                    for h in hits:
                        for c in reader.carriers(f.uri, h.chrom, h.pos, h.ref, h.alt, h.end):
                            s = samples.get(c.sample_id)
                            if s is not None and selection.matches(s.sex, s.population, s.diseases):
                                carriers.append((s, c.zygosity))
            n = len(carriers)
        level = answers.count(d, level, n=n, records=records)
        if level < Granularity.COUNT:
            continue
        results = []
        if level is Granularity.RECORD:
            for s, zygosity in carriers[request.skip:request.skip + request.limit]:
                doc = _individual_doc(s)
                doc["info"]["zygosity"] = ZYGOSITY[zygosity]
                results.append(doc)
            answers.audited.append(d.id)
        answers.sets.append(result_set(d.id, exists=n > 0, count=n, results=results,
                                       info={"returnedGranularity": level.label}))
    _audit(session, caller, answers.audited, {"entity": "individual", "variant": variant})
    return answers.response(request, "individual", scope.excluded)


MAX_SCANNED = 10_000  # index rows of one region checked against an individual's genotypes


def individual_variants(session: Session, caller: Caller, request: BeaconRequest, individual_id: str, *,
                        base_url: str, references: References | None = None) -> dict[str, Any]:
    """The variants an individual carries in a region or at an allele, from the dataset's files.

    An individual's genotypes are individual-level data: only datasets where the caller has record-level
    rights answer; the others are listed as excluded with the reason.
    """
    query = parse_variant_query(request.params, references.fetcher if references else None)
    if query is None or query.shape == "gene":
        raise InvalidParameter("referenceName", "give a region (referenceName, start, end) or an allele to list "
                                                "an individual's variants")
    scope = dataset_scope(session, caller, request, assemblies=list(query.chroms))
    excluded = list(scope.excluded)
    sets: list[dict[str, Any]] = []
    per_dataset: list[dict[str, Any]] = []
    audited: list[str] = []
    total = 0
    for d, _level, records in scope.datasets:
        if not records:
            excluded.append({"datasetId": d.id, "reason": "an individual's genotypes need record-level rights"})
            continue
        if not samples_of(session, [d.id], sample_id=individual_id):
            continue
        hits = find_variants(session, [d], search_for(query, query.chroms[d.assembly]), limit=MAX_SCANNED + 1)
        if len(hits) > MAX_SCANNED:
            raise InvalidParameter("end", f"the region holds more than {MAX_SCANNED:,} variants in {d.id}: "
                                          "ask for a smaller one")
        carried: list[dict[str, Any]] = []
        with open_files(d.assembly) as reader:
            for f in dataset_file(session, d.id):
                for h in hits:
                    zygosity = next((c.zygosity for c in reader.carriers(f.uri, h.chrom, h.pos, h.ref, h.alt, h.end)
                                     if c.sample_id == individual_id), None)
                    if zygosity is not None:
                        carried.append(variant_record(d.assembly, h, base_url=base_url, carriers=[
                            {"biosampleId": individual_id, "individualId": individual_id,
                             "zygosity": ZYGOSITY[zygosity]}]))
        total += len(carried)
        audited.append(d.id)
        per_dataset.append({"datasetId": d.id, "returnedGranularity": "record", "exists": bool(carried)})
        if included(request.include, bool(carried)):
            sets.append(result_set(d.id, exists=bool(carried), count=len(carried),
                                   results=carried[request.skip:request.skip + request.limit],
                                   info={"returnedGranularity": "record"}))
    _audit(session, caller, audited, {"entity": "genomicVariation", "individual": individual_id,
                                      "query": request.params})
    info: dict[str, Any] = {"datasets": per_dataset}
    if excluded:
        info["excludedDatasets"] = excluded
    granularity = Granularity.RECORD if audited else Granularity.BOOLEAN
    return summary_response(request, granularity, "genomicVariation", exists=total > 0, total=total,
                            result_sets=sets if granularity is Granularity.RECORD else [], info=info)
