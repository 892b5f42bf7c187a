"""Sample sheets (TSV or CSV): sample ids, sex, population, phenotype and disease CURIEs."""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from ingest.errors import SampleSheetError

__all__ = [
    "SampleMeta",
    "group_keys",
    "normalise_sex",
    "read_sample_sheet",
    "reconcile",
    "sample_groups",
]

_ID_COLUMNS = ("sample_id", "sample", "id")
_CURIE = re.compile(r"[A-Za-z][A-Za-z0-9_.]*:[A-Za-z0-9_.-]+")
_SEXES: Mapping[str, str] = {
    **dict.fromkeys(("male", "m", "1", "ncit:c20197", "pato:0000384"), "male"),
    **dict.fromkeys(("female", "f", "2", "ncit:c16576", "pato:0000383"), "female"),
    **dict.fromkeys(("", "unknown", "u", "0", "na", "ncit:c17998"), "unknown"),
}


@dataclass(frozen=True, slots=True)
class SampleMeta:
    """One sample sheet row; `line` is its 1-based line in the file (the header is line 1)."""

    sample_id: str
    sex: str = "unknown"
    population: str | None = None
    phenotypes: tuple[str, ...] = ()
    diseases: tuple[str, ...] = ()
    line: int = 0


def normalise_sex(value: str) -> str | None:
    """"male", "female" or "unknown" for male/female/M/F/1/2/NCIT/PATO spellings; None if unrecognised."""
    return _SEXES.get(value.strip().lower())


def _separator(path: str) -> str:
    lower = path.lower()
    if lower.endswith((".tsv", ".tab", ".txt")):
        return "\t"
    if lower.endswith(".csv"):
        return ","
    with open(path, newline="") as handle:
        first = handle.readline()
    try:
        return csv.Sniffer().sniff(first, delimiters="\t,;").delimiter
    except csv.Error:
        return "\t"


def _curies(path: str, text: str, line: int, column: str) -> tuple[str, ...]:
    values = tuple(part.strip() for part in re.split(r"[;,]", text) if part.strip())
    for value in values:
        if not _CURIE.fullmatch(value):
            raise SampleSheetError(
                path, f"{value!r} is not a CURIE (PREFIX:ID, e.g. HP:0001250)", line=line, column=column
            )
    return values


def read_sample_sheet(path: str | os.PathLike[str]) -> list[SampleMeta]:
    """Read a TSV/CSV sample sheet; errors name the file, line and column to correct.

    The id column may be called sample_id, sample or id; sex, population, phenotypes and diseases
    are optional. Phenotypes and diseases are CURIEs separated by ';' or ','.
    """
    path = os.fspath(path)
    try:
        frame = pd.read_csv(
            path, sep=_separator(path), dtype=str, keep_default_na=False, skip_blank_lines=False
        )
    except FileNotFoundError:
        raise SampleSheetError(path, "does not exist; check the path") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise SampleSheetError(path, f"cannot be read as TSV/CSV ({exc}); save it as UTF-8 TSV") from None
    columns = {str(c).strip().lower(): c for c in frame.columns}
    id_column = next((columns[c] for c in _ID_COLUMNS if c in columns), None)
    if id_column is None:
        raise SampleSheetError(path, "has no sample_id column (also accepted: sample, id)", line=1)
    sex_column, pop_column = columns.get("sex"), columns.get("population")
    phen_column, dis_column = columns.get("phenotypes"), columns.get("diseases")
    seen: dict[str, int] = {}
    sheet = []
    for offset, row in enumerate(frame.itertuples(index=False)):
        record = dict(zip(frame.columns, row, strict=True))
        line = offset + 2
        if all(not str(v).strip() for v in record.values()):
            continue
        sample_id = str(record[id_column]).strip()
        if not sample_id:
            raise SampleSheetError(path, "sample id is empty", line=line, column=str(id_column))
        if sample_id in seen:
            raise SampleSheetError(
                path, f"sample {sample_id!r} already appears on line {seen[sample_id]}", line=line,
                column=str(id_column),
            )
        seen[sample_id] = line
        sex = "unknown"
        if sex_column is not None:
            raw = str(record[sex_column])
            normalised = normalise_sex(raw)
            if normalised is None:
                raise SampleSheetError(
                    path, f"sex {raw!r} is not male, female or unknown (M/F/1/2, NCIT or PATO terms also work)",
                    line=line, column=str(sex_column),
                )
            sex = normalised
        population = (str(record[pop_column]).strip() or None) if pop_column is not None else None
        phenotypes = _curies(path, str(record[phen_column]), line, str(phen_column)) if phen_column else ()
        diseases = _curies(path, str(record[dis_column]), line, str(dis_column)) if dis_column else ()
        sheet.append(SampleMeta(sample_id, sex, population, phenotypes, diseases, line))
    return sheet


def reconcile(
    vcf_samples: Sequence[str], sheet: Iterable[SampleMeta]
) -> tuple[list[SampleMeta], list[str], list[str]]:
    """Return (sheet rows in VCF order, VCF samples without a row, rows without a VCF sample)."""
    by_id = {meta.sample_id: meta for meta in sheet}
    in_vcf = set(vcf_samples)
    matched = [by_id[s] for s in vcf_samples if s in by_id]
    missing_metadata = [s for s in vcf_samples if s not in by_id]
    metadata_without_vcf = [s for s in by_id if s not in in_vcf]
    return matched, missing_metadata, metadata_without_vcf


def group_keys(meta: SampleMeta) -> list[str]:
    """The count groups a sample belongs to: "population:X" and "sex:male"/"sex:female" when known."""
    keys = []
    if meta.population:
        keys.append(f"population:{meta.population}")
    if meta.sex in ("male", "female"):
        keys.append(f"sex:{meta.sex}")
    return keys


def sample_groups(sheet: Iterable[SampleMeta]) -> dict[str, list[str]]:
    """Sample id -> group keys, the shape read_variants(sample_groups=...) takes."""
    return {meta.sample_id: group_keys(meta) for meta in sheet}
