"""The Beacon's self-description: info, service-info, configuration, map, entry types, filtering terms."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlmodel import Session

from beacon.filters import SEX_TERMS
from beacon.responses import API_VERSION, BEACON_ID, informational
from catalogue.services.lookup import published_datasets, samples_of

__all__ = ["configuration", "entry_types", "filtering_terms", "info", "beacon_map", "service_info"]

_NOTES = {
    "coordinates": "0-based start, half-open end (Beacon v2); a variant at VCF POS P spanning REF to E is [P-1, E)",
    "variantInternalId": "<assembly>:<chrom>:<VCF POS>:<REF>:<ALT> of the trimmed allele, e.g. GRCh38:1:12345:A:G",
    "normalisation": "query alleles are trimmed like ingested variants; without a configured reference FASTA "
                     "indels are not left-aligned, so give them left-aligned (as bcftools norm does)",
    "assemblyId": "datasets of another assembly than the query's (assemblyId, or the referenceName's RefSeq "
                  "accession) are excluded and listed in info.excludedDatasets",
    "smallCounts": "counts below a dataset's threshold are not shown without record-level rights: a display "
                   "policy, not a privacy protection",
    "filters": "sex (NCIT:C16576, NCIT:C20197) or one population (population:EUR) on variant queries; "
               "sex, populations and diseases on individuals",
}

_ENTRY_TYPES: dict[str, dict[str, Any]] = {
    "genomicVariation": {
        "id": "genomicVariation", "name": "Genomic variation", "partOfSpecification": "Beacon v2.0.0",
        "ontologyTermForThisType": {"id": "ENSGLOSSARY:0000092", "label": "Variant"},
        "defaultSchema": {"id": "beacon-g_variant-v2.0.0", "name": "Default schema for a genomic variation",
                          "referenceToSchemaDefinition": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/"
                          "main/models/json/beacon-v2-default-model/genomicVariations/defaultSchema.json",
                          "schemaVersion": "v2.0.0"},
        "nonFilteredQueriesAllowed": False,
    },
    "individual": {
        "id": "individual", "name": "Individual", "partOfSpecification": "Beacon v2.0.0",
        "ontologyTermForThisType": {"id": "NCIT:C25190", "label": "Person"},
        "defaultSchema": {"id": "beacon-individual-v2.0.0", "name": "Default schema for an individual",
                          "referenceToSchemaDefinition": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/"
                          "main/models/json/beacon-v2-default-model/individuals/defaultSchema.json",
                          "schemaVersion": "v2.0.0"},
        "nonFilteredQueriesAllowed": True,
    },
    "dataset": {
        "id": "dataset", "name": "Dataset", "partOfSpecification": "Beacon v2.0.0",
        "ontologyTermForThisType": {"id": "NCIT:C47824", "label": "Data set"},
        "defaultSchema": {"id": "beacon-dataset-v2.0.0", "name": "Default schema for datasets",
                          "referenceToSchemaDefinition": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/"
                          "main/models/json/beacon-v2-default-model/datasets/defaultSchema.json",
                          "schemaVersion": "v2.0.0"},
        "aCollectionOf": [{"id": "genomicVariation", "name": "Genomic variations"},
                          {"id": "individual", "name": "Individuals"}],
        "nonFilteredQueriesAllowed": True,
    },
}


def info(base_url: str, beacon_id: str = BEACON_ID, node_name: str = "GenomeGate") -> dict[str, Any]:
    return informational({
        "id": beacon_id, "name": f"{node_name} Beacon", "apiVersion": API_VERSION, "environment": "prod",
        "organization": {"id": beacon_id, "name": node_name},
        "description": "Variants, individuals and datasets of the GenomeGate catalogue, at the granularity the "
                       "caller's rights allow.",
        "version": "0.1.0", "welcomeUrl": f"{base_url}/beacon/v2", "info": _NOTES,
    }, beacon_id=beacon_id)


def service_info(base_url: str, beacon_id: str = BEACON_ID, node_name: str = "GenomeGate") -> dict[str, Any]:
    return {
        "id": beacon_id, "name": f"{node_name} Beacon",
        "type": {"group": "org.ga4gh", "artifact": "beacon", "version": API_VERSION},
        "description": "GA4GH Beacon v2 of the GenomeGate catalogue",
        "organization": {"name": node_name, "url": base_url}, "version": "0.1.0", "environment": "prod",
    }


def _entry_types(entries: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """The entry types served (all of them unless `entries` names some); a collection lists only those served."""
    if entries is None:
        return _ENTRY_TYPES
    out = {name: dict(_ENTRY_TYPES[name]) for name in entries}
    for entry in out.values():
        if "aCollectionOf" in entry:
            entry["aCollectionOf"] = [c for c in entry["aCollectionOf"] if c["id"] in out]
    return out


def configuration(beacon_id: str = BEACON_ID, entries: Sequence[str] | None = None) -> dict[str, Any]:
    return informational({
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                   "beaconConfigurationSchema.json",
        "maturityAttributes": {"productionStatus": "PROD"},
        "securityAttributes": {"defaultGranularity": "boolean",
                               "securityLevels": ["PUBLIC", "REGISTERED", "CONTROLLED"]},
        "entryTypes": _entry_types(entries),
    }, beacon_id=beacon_id)


def entry_types(beacon_id: str = BEACON_ID, entries: Sequence[str] | None = None) -> dict[str, Any]:
    return informational({"entryTypes": _entry_types(entries)}, beacon_id=beacon_id)


def beacon_map(base_url: str, beacon_id: str = BEACON_ID, root: str | None = None) -> dict[str, Any]:
    """The map of the Beacon at `root` (this node's Beacon under `base_url` unless given)."""
    root = root or f"{base_url}/beacon/v2"
    return informational({
        "$schema": "https://raw.githubusercontent.com/ga4gh-beacon/beacon-v2/main/framework/json/configuration/"
                   "beaconMapSchema.json",
        "endpointSets": {
            "genomicVariation": {
                "entryType": "genomicVariation", "rootUrl": f"{root}/g_variants",
                "singleEntryUrl": f"{root}/g_variants/{{id}}",
                "endpoints": {"individual": {"returnedEntryType": "individual",
                                             "url": f"{root}/g_variants/{{id}}/individuals"}},
            },
            "individual": {
                "entryType": "individual", "rootUrl": f"{root}/individuals",
                "singleEntryUrl": f"{root}/individuals/{{id}}",
                "endpoints": {"genomicVariation": {"returnedEntryType": "genomicVariation",
                                                   "url": f"{root}/individuals/{{id}}/g_variants"}},
            },
            "dataset": {
                "entryType": "dataset", "rootUrl": f"{root}/datasets", "singleEntryUrl": f"{root}/datasets/{{id}}",
                "endpoints": {"genomicVariation": {"returnedEntryType": "genomicVariation",
                                                   "url": f"{root}/datasets/{{id}}/g_variants"}},
            },
        },
    }, beacon_id=beacon_id)


def filtering_terms(session: Session, beacon_id: str = BEACON_ID) -> dict[str, Any]:
    """The filters this Beacon understands, with the populations and diseases its published datasets hold."""
    terms: list[dict[str, Any]] = [
        {"type": "ontology", "id": term, "label": label, "scopes": ["individual", "genomicVariation"]}
        for term, (_, label) in SEX_TERMS.items()
    ]
    populations: set[str] = set()
    diseases: set[str] = set()
    for sample in samples_of(session, [d.id for d in published_datasets(session)]):
        if sample.population:
            populations.add(sample.population)
        diseases.update(sample.diseases)
    terms += [{"type": "alphanumeric", "id": f"population:{p}", "label": f"population {p}",
               "scopes": ["individual", "genomicVariation"]} for p in sorted(populations)]
    terms += [{"type": "ontology", "id": d, "scopes": ["individual"]} for d in sorted(diseases)]
    return informational({"filteringTerms": terms, "resources": [
        {"id": "NCIT", "name": "NCI Thesaurus", "url": "http://purl.obolibrary.org/obo/ncit.owl",
         "namespacePrefix": "NCIT", "iriPrefix": "http://purl.obolibrary.org/obo/NCIT_"},
    ]}, beacon_id=beacon_id)
