"""The Data Use Ontology terms GenomeGate understands: ids, shorthands, labels, what each requires."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from catalogue.errors import InvalidInput

__all__ = ["DUO_TERMS", "DUO_VERSION", "DuoKind", "DuoTerm", "Requirement", "duo_term", "validate_conditions"]


DUO_VERSION = "2021-02-23"  # the Data Use Ontology release whose ids and labels DUO_TERMS holds


class DuoKind(StrEnum):
    permission = "permission"
    modifier = "modifier"
    purpose = "purpose"


class Requirement(StrEnum):
    """What a term needs besides itself before it means something."""

    none = "none"
    disease = "disease"  # DS: one or more disease terms (MONDO, DOID, ...)
    person = "person"  # a DAC member must judge it (ethics approval, collaboration, geography, ...)


@dataclass(frozen=True, slots=True)
class DuoTerm:
    id: str
    shorthand: str
    label: str
    parent: str | None
    kind: DuoKind
    requires: Requirement = Requirement.none
    plain: str = ""  # what the term means for a researcher, in plain words


def _t(id: str, short: str, label: str, parent: str | None, kind: DuoKind,
       requires: Requirement = Requirement.none, plain: str = "") -> DuoTerm:
    return DuoTerm(id, short, label, parent, kind, requires, plain)


_P, _M, _R = DuoKind.permission, DuoKind.modifier, DuoKind.purpose
_DIS, _PER = Requirement.disease, Requirement.person

DUO_TERMS: dict[str, DuoTerm] = {t.id: t for t in (
    _t("DUO:0000004", "NRES", "no restriction", "DUO:0000001", _P, plain="Any use."),
    _t("DUO:0000042", "GRU", "general research use", "DUO:0000001", _P, plain="Any research purpose."),
    _t("DUO:0000006", "HMB", "health or medical or biomedical research", "DUO:0000042", _P,
       plain="Health, medical or biomedical research; not population origins or ancestry."),
    _t("DUO:0000007", "DS", "disease specific research", "DUO:0000006", _P, _DIS,
       plain="Research on the named disease(s) only."),
    _t("DUO:0000011", "POA", "population origins or ancestry research only", "DUO:0000001", _P,
       plain="Population origins or ancestry research only."),
    _t("DUO:0000012", "RS", "research specific restrictions", "DUO:0000017", _M, _PER,
       plain="Limited to the research named by the DAC."),
    _t("DUO:0000015", "NMDS", "no general methods research", "DUO:0000017", _M,
       plain="No methods development beyond the permitted use."),
    _t("DUO:0000016", "GSO", "genetic studies only", "DUO:0000017", _M, _PER, plain="Genetic studies only."),
    _t("DUO:0000018", "NPUNCU", "not for profit, non commercial use only", "DUO:0000017", _M,
       plain="Not-for-profit, non-commercial use only."),
    _t("DUO:0000019", "PUB", "publication required", "DUO:0000017", _M, _PER,
       plain="Results must be published."),
    _t("DUO:0000020", "COL", "collaboration required", "DUO:0000017", _M, _PER,
       plain="Collaboration with the data's investigators required."),
    _t("DUO:0000021", "IRB", "ethics approval required", "DUO:0000017", _M, _PER,
       plain="Ethics committee approval required."),
    _t("DUO:0000022", "GS", "geographical restriction", "DUO:0000017", _M, _PER,
       plain="Use limited to a geographic region."),
    _t("DUO:0000024", "MOR", "publication moratorium", "DUO:0000017", _M, _PER,
       plain="No publication before a given date."),
    _t("DUO:0000025", "TS", "time limit on use", "DUO:0000017", _M, _PER, plain="Use for a limited time."),
    _t("DUO:0000026", "US", "user specific restriction", "DUO:0000017", _M, _PER,
       plain="Use by approved users only."),
    _t("DUO:0000027", "PS", "project specific restriction", "DUO:0000017", _M, _PER,
       plain="Use within an approved project only."),
    _t("DUO:0000028", "IS", "institution specific restriction", "DUO:0000017", _M, _PER,
       plain="Use within approved institutions only."),
    _t("DUO:0000029", "RTN", "return to database or resource", "DUO:0000017", _M, _PER,
       plain="Derived data must be returned to the resource."),
    _t("DUO:0000043", "CC", "clinical care use", "DUO:0000017", _M, plain="Clinical care use allowed."),
    _t("DUO:0000044", "NPOA", "population origins or ancestry research prohibited", "DUO:0000017", _M,
       plain="No population origins or ancestry research."),
    _t("DUO:0000045", "NPU", "not for profit organisation use only", "DUO:0000018", _M,
       plain="Not-for-profit organisations only."),
    _t("DUO:0000046", "NCU", "non-commercial use only", "DUO:0000018", _M, plain="Non-commercial use only."),
    _t("DUO:0000031", "", "method development", "OBI:0000066", _R,
       plain="Developing methods, algorithms or software."),
    _t("DUO:0000032", "", "population research", "OBI:0000066", _R, plain="Population research."),
    _t("DUO:0000033", "", "ancestry research", "OBI:0000066", _R, plain="Ancestry research."),
    _t("DUO:0000034", "", "age category research", "OBI:0000066", _R, plain="Age category research."),
    _t("DUO:0000035", "", "gender category research", "OBI:0000066", _R, plain="Gender category research."),
    _t("DUO:0000036", "", "research control", "OBI:0000066", _R, plain="Use as research controls."),
    _t("DUO:0000037", "", "biomedical research", "OBI:0000066", _R, plain="Biomedical research."),
    _t("DUO:0000038", "", "genetic research", "DUO:0000037", _R, plain="Genetic research."),
    _t("DUO:0000039", "", "drug development research", "DUO:0000037", _R, plain="Drug development."),
    _t("DUO:0000040", "", "disease category research", "DUO:0000037", _R, _DIS,
       plain="Research on a disease category."),
)}

_BY_SHORTHAND = {t.shorthand: t for t in DUO_TERMS.values() if t.shorthand}
_DISEASE_PREFIXES = ("MONDO:", "DOID:", "ICD10:", "HP:", "ORPHA:", "OMIM:", "NCIT:", "EFO:")


def duo_term(value: str) -> DuoTerm:
    """The term for a CURIE (`DUO:0000042`) or shorthand (`GRU`); InvalidInput when unknown."""
    term = DUO_TERMS.get(value) or _BY_SHORTHAND.get(value.upper())
    if term is None:
        raise InvalidInput(f"unknown DUO term {value!r}", field="duo")
    return term


def validate_conditions(duo: list[str], diseases: list[str]) -> list[str]:
    """Check data use conditions of a dataset and return them as sorted, de-duplicated CURIEs.

    A dataset's conditions hold exactly one permission (GRU, HMB, DS, POA or NRES) and any modifiers;
    DS needs at least one disease term.
    """
    terms = {duo_term(v).id: duo_term(v) for v in duo}
    for term in terms.values():
        if term.kind is DuoKind.purpose:
            raise InvalidInput(f"{term.id} ({term.label}) is a research purpose, not a data use condition",
                               field="duo")
    permissions = [t for t in terms.values() if t.kind is DuoKind.permission]
    if terms and len(permissions) != 1:
        raise InvalidInput("data use conditions need exactly one permission term (e.g. GRU, HMB, DS, POA)",
                           field="duo")
    if any(t.requires is Requirement.disease for t in permissions) and not diseases:
        raise InvalidInput("DS (disease specific research) needs at least one disease term, e.g. MONDO:0005148",
                           field="disease_terms")
    for disease in diseases:
        if not disease.startswith(_DISEASE_PREFIXES) or not disease.split(":", 1)[1]:
            raise InvalidInput(f"disease term {disease!r} is not a CURIE of a disease ontology "
                               f"({', '.join(p.rstrip(':') for p in _DISEASE_PREFIXES)})", field="disease_terms")
    return sorted(terms)
