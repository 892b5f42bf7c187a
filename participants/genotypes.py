"""A participant's own genotypes: their column of a dataset's file, as VCF text (what `bcftools view -s` gives)."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import pysam

__all__ = ["file_samples", "own_column"]

_CHUNK_RECORDS = 500


@lru_cache(maxsize=256)
def _header_samples(path: str, mtime_ns: int) -> tuple[str, ...]:
    with pysam.VariantFile(path) as vcf:
        return tuple(vcf.header.samples)


def file_samples(path: str) -> tuple[str, ...]:
    """The samples a VCF/BCF file holds (its header's), read once per version of the file."""
    stat = Path(path).stat()
    return _header_samples(path, stat.st_mtime_ns)


def own_column(path: str, sample_id: str) -> Iterator[bytes]:
    """The file as uncompressed VCF with only `sample_id`'s column, header first, records in the file's order.

    pysam subsets the samples as bcftools does (htslib's bcf_subset), so each record's genotype fields are the
    sample's own, unchanged; INFO AC and AN, when the header has them, count the sample's own alleles as
    bcftools recomputes them (the cohort's counts are not the participant's data).
    """
    vcf = pysam.VariantFile(path)
    try:
        vcf.subset_samples([sample_id])
        recount = "AC" in vcf.header.info and "AN" in vcf.header.info
        yield str(vcf.header).encode()
        chunk: list[str] = []
        for record in vcf:
            if recount:
                _recount(record)
            chunk.append(str(record))
            if len(chunk) >= _CHUNK_RECORDS:
                yield "".join(chunk).encode()
                chunk = []
        if chunk:
            yield "".join(chunk).encode()
    finally:
        vcf.close()


def _recount(record: pysam.VariantRecord) -> None:
    called = [a for sample in record.samples.values() for a in (sample.get("GT") or ()) if a is not None]
    record.info["AN"] = len(called)
    record.info["AC"] = tuple(called.count(i) for i in range(1, len(record.alts or ()) + 1))
