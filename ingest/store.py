"""The managed store: ingested files kept bgzipped (or as BCF) with an index, named by their checksum."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pysam
from pysam import bcftools

from ingest.errors import MalformedFile
from ingest.reader import file_checksums

__all__ = ["StoredFile", "records_per_contig", "store_file"]

_BGZF_MAGIC = b"\x1f\x8b\x08\x04"


@dataclass(frozen=True, slots=True)
class StoredFile:
    name: str  # the name it was ingested under
    path: Path  # in the store
    index_path: Path
    format: str  # "vcf" (bgzipped) or "bcf"
    size: int
    md5: str
    sha256: str


def _kind(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] == b"\x1f\x8b":
        if head != _BGZF_MAGIC:
            raise MalformedFile(str(path), "gzip-compressed but not BGZF; recompress it with `bgzip`")
        with pysam.BGZFile(str(path), "rb", None) as bgzf:
            first = bgzf.read(5)
        return "bcf" if first[:3] == b"BCF" else "vcf.gz"
    return "vcf"


def store_file(source: Path, root: Path, *, checksums: tuple[int, str, str] | None = None) -> StoredFile:
    """Copy `source` into the store under `root` (bgzipping plain VCF) and make sure it has an index.

    Files live under the checksum of what is stored (keeping their own name, which errors quote), so
    storing the same file again is a no-op and two datasets never overwrite each other's files.
    """
    kind = _kind(source)
    root.mkdir(parents=True, exist_ok=True)
    staging = root / f".staging-{os.getpid()}-{source.name}"
    try:
        if kind == "vcf":
            pysam.tabix_compress(str(source), str(staging), force=True)
            checksums = None  # the stored bytes differ from the source
        else:
            shutil.copyfile(source, staging)
        size, md5, sha256 = checksums or file_checksums(staging)
        name = f"{source.name}.gz" if kind == "vcf" else source.name
        final = root / sha256[:2] / sha256 / name
        final.parent.mkdir(parents=True, exist_ok=True)
        if not final.exists():
            os.replace(staging, final)
        index = _ensure_index(final, source, kind)
    finally:
        staging.unlink(missing_ok=True)
    fmt = "bcf" if kind == "bcf" else "vcf"
    return StoredFile(name=source.name, path=final, index_path=index, format=fmt, size=size, md5=md5,
                      sha256=sha256)


def _ensure_index(stored: Path, source: Path, kind: str) -> Path:
    for suffix in (".csi", ".tbi"):
        candidate = Path(f"{stored}{suffix}")
        if candidate.exists():
            return candidate
    if kind != "vcf":  # the source's own index fits the copy byte for byte
        for suffix in (".csi", ".tbi"):
            given = Path(f"{source}{suffix}")
            if given.exists() and given.stat().st_mtime >= source.stat().st_mtime:
                shutil.copyfile(given, f"{stored}{suffix}")
                return Path(f"{stored}{suffix}")
    # CSI with a 4 kb minimum bin: much faster region look-ups than .tbi (see BASELINES.md).
    try:
        bcftools.index("--csi", "--min-shift", "12", "--force", str(stored), catch_stdout=False)
    except pysam.utils.SamtoolsError as exc:
        reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "indexing failed"
        raise MalformedFile(str(source), f"cannot be indexed ({reason}); is it sorted and complete?") from None
    return Path(f"{stored}.csi")


def records_per_contig(path: Path) -> dict[str, int] | None:
    """Records of each contig that has any, in the order of the file's index (None when the index does not say)."""
    try:
        text = str(bcftools.index("--stats", str(path)))
        return {contig: int(records) for contig, _, records in (line.split("\t") for line in text.splitlines())}
    except (pysam.utils.SamtoolsError, ValueError):  # e.g. an index too old to hold counts
        return None
