"""Beacon filters on individuals: which ontology terms this Beacon understands and what they select."""

from __future__ import annotations

from collections.abc import Sequence

from beacon.errors import UnsupportedParameter
from beacon.models import Filter

__all__ = ["SEX_TERMS", "Selection", "select_individuals", "variant_group"]

SEX_TERMS: dict[str, tuple[str, str]] = {
    "NCIT:C16576": ("female", "female"),
    "NCIT:C20197": ("male", "male"),
    "NCIT:C17998": ("unknown", "unknown"),
}


class Selection:
    """What filters select among individuals: a sex, populations and diseases (all must hold)."""

    def __init__(self, sex: str | None = None, populations: Sequence[str] = (), diseases: Sequence[str] = ()) -> None:
        self.sex = sex
        self.populations = tuple(populations)
        self.diseases = tuple(diseases)

    def matches(self, sex: str, population: str | None, diseases: Sequence[str]) -> bool:
        return ((self.sex is None or sex == self.sex)
                and (not self.populations or population in self.populations)
                and all(d in diseases for d in self.diseases))

    @property
    def empty(self) -> bool:
        return self.sex is None and not self.populations and not self.diseases


def select_individuals(filters: Sequence[Filter]) -> Selection:
    """Read filters: NCIT sex terms, `population:<code>` (or id population = code), disease CURIEs."""
    sex: str | None = None
    populations: list[str] = []
    diseases: list[str] = []
    for f in filters:
        if f.id in SEX_TERMS and f.operator is None:
            value = SEX_TERMS[f.id][0]
            if sex is not None and sex != value:
                raise UnsupportedParameter("filters", f"two different sexes ({sex}, {value}) select nobody")
            sex = value
        elif f.id.lower().startswith("population:") and f.operator is None:
            populations.append(f.id.split(":", 1)[1])
        elif f.id.lower() == "population" and f.operator == "=" and f.value:
            populations.append(f.value)
        elif f.id.lower() == "sex" and f.operator == "=" and f.value in ("female", "male", "unknown"):
            sex = f.value
        elif f.operator is None and f.id.split(":", 1)[0].upper() in ("MONDO", "HP", "ICD10", "OMIM", "ORPHA"):
            diseases.append(f.id)
        else:
            raise UnsupportedParameter("filters", f"{f.as_dict()} is not a filter this Beacon knows "
                                                  "(see /filtering_terms)")
    return Selection(sex, populations, diseases)


def variant_group(selection: Selection) -> str | None:
    """The index group (`sex:female`, `population:EUR`) whose counts answer a variant query, if any.

    The index keeps counts per sex and per population; a disease filter or a combination of filters has
    no group (None) and is answered from the genotypes in the files instead.
    """
    if selection.empty or selection.diseases:
        return None
    keys = ([f"sex:{selection.sex}"] if selection.sex else []) + [f"population:{p}" for p in selection.populations]
    return keys[0] if len(keys) == 1 else None
