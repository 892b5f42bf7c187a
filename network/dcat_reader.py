"""A peer's DCAT-AP catalogue (JSON-LD) read into typed datasets, or refused saying what is wrong with it.

The document is flattened with pyld (no remote context is ever fetched: a catalogue must carry its context
inline, as GenomeGate's does), so nested and top-level nodes read the same. Checked structurally: one
dcat:Catalog with the properties DCAT-AP 3.0.1 makes mandatory (title, description, publisher), and each of its
datasets with a title, a description and an identifier that is unique in the catalogue.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import urlsplit

from pyld import jsonld

from catalogue.dcat import ACCESS_RIGHTS, ASSEMBLIES

__all__ = ["HarvestedDataset", "InvalidCatalogue", "read_catalogue"]

DCAT = "http://www.w3.org/ns/dcat#"
DCT = "http://purl.org/dc/terms/"
FOAF = "http://xmlns.com/foaf/0.1/"
HEALTH = "http://healthdataportal.eu/ns/health#"
RDF_TYPE = "@type"
OBO = "http://purl.obolibrary.org/obo/"
MAX_TITLE = 1_000
MAX_DESCRIPTION = 20_000
MAX_TERMS = 50  # keywords, themes, conditions kept of one dataset
MAX_TERM = 200
MAX_IRI = 500
IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,199}$")
_SECURITY = {iri: level.value for level, iri in ACCESS_RIGHTS.items()}
_ASSEMBLY = {iri: name for name, iri in ASSEMBLIES.items()}


class InvalidCatalogue(ValueError):
    """A peer's catalogue is not DCAT-AP this node can read; the message says which node and property. The peer's
    operator fixes their catalogue; until then, the datasets of the last good harvest are kept."""


@dataclass(frozen=True, slots=True)
class HarvestedDataset:
    """One dcat:Dataset of a peer's catalogue, as this node keeps it."""

    dataset_id: str
    iri: str
    landing_page: str | None
    title: str
    description: str
    keywords: tuple[str, ...]
    themes: tuple[str, ...]
    health_themes: tuple[str, ...]
    duo: tuple[str, ...]
    access_rights: str | None
    security: str | None
    dac_name: str | None
    dac_iri: str | None
    dac_node_url: str | None
    assembly: str | None
    publisher: str | None
    publisher_iri: str | None
    issued: datetime | None
    modified: datetime | None
    raw: dict[str, Any]


def _refuse_remote_context(url: str, options: Any = None) -> Any:
    raise jsonld.JsonLdError(f"remote context {url[:200]} not fetched: give the context inline",
                             "jsonld.LoadDocumentError", code="loading document failed")


def read_catalogue(document: Any, *, max_datasets: int) -> list[HarvestedDataset]:
    """The datasets of the dcat:Catalog in `document` (parsed JSON), or InvalidCatalogue."""
    if not isinstance(document, dict | list):
        raise InvalidCatalogue("the catalogue is not a JSON-LD object")
    try:
        flat = jsonld.flatten(document, None, {"documentLoader": _refuse_remote_context})
    except jsonld.JsonLdError as exc:
        raise InvalidCatalogue(f"the catalogue is not valid JSON-LD ({_jsonld_reason(exc)})") from None
    except (RecursionError, TypeError, ValueError, KeyError, AttributeError):
        raise InvalidCatalogue("the catalogue is not valid JSON-LD") from None
    nodes = {n["@id"]: n for n in (flat if isinstance(flat, list) else []) if isinstance(n, dict) and "@id" in n}
    catalogues = [n for n in nodes.values() if f"{DCAT}Catalog" in n.get(RDF_TYPE, [])]
    if len(catalogues) != 1:
        raise InvalidCatalogue(f"the document holds {len(catalogues)} dcat:Catalog nodes, not one")
    catalogue = catalogues[0]
    for prop in ("title", "description"):
        if not _text(catalogue, DCT + prop):
            raise InvalidCatalogue(f"the dcat:Catalog has no dct:{prop}")
    if not catalogue.get(DCT + "publisher"):
        raise InvalidCatalogue("the dcat:Catalog has no dct:publisher")
    refs = [_ref(v) for v in catalogue.get(DCAT + "dataset", [])]
    if len(refs) > max_datasets:
        raise InvalidCatalogue(f"the catalogue lists {len(refs)} datasets, more than the {max_datasets} kept")
    originals = dict(_original_nodes(document))
    found: list[HarvestedDataset] = []
    seen: set[str] = set()
    for ref in refs:
        node = nodes.get(ref or "")
        if node is None or f"{DCAT}Dataset" not in node.get(RDF_TYPE, []):
            raise InvalidCatalogue(f"dcat:dataset {str(ref)[:200]} is not a dcat:Dataset in the document")
        dataset = _dataset(node, nodes, originals.get(str(ref)))
        if dataset.dataset_id in seen:
            raise InvalidCatalogue(f"two datasets have the identifier {dataset.dataset_id}")
        seen.add(dataset.dataset_id)
        found.append(dataset)
    return found


def _jsonld_reason(exc: Exception) -> str:
    code = getattr(exc, "code", None) or getattr(exc, "type", None) or "unreadable"
    return str(code)[:100]


def _original_nodes(document: Any, depth: int = 0) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every node object of the document as written, by its @id, kept as the harvested dataset's raw node."""
    if depth > 16:
        return
    if isinstance(document, dict):
        if isinstance(document.get("@id"), str):
            yield document["@id"], document
        for value in document.values():
            if isinstance(value, dict | list):
                yield from _original_nodes(value, depth + 1)
    elif isinstance(document, list):
        for item in document:
            yield from _original_nodes(item, depth + 1)


def _ref(value: Any) -> str | None:
    return value.get("@id") if isinstance(value, dict) and isinstance(value.get("@id"), str) else None


def _literals(node: dict[str, Any], prop: str) -> list[tuple[str, str | None]]:
    """The property's literal values with their language tags (expanded JSON-LD: lists of value objects)."""
    out = []
    for value in node.get(prop, []):
        if isinstance(value, dict) and "@value" in value:
            out.append((str(value["@value"]), value.get("@language")))
    return out


def _text(node: dict[str, Any], prop: str) -> str:
    """One literal of the property: English or untagged first, else the first; '' if none."""
    values = _literals(node, prop)
    for text, language in values:
        if language in (None, "en") or str(language).lower().startswith("en-"):
            return text.strip()
    return values[0][0].strip() if values else ""


def _iris(node: dict[str, Any], prop: str) -> list[str]:
    return [ref for ref in (_ref(v) for v in node.get(prop, [])) if ref and not ref.startswith("_:")]


def _http(iri: str | None) -> str | None:
    """The IRI if it is a plain http(s) URL that fits (links are only ever made of these)."""
    if not iri or len(iri) > MAX_IRI:
        return None
    parts = urlsplit(iri)
    return iri if parts.scheme in ("http", "https") and parts.hostname else None


def _curie(iri: str) -> str:
    """An OBO PURL as its CURIE (DUO:0000042); any other IRI as it is."""
    if iri.startswith(OBO) and "_" in iri[len(OBO):]:
        prefix, _, local = iri[len(OBO):].partition("_")
        return f"{prefix}:{local}"
    return iri


def _terms(values: list[str]) -> tuple[str, ...]:
    kept: list[str] = []
    for value in values:
        value = value.strip()[:MAX_TERM]
        if value and value not in kept:
            kept.append(value)
    return tuple(kept[:MAX_TERMS])


def _when(node: dict[str, Any], prop: str, where: str) -> datetime | None:
    values = _literals(node, prop)
    if not values:
        return None
    text = values[0][0].strip()
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = datetime.combine(date.fromisoformat(text), datetime.min.time())
        except ValueError:
            raise InvalidCatalogue(f"{where}: {prop.rsplit('/', 1)[-1]} is not a date: {text[:40]!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _agent(node: dict[str, Any], prop: str, nodes: dict[str, dict[str, Any]]) -> tuple[str | None, str | None,
                                                                                          dict[str, Any]]:
    """(name, IRI, node) of the agent the property names, if any."""
    ref = next((_ref(v) for v in node.get(prop, []) if _ref(v)), None)
    agent = nodes.get(ref or "", {})
    name = (_text(agent, FOAF + "name") or None) if agent else None
    iri = ref if ref and not ref.startswith("_:") else None
    return (name[:300] if name else None), (iri if iri and len(iri) <= MAX_IRI else None), agent


def _dataset(node: dict[str, Any], nodes: dict[str, dict[str, Any]], original: dict[str, Any] | None
             ) -> HarvestedDataset:
    iri = node["@id"]
    where = f"dataset {iri[:200]}"
    if iri.startswith("_:") or len(iri) > MAX_IRI:
        raise InvalidCatalogue(f"a dataset has no IRI of at most {MAX_IRI} characters (blank or too long)")
    identifier = _text(node, DCT + "identifier")
    if not identifier:
        raise InvalidCatalogue(f"{where} has no dct:identifier")
    if not IDENTIFIER.match(identifier):
        raise InvalidCatalogue(f"{where}: its dct:identifier is not 1-200 letters, digits and ._:-")
    title = _text(node, DCT + "title")
    description = _text(node, DCT + "description")
    if not title:
        raise InvalidCatalogue(f"{where} has no dct:title")
    if not description:
        raise InvalidCatalogue(f"{where} has no dct:description")
    access = next(iter(_iris(node, DCT + "accessRights")), None)
    dac_name, dac_iri, dac = _agent(node, HEALTH + "hdab", nodes)
    dac_home = next(iter(_iris(dac, FOAF + "homepage")), None) if dac else None
    publisher, publisher_iri, _ = _agent(node, DCT + "publisher", nodes)
    assembly = next((_ASSEMBLY[i] for i in _iris(node, DCT + "conformsTo") if i in _ASSEMBLY), None)
    return HarvestedDataset(
        dataset_id=identifier, iri=iri,
        landing_page=next((u for u in map(_http, _iris(node, DCAT + "landingPage")) if u), None),
        title=title[:MAX_TITLE], description=description[:MAX_DESCRIPTION],
        keywords=_terms([t for t, _ in _literals(node, DCAT + "keyword")]),
        themes=_terms(_iris(node, DCAT + "theme")),
        health_themes=_terms([_curie(i) for i in _iris(node, HEALTH + "healthTheme")]),
        duo=_terms([_curie(i) for i in _iris(node, DCT + "rights") if i.startswith(OBO + "DUO_")]),
        access_rights=access if access and len(access) <= MAX_IRI else None,
        security=_SECURITY.get(access or ""),
        dac_name=dac_name, dac_iri=dac_iri,
        dac_node_url=(_http(dac_home) or "").rstrip("/") or None,
        assembly=assembly, publisher=publisher, publisher_iri=publisher_iri,
        issued=_when(node, DCT + "issued", where), modified=_when(node, DCT + "modified", where),
        raw=original if original is not None else node,
    )
