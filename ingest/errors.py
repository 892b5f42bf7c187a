"""Errors raised while reading input files; each names the file, the record and how to fix it."""

from __future__ import annotations

from typing import Any

from catalogue.errors import InvalidInput

__all__ = [
    "BadAllele",
    "GenotypeError",
    "IngestInputError",
    "MalformedFile",
    "ReferenceMismatch",
    "SampleMismatch",
    "SampleSheetError",
    "UnsortedRecords",
    "WrongAssembly",
]


class IngestInputError(InvalidInput):
    """A file could not be ingested; the message names the file, the record and the reason.

    `path` is the file, `record` the 1-based data record number, `locus` the `CHROM:POS` when known.
    """

    def __init__(
        self,
        path: str,
        reason: str,
        *,
        record: int | None = None,
        locus: str | None = None,
        line: int | None = None,
        column: str | None = None,
    ) -> None:
        where = []
        if record is not None:
            where.append(f"record {record}" + (f" ({locus})" if locus else ""))
        elif locus:
            where.append(locus)
        if line is not None:
            where.append(f"line {line}")
        if column is not None:
            where.append(f"column {column!r}")
        name = path.rsplit("/", 1)[-1]
        message = f"{name}: {', '.join(where)}: {reason}" if where else f"{name}: {reason}"
        super().__init__(message, field=path)
        self.path = path
        self.reason = reason
        self.record = record
        self.locus = locus
        self.line = line
        self.column = column

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as its parts (by default only the message, which __init__ cannot take back): an error
        # raised in a --jobs worker process then reaches the person exactly as the worker raised it.
        return _rebuild, (type(self), self.path, self.reason, self.record, self.locus, self.line, self.column)


def _rebuild(cls: type[IngestInputError], path: str, reason: str, record: int | None, locus: str | None,
             line: int | None, column: str | None) -> IngestInputError:
    return cls(path, reason, record=record, locus=locus, line=line, column=column)


class MalformedFile(IngestInputError):
    """The file is unreadable, truncated or its header is malformed.

    Check it with `bcftools view -h FILE` (header) and `bgzip -t FILE` (truncation); re-export or
    re-upload it.
    """


class UnsortedRecords(IngestInputError):
    """Records go backwards within a contig, or a contig appears twice.

    Sort the file with `bcftools sort -Oz -o sorted.vcf.gz FILE` and index it.
    """


class BadAllele(IngestInputError):
    """A REF or ALT allele holds characters other than A, C, G, T, N or a symbolic `<...>` allele.

    Fix the allele at the named record (or drop the record with `bcftools view -e`).
    """


class GenotypeError(IngestInputError):
    """Allele counts cannot be taken: a GT refers to a missing ALT, or a sites-only file lacks AC/AN.

    Recompute tags with `bcftools +fill-tags FILE -- -t AC,AN` or fix the genotypes.
    """


class WrongAssembly(IngestInputError):
    """Contig lengths or names do not belong to the declared assembly.

    Declare the assembly the file was called against, or lift the file over to it.
    """


class ReferenceMismatch(IngestInputError):
    """A REF allele disagrees with the reference FASTA.

    Make sure the FASTA is the one the file was called against; check with
    `bcftools norm -c e -f REF.fa FILE`.
    """


class SampleMismatch(IngestInputError):
    """The samples in the VCF and the sample sheet do not agree.

    Add the missing rows to the sample sheet, or subset the VCF with `bcftools view -s`.
    """


class SampleSheetError(IngestInputError):
    """A sample sheet cell is invalid; the message names the line and column. Correct the cell."""
