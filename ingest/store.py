"""The managed store: ingested files kept bgzipped (or as BCF), sorted and indexed, named by their checksum."""

from __future__ import annotations

import gzip
import os
import re
import shutil
import tempfile
import uuid
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
    notes: tuple[str, ...] = ()  # what storing changed that the person should know (the ingestion's warnings)


def _kind(path: Path) -> str:
    with path.open("rb") as handle:
        head = handle.read(4)
    if head[:2] == b"\x1f\x8b":
        if head != _BGZF_MAGIC:
            return "gz"  # plain gzip (the reader checked it is VCF): recompressed as BGZF
        with pysam.BGZFile(str(path), "rb", None) as bgzf:
            first = bgzf.read(5)
        return "bcf" if first[:3] == b"BCF" else "vcf.gz"
    return "vcf"


def _recompress(source: Path, target: Path) -> None:
    """Plain gzip to BGZF, streamed; a truncated or damaged gzip stream is the file's error."""
    try:
        with gzip.open(source, "rb") as plain, pysam.BGZFile(str(target), "wb", None) as out:
            while chunk := plain.read(1 << 20):
                out.write(chunk)
    except (OSError, EOFError) as exc:
        raise MalformedFile(str(source), f"is not complete gzip data ({exc}); re-export or re-upload it") from None


def store_file(source: Path, root: Path, *, checksums: tuple[int, str, str] | None = None) -> StoredFile:
    """Copy `source` into the store under `root` (BGZF-compressing plain VCF and plain gzip) with an index.

    Files live under the checksum of what is stored (keeping their own name, which errors quote), so
    storing the same file again is a no-op and two datasets never overwrite each other's files. A file
    whose records are not sorted (htslib cannot index it) is stored sorted by `bcftools sort`, with a note.
    """
    kind = _kind(source)
    root.mkdir(parents=True, exist_ok=True)
    # one staging name per call: a worker's threads may store two files of one name at once
    staging = root / f".staging-{os.getpid()}-{uuid.uuid4().hex}-{source.name}"
    notes: list[str] = []
    try:
        if kind == "vcf":
            pysam.tabix_compress(str(source), str(staging), force=True)
            checksums = None  # the stored bytes differ from the source
        elif kind == "gz":
            _recompress(source, staging)
            checksums = None
        else:
            shutil.copyfile(source, staging)
        size, md5, sha256 = checksums or file_checksums(staging)
        name = f"{source.name}.gz" if kind == "vcf" else source.name
        final = root / sha256[:2] / sha256 / name
        index = _existing_index(final) if final.exists() else None
        if index is None:
            index = _index_staged(staging, source, kind, final, notes)
            size, md5, sha256 = file_checksums(staging) if notes else (size, md5, sha256)
            final = root / sha256[:2] / sha256 / name
            final.parent.mkdir(parents=True, exist_ok=True)
            if not final.exists():
                os.replace(staging, final)
            placed = Path(f"{final}{index.suffix}")
            if not placed.exists():
                os.replace(index, placed)
            index = _existing_index(final) or placed
    finally:
        staging.unlink(missing_ok=True)
        for suffix in (".csi", ".tbi"):
            Path(f"{staging}{suffix}").unlink(missing_ok=True)
    fmt = "bcf" if kind == "bcf" else "vcf"
    return StoredFile(name=source.name, path=final, index_path=index, format=fmt, size=size, md5=md5,
                      sha256=sha256, notes=tuple(notes))


def _existing_index(stored: Path) -> Path | None:
    for suffix in (".csi", ".tbi"):
        candidate = Path(f"{stored}{suffix}")
        if candidate.exists():
            return candidate
    return None


def _index_staged(staging: Path, source: Path, kind: str, final: Path, notes: list[str]) -> Path:
    """Index the staged copy (the source's own index when it has a fresh one); an unsorted file is sorted first."""
    if kind in ("vcf.gz", "bcf"):  # the source's own index fits the copy byte for byte
        for suffix in (".csi", ".tbi"):
            given = Path(f"{source}{suffix}")
            if given.exists() and given.stat().st_mtime >= source.stat().st_mtime:
                shutil.copyfile(given, f"{staging}{suffix}")
                return Path(f"{staging}{suffix}")
    reason = _make_index(staging)
    if reason is None:
        return Path(f"{staging}.csi")
    if not _UNSORTED.search(reason):
        raise MalformedFile(str(source), f"cannot be indexed ({reason}); is it complete?")
    _sort(staging, source, kind)
    notes.append(f"{source.name}: its records were not sorted; it is stored sorted (`bcftools sort`), "
                 "and that sorted copy is the file served and checksummed")
    reason = _make_index(staging)
    if reason is not None:
        raise MalformedFile(str(source), f"cannot be indexed even once sorted ({reason})")
    return Path(f"{staging}.csi")


# htslib's words when records are out of order: "unsorted positions", "chromosome blocks not continuous"
_UNSORTED = re.compile(r"unsorted|not continuous|not sorted", re.IGNORECASE)


def _make_index(path: Path) -> str | None:
    """Write `<path>.csi`; None, or htslib's reason when it cannot."""
    # CSI with a 4 kb minimum bin: much faster region look-ups than .tbi (see BASELINES.md).
    try:
        bcftools.index("--csi", "--min-shift", "12", "--force", str(path), catch_stdout=False)
    except pysam.utils.SamtoolsError as exc:
        return str(exc).strip().splitlines()[-1] if str(exc).strip() else "indexing failed"
    return None


def _sort(staging: Path, source: Path, kind: str) -> None:
    """Replace the staged copy by its records sorted (in the header's contig order), in the same format."""
    with tempfile.TemporaryDirectory(dir=staging.parent, prefix=".sort-") as scratch:
        out = Path(scratch) / "sorted"
        try:
            bcftools.sort("-O", "b" if kind == "bcf" else "z", "-o", str(out), "-T", str(Path(scratch) / "t"),
                          str(staging), catch_stdout=False)
        except pysam.utils.SamtoolsError as exc:
            reason = str(exc).strip().splitlines()[-1] if str(exc).strip() else "sorting failed"
            raise MalformedFile(str(source), f"is not sorted and cannot be sorted ({reason})") from None
        os.replace(out, staging)


def records_per_contig(path: Path) -> dict[str, int] | None:
    """Records of each contig that has any, in the order of the file's index (None when the index does not say)."""
    try:
        text = str(bcftools.index("--stats", str(path)))
        return {contig: int(records) for contig, _, records in (line.split("\t") for line in text.splitlines())}
    except (pysam.utils.SamtoolsError, ValueError):  # e.g. an index too old to hold counts
        return None
