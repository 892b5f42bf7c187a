"""Datasets as DCAT-AP 3.0.1 / HealthDCAT-AP JSON-LD, so that national and EU portals can harvest the catalogue.

Every value names its class (`@type`) as the DCAT-AP range shapes require: harvesters and validators cannot be
expected to fetch the EU vocabularies to learn that an access right is a dct:RightsStatement.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from catalogue.models import Dac, Dataset, DatasetFile, Organisation, RemoteDac, SecurityLevel

__all__ = ["ACCESS_RIGHTS", "ASSEMBLIES", "CONTEXT", "CatalogueFacts", "catalog_jsonld", "dac_agent", "dataset_jsonld"]

# Inline so that consumers (and our tests) can expand it without fetching anything.
CONTEXT: dict[str, Any] = {
    "dcat": "http://www.w3.org/ns/dcat#",
    "dct": "http://purl.org/dc/terms/",
    "dcatap": "http://data.europa.eu/r5r/",
    "healthdcatap": "http://healthdataportal.eu/ns/health#",
    "dpv": "https://w3id.org/dpv#",
    "pd": "https://w3id.org/dpv/pd#",
    "eli": "http://data.europa.eu/eli/ontology#",
    "foaf": "http://xmlns.com/foaf/0.1/",
    "vcard": "http://www.w3.org/2006/vcard/ns#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "skos": "http://www.w3.org/2004/02/skos/core#",
    "spdx": "http://spdx.org/rdf/terms#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dct:issued": {"@type": "xsd:dateTime"},
    "dct:modified": {"@type": "xsd:dateTime"},
    "dcat:byteSize": {"@type": "xsd:nonNegativeInteger"},
    "spdx:checksumValue": {"@type": "xsd:hexBinary"},
    "healthdcatap:numberOfRecords": {"@type": "xsd:nonNegativeInteger"},
    "healthdcatap:numberOfUniqueIndividuals": {"@type": "xsd:nonNegativeInteger"},
}

_EU = "http://publications.europa.eu/resource/authority"
ACCESS_RIGHTS = {
    SecurityLevel.PUBLIC: f"{_EU}/access-right/PUBLIC",
    SecurityLevel.REGISTERED: f"{_EU}/access-right/RESTRICTED",
    SecurityLevel.CONTROLLED: f"{_EU}/access-right/NON_PUBLIC",
}
_FORMATS = {"vcf": f"{_EU}/file-type/VCF", "bcf": f"{_EU}/file-type/BIN"}
_EHDS = "http://data.europa.eu/eli/reg/2025/327/oj"  # European Health Data Space regulation
_HEALTH_THEME = f"{_EU}/data-theme/HEAL"
_STABLE = f"{_EU}/planned-availability/STABLE"  # kept for the long term
ASSEMBLIES = {  # the reference genome a dataset's coordinates are on
    "GRCh37": "https://www.ncbi.nlm.nih.gov/datasets/genome/GCF_000001405.13/",
    "GRCh38": "https://www.ncbi.nlm.nih.gov/datasets/genome/GCF_000001405.26/",
}
# HealthDCAT-AP's health category of genomic data: EHDS Art. 51(1)(e), "human genetic, epigenomic and genomic data".
_GENOMIC_CATEGORY: dict[str, Any] = {
    "@type": "skos:Concept",
    "skos:prefLabel": {"@value": "human genetic, epigenomic and genomic data", "@language": "en"},
    "dct:source": {"@id": _EHDS, "@type": "eli:LegalResource"},
}


@dataclass(frozen=True, slots=True)
class CatalogueFacts:
    """What the node's settings say of the whole catalogue: where its data come from, its metadata's licence."""

    spatial: tuple[str, ...] = ()  # EU country codes
    licence: str = ""  # SPDX id or URL


def _node(iri: str, cls: str) -> dict[str, str]:
    return {"@id": iri, "@type": cls}


def _concept(iri: str, label: str) -> dict[str, Any]:
    """A skos:Concept with the label DCAT-AP's Concept shape asks for (validators cannot fetch the vocabulary)."""
    return {"@id": iri, "@type": "skos:Concept", "skos:prefLabel": {"@value": label, "@language": "en"}}


def _licence(value: str) -> dict[str, str]:
    iri = value if value.startswith(("http://", "https://")) else f"http://spdx.org/licenses/{value}"
    return _node(iri, "dct:LicenseDocument")


def _spatial(codes: Sequence[str]) -> list[dict[str, str]]:
    return [_node(f"{_EU}/country/{code}", "dct:Location") for code in codes]


def _term_iri(curie: str) -> str:
    """An ontology CURIE (DUO:0000042, MONDO:0004994) as its OBO PURL."""
    return "http://purl.obolibrary.org/obo/" + curie.replace(":", "_")


def _access_body(remote: RemoteDac) -> dict[str, Any]:
    """HealthDCAT-AP's health data access body: the DAC at another node that decides access to the dataset, named
    by its URL there (`{node}/api/dacs/{id}`), its node as its homepage, so that harvesting nodes know which
    node's DAC to apply to (and that node knows its own DAC decides)."""
    return {"@id": remote.dac_url, "@type": "foaf:Agent", "foaf:name": f"DAC {remote.dac_id} at {remote.node_url}",
            "foaf:homepage": _node(f"{remote.node_url}/", "foaf:Document")}


def dataset_jsonld(dataset: Dataset, files: Sequence[DatasetFile], organisation: Organisation,
                   base_url: str, *, facts: CatalogueFacts | None = None, with_context: bool = True,
                   dac: Dac | None = None, remote_dac: RemoteDac | None = None) -> dict[str, Any]:
    """One dataset as a dcat:Dataset with its publisher, contact point, access rights, distributions and the
    HealthDCAT-AP properties the catalogue knows (records, individuals, population, personal data, category, and
    the DAC that decides access as its `hdab`: `remote_dac`, the DAC at another node, when one decides, else
    this node's `dac`)."""
    facts = facts or CatalogueFacts()
    url = f"{base_url}/api/datasets/{dataset.id}"
    stats = dataset.statistics or {}
    email = dataset.contact_email or organisation.contact_email
    contact: dict[str, Any] = {"@type": "vcard:Kind", "vcard:fn": organisation.name}
    if email:
        contact["vcard:hasEmail"] = {"@id": f"mailto:{email}"}
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
        "dcat:contactPoint": contact,
        "dct:accessRights": _node(ACCESS_RIGHTS[SecurityLevel(dataset.security)], "dct:RightsStatement"),
        "dcatap:applicableLegislation": _node(_EHDS, "eli:LegalResource"),
        "dcat:theme": _concept(_HEALTH_THEME, "Health"),
        "dcat:keyword": list(dataset.keywords),
        "dct:rights": [_node(_term_iri(t), "dct:RightsStatement") for t in dataset.duo],
        "dct:issued": (dataset.published_at or dataset.created_at).isoformat(),
        "dct:modified": dataset.updated_at.isoformat(),
        "owl:versionInfo": str(dataset.version),
        "dcat:landingPage": _node(f"{base_url}/datasets/{dataset.id}", "foaf:Document"),
        "dct:conformsTo": _node(ASSEMBLIES.get(dataset.assembly, url), "dct:Standard"),
        "dcat:distribution": [_distribution(f, base_url, dataset) for f in files],
        "healthdcatap:healthCategory": _GENOMIC_CATEGORY,
    }
    if facts.spatial:
        doc["dct:spatial"] = _spatial(facts.spatial)
    if dataset.licence:
        doc["dct:license"] = _licence(dataset.licence)
    if remote_dac is not None:
        doc["healthdcatap:hdab"] = _access_body(remote_dac)
    elif dac is not None:
        doc["healthdcatap:hdab"] = dac_agent(dac, base_url)
    if dataset.disease_terms:
        doc["healthdcatap:healthTheme"] = [_concept(_term_iri(t), t) for t in dataset.disease_terms]
    doc.update(_health_counts(dataset, stats))
    if with_context:
        doc = {"@context": CONTEXT, **doc}
    return doc


def dac_agent(dac: Dac, base_url: str) -> dict[str, Any]:
    """The DAC as HealthDCAT-AP's access body (`hdab`): a foaf:Agent named at the node it sits at, whose
    foaf:homepage is that node (harvesters learn there where to apply)."""
    return {"@id": f"{base_url}/api/dacs/{dac.id}", "@type": "foaf:Agent", "foaf:name": dac.name,
            "foaf:homepage": _node(f"{base_url}/", "foaf:Document")}


def _health_counts(dataset: Dataset, stats: dict[str, Any]) -> dict[str, Any]:
    """HealthDCAT-AP's figures, where the index knows them: records (variants), individuals and who they are."""
    out: dict[str, Any] = {}
    if "variants" in stats:
        out["healthdcatap:numberOfRecords"] = stats["variants"]
    samples = int(stats.get("samples") or 0)
    if samples:
        out["healthdcatap:numberOfUniqueIndividuals"] = samples
        diseases = f", with {', '.join(dataset.disease_terms)}" if dataset.disease_terms else ""
        out["healthdcatap:populationCoverage"] = {
            "@value": f"{samples:,} individuals whose genotypes were sequenced{diseases}", "@language": "en"}
        personal = [_node("https://w3id.org/dpv/pd#Genetic", "dpv:PersonalData")]
        if dataset.disease_terms:
            personal.append(_node("https://w3id.org/dpv/pd#Health", "dpv:PersonalData"))
        out["dpv:hasPersonalData"] = personal
    return out


def _distribution(file: DatasetFile, base_url: str, dataset: Dataset) -> dict[str, Any]:
    out: dict[str, Any] = {
        "@id": f"{base_url}/api/datasets/{dataset.id}/files/{file.id}",
        "@type": "dcat:Distribution",
        "dct:title": file.name,
        "dct:description": f"{file.format.upper()} file of the dataset's variants on {dataset.assembly}, "
                           "served by the node's htsget endpoint",
        "dcat:accessURL": {"@id": f"{base_url}/htsget/variants/{dataset.id}/{file.id}"},
        "dct:format": _node(_FORMATS.get(file.format, f"{_EU}/file-type/BIN"), "dct:MediaTypeOrExtent"),
        "dcat:byteSize": file.size,
        "spdx:checksum": {
            "@type": "spdx:Checksum", "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
            "spdx:checksumValue": file.sha256,
        },
        "dct:accessRights": _node(ACCESS_RIGHTS[SecurityLevel(dataset.security)], "dct:RightsStatement"),
        "dcatap:availability": _concept(_STABLE, "Stable"),
    }
    if dataset.licence:
        out["dct:license"] = _licence(dataset.licence)
    return out


def catalog_jsonld(entries: Sequence[tuple[Dataset, Sequence[DatasetFile], Organisation]],
                   base_url: str, *, facts: CatalogueFacts | None = None,
                   title: str = "GenomeGate catalogue", dacs: Mapping[str, Dac] | None = None,
                   remote_dacs: Mapping[str, RemoteDac] | None = None) -> dict[str, Any]:
    """The whole public catalogue as one dcat:Catalog (`dacs` by id: the datasets' DACs; `remote_dacs` by
    dataset id: the DACs at other nodes that decide access to datasets held here)."""
    dacs = dacs or {}
    facts = facts or CatalogueFacts()
    remote_dacs = remote_dacs or {}
    doc: dict[str, Any] = {
        "@context": CONTEXT,
        "@id": f"{base_url}/api/catalog.jsonld",
        "@type": "dcat:Catalog",
        "dct:title": title,
        "dct:description": "Genomic datasets registered at this GenomeGate node; data access via its DACs.",
        "dct:publisher": {"@id": base_url, "@type": "foaf:Agent", "foaf:name": title},
        "foaf:homepage": _node(f"{base_url}/", "foaf:Document"),
        "dct:language": _node(f"{_EU}/language/ENG", "dct:LinguisticSystem"),
        "dcat:themeTaxonomy": {"@id": f"{_EU}/data-theme", "@type": "skos:ConceptScheme",
                               "dct:title": {"@value": "Data theme", "@language": "en"}},
        "dcat:dataset": [dataset_jsonld(d, f, o, base_url, facts=facts, with_context=False,
                                        dac=dacs.get(d.dac_id) if d.dac_id else None,
                                        remote_dac=remote_dacs.get(d.id)) for d, f, o in entries],
    }
    published = [d.published_at or d.created_at for d, _, _ in entries]
    if published:
        doc["dct:issued"] = min(published).isoformat()
        doc["dct:modified"] = max(d.updated_at for d, _, _ in entries).isoformat()
    if facts.spatial:
        doc["dct:spatial"] = _spatial(facts.spatial)
    if facts.licence:
        doc["dct:license"] = _licence(facts.licence)
    return doc
