"""VEP `CSQ` and SnpEff `ANN` INFO fields: their columns found from the header, their values per ALT allele."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from catalogue.annotations import Annotation, gene_key, protein_change

__all__ = ["Annotation", "AnnotationField", "annotation_fields", "merge"]

MAX_ENTRIES = 2_000  # annotations of one record read (transcripts x alleles); the rest are ignored
_GENE_CHARS = 64
_PROTEIN_CHARS = 200

# Column names per tool, as their headers spell them (matched case-insensitively).
_COLUMNS = {
    "allele": ("Allele",),
    "effect": ("Consequence", "Annotation"),
    "gene": ("SYMBOL", "Gene_Name"),
    "gene_id": ("Gene", "Gene_ID"),
    "protein": ("HGVSp", "HGVS.p"),
    "allele_num": ("ALLELE_NUM",),
}
_FORMAT = re.compile(r"(?:Format:|annotations:)\s*'?\s*([^'\"]+?)\s*'?\s*\"?$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class AnnotationField:
    """One annotation INFO field (`CSQ` or `ANN`) and the positions of the columns read from it."""

    id: str
    allele: int
    effect: int | None
    gene: int | None
    gene_id: int | None
    protein: int | None
    allele_num: int | None

    def per_alt(self, value: str, ref: str, alts: Sequence[str]) -> list[tuple[Annotation, ...]]:
        """The annotations of each ALT (in order) in one record's value of the field."""
        index = _allele_index(ref, alts)
        found: list[list[Annotation]] = [[] for _ in alts]
        for n, entry in enumerate(value.split(",")):
            if n >= MAX_ENTRIES:
                break
            cells = entry.split("|")
            alt = self._alt(cells, index, len(alts))
            if alt is None:
                continue
            annotation = self._annotation(cells)
            if annotation is not None:
                found[alt].append(annotation)
        return [merge(a) for a in found]

    def _alt(self, cells: list[str], index: dict[str, int], n_alts: int) -> int | None:
        if self.allele_num is not None and self.allele_num < len(cells) and cells[self.allele_num].isdigit():
            number = int(cells[self.allele_num]) - 1
            return number if 0 <= number < n_alts else None
        if n_alts == 1:
            return 0
        return index.get(_cell(cells, self.allele).upper()) if self.allele < len(cells) else None

    def _annotation(self, cells: list[str]) -> Annotation | None:
        gene = _cell(cells, self.gene)[:_GENE_CHARS]
        gene_id = _cell(cells, self.gene_id)[:_GENE_CHARS]
        effects = tuple(sorted({e for e in _cell(cells, self.effect).split("&") if e}))
        protein = _cell(cells, self.protein)[:_PROTEIN_CHARS]
        change = protein_change(protein) or "" if protein else ""
        if not (gene or gene_id or effects or protein):
            return None
        return Annotation(gene, gene_id, effects, protein, change)


def _cell(cells: list[str], at: int | None) -> str:
    return cells[at].strip() if at is not None and at < len(cells) else ""


def _allele_index(ref: str, alts: Sequence[str]) -> dict[str, int]:
    """Each ALT under the spellings annotators use: itself (SnpEff), and VEP's with the base shared by every
    allele removed (`-` for nothing left)."""
    index: dict[str, int] = {}
    sequences = [a for a in (ref, *alts) if not a.startswith("<")]
    shared = len(sequences) > 1 and len({a[:1].upper() for a in sequences}) == 1
    for i, alt in enumerate(alts):
        index.setdefault(alt.upper(), i)
        if shared and not alt.startswith("<"):
            index.setdefault(alt[1:].upper() or "-", i)
    return index


def merge(annotations: Iterable[Annotation]) -> tuple[Annotation, ...]:
    """One annotation per (gene, protein change): the transcripts' effects together, in a stable order."""
    merged: dict[tuple[str, str], Annotation] = {}
    for a in annotations:
        key = (gene_key(a.gene or a.gene_id), a.change)
        seen = merged.get(key)
        if seen is None:
            merged[key] = a
        elif not set(a.effects) <= set(seen.effects):
            merged[key] = Annotation(seen.gene or a.gene, seen.gene_id or a.gene_id,
                                     tuple(sorted({*seen.effects, *a.effects})), seen.protein or a.protein, seen.change)
    return tuple(merged[k] for k in sorted(merged))


def annotation_fields(headers: Iterable[tuple[str, str]]) -> list[AnnotationField]:
    """The annotation fields among a header's INFO fields, given as (ID, Description) pairs: `CSQ` (VEP) and
    `ANN` (SnpEff) whose description lists their columns (`Format: Allele|Consequence|...`)."""
    fields = []
    for field_id, description in headers:
        if field_id not in ("CSQ", "ANN"):
            continue
        match = _FORMAT.search(description.strip())
        if match is None:
            continue
        names = [name.strip().lower() for name in match.group(1).split("|")]

        def column(key: str, names: list[str] = names) -> int | None:
            for candidate in _COLUMNS[key]:
                if candidate.lower() in names:
                    return names.index(candidate.lower())
            return None

        allele = column("allele")
        if allele is None:
            continue
        fields.append(AnnotationField(field_id, allele, column("effect"), column("gene"), column("gene_id"),
                                      column("protein"), column("allele_num")))
    return fields
