"""Datasets as DCAT-AP / HealthDCAT-AP JSON-LD, so that national and EU portals can harvest the catalogue."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalogue.models import Dataset, DatasetFile, Organisation, SecurityLevel

__all__ = ["CONTEXT", "catalog_jsonld", "dataset_jsonld"]

# Inline so that consumers (and our tests) can expand it without fetching anything.
CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatap": "http://data.europa.eu/r5r/",
    "healthdcatap": "http://healthdataportal.eu/ns/health#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dct:issued": {"@type": "xsd:dateTime"},
    "dct:modified": {"@type": "xsd:dateTime"},
    "dcat:byteSize": {"@type": "xsd:nonNegativeInteger"},
}

_EU = "http://publications.europa.eu/resource/authority"
_ACCESS_RIGHTS = {
    SecurityLevel.PUBLIC: f"{_EU}/access-right/PUBLIC",
    SecurityLevel.REGISTERED: f"{_EU}/access-right/RESTRICTED",
    SecurityLevel.CONTROLLED: f"{_EU}/access-right/NON_PUBLIC",
}
_FORMATS = {"vcf": f"{_EU}/file-type/VCF", "bcf": f"{_EU}/file-type/BIN"}
_EHDS = "http://data.europa.eu/eli/reg/2025/327/oj"  # European Health Data Space regulation
_HEALTH_THEME = f"{_EU}/data-theme/HEAL"


def _duo_iri(curie: str) -> str:
    return "http://purl.obolibrary.org/obo/" + curie.replace(":", "_")


def dataset_jsonld(dataset: Dataset, files: Sequence[DatasetFile], organisation: Organisation,
                   base_url: str, *, with_context: bool = True) -> dict[str, Any]:
    """One dataset as a dcat:Dataset with its publisher, contact point, access rights and distributions."""
    url = f"{base_url}/api/datasets/{dataset.id}"
    stats = dataset.statistics or {}
    doc: dict[str, Any] = {
        "@id": url,
        "@type": "dcat:Dataset",
        "dct:identifier": dataset.id,
        "dct:title": dataset.title,
        "dct:description": dataset.description or dataset.title,
        "dct:publisher": {
            "@id": f"{base_url}/api/organisations/{organisation.id}",
            "@type": "foaf:Agent", "foaf:name": organisation.name,
        },
        "dcat:contactPoint": {
            "@type": "vcard:Kind", "vcard:fn": organisation.name,
            "vcard:hasEmail": {"@id": f"mailto:{dataset.contact_email or organisation.contact_email or ''}"},
        },
        "dct:accessRights": {"@id": _ACCESS_RIGHTS[SecurityLevel(dataset.security)]},
        "dcatap:applicableLegislation": {"@id": _EHDS},
        "dcat:theme": {"@id": _HEALTH_THEME},
        "dcat:keyword": list(dataset.keywords),
        "dct:rights": [{"@id": _duo_iri(t)} for t in dataset.duo],
        "dct:issued": (dataset.published_at or dataset.created_at).isoformat(),
        "dct:modified": dataset.updated_at.isoformat(),
        "owl:versionInfo": str(dataset.version),
        "dcat:landingPage": {"@id": url},
        "dct:conformsTo": {"@id": f"https://www.ncbi.nlm.nih.gov/assembly/?term={dataset.assembly}"},
        "dcat:distribution": [_distribution(f, base_url, dataset) for f in files],
    }
    if "samples" in stats:
        doc["healthdcatap:numberOfUniqueIndividuals"] = stats["samples"]
    if "variants" in stats:
        doc["healthdcatap:numberOfRecords"] = stats["variants"]
    if with_context:
        doc = {"@context": CONTEXT, **doc}
    return doc


def _distribution(file: DatasetFile, base_url: str, dataset: Dataset) -> dict[str, Any]:
    return {
        "@id": f"{base_url}/api/datasets/{dataset.id}/files/{file.id}",
        "@type": "dcat:Distribution",
        "dct:title": file.name,
        "dcat:accessURL": {"@id": f"{base_url}/htsget/variants/{dataset.id}/{file.id}"},
        "dct:format": {"@id": _FORMATS.get(file.format, f"{_EU}/file-type/BIN")},
        "dcat:byteSize": file.size,
        "spdx:checksum": {
            "@type": "spdx:Checksum", "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
            "spdx:checksumValue": file.sha256,
        },
        "dct:accessRights": {"@id": _ACCESS_RIGHTS[SecurityLevel(dataset.security)]},
    }


def catalog_jsonld(entries: Sequence[tuple[Dataset, Sequence[DatasetFile], Organisation]],
                   base_url: str, *, title: str = "GenomeGate catalogue") -> dict[str, Any]:
    """The whole public catalogue as one dcat:Catalog."""
    return {
        "@context": CONTEXT,
        "@id": f"{base_url}/api/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:description": "Genomic datasets registered at this GenomeGate node; data access via its DACs.",
        "dct:publisher": {"@id": base_url, "@type": "foaf:Agent", "foaf:name": title},
        "dcat:dataset": [dataset_jsonld(d, f, o, base_url, with_context=False) for d, f, o in entries],
    }
