"""VCF <-> BCF conversion of a stored file's header and of a region's records, by htslib (through pysam).

What comes out is what `bcftools view -O[u|v]` writes of the same file and region, byte for byte: the same
library formats it. A region is read through the file's index and written to a temporary file (BCF) or
formatted record by record (VCF), so memory stays bounded whatever the region's size.
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from typing import IO

import pysam

from access.release import bgzf
from access.release.errors import UnsupportedFormat
from access.release.slicing import VariantSource

__all__ = ["converted_header", "converted_records"]

_READ = 1 << 20


def _open(source: VariantSource) -> pysam.VariantFile:
    index = str(source.index_path) if source.index_path is not None else None
    return pysam.VariantFile(str(source.path), index_filename=index)


def _decompressed(handle: IO[bytes]) -> Iterator[bytes]:
    handle.seek(0)
    return bgzf.read_from(handle, 0)  # type: ignore[arg-type]


def _bcf_header_size(first: bytes) -> int:
    return 9 + int(struct.unpack_from("<I", first, 5)[0])


def converted_header(source: VariantSource, target: str) -> bytes:
    """The file's header in the `target` format, decompressed: VCF text, or BCF's magic, length and text."""
    with _open(source) as reader:
        if target == "VCF":
            return str(reader.header).encode()
        with tempfile.TemporaryFile() as spool:
            with pysam.VariantFile(spool, "wb0", header=reader.header):
                pass  # htslib writes the header when the file closes
            return b"".join(_decompressed(spool))


def converted_records(source: VariantSource, target: str, contig: str, start: int, end: int) -> Iterator[bytes]:
    """The records overlapping [start, end) of `contig` (the file's own name) in the `target` format, decompressed.

    UnsupportedFormat when a record uses a field or contig its header does not declare (htslib adds it to the
    header as it reads, so a BCF body would name entries the ticket's header block lacks).
    """
    with _open(source) as reader:
        declared = str(reader.header)
        try:
            fetched = reader.fetch(contig, start, end)
        except ValueError:  # a contig of the header the index holds nothing of
            return
        if target == "VCF":
            for record in fetched:
                yield str(record).encode()
        else:
            yield from _as_bcf(reader, fetched, source.path.name)
        if str(reader.header) != declared:
            raise _undeclared(source.path.name, target)


def _undeclared(name: str, target: str) -> UnsupportedFormat:
    return UnsupportedFormat(f"{name} has records using fields or contigs its header does not declare; it cannot be "
                             f"converted to {target}: ask its own format", field="format")


def _as_bcf(reader: pysam.VariantFile, records: Iterator[pysam.VariantRecord], name: str) -> Iterator[bytes]:
    # Written uncompressed-in-BGZF (level 0) to disk, then read back past the header: pysam cannot write raw BCF.
    with tempfile.TemporaryFile() as spool:
        with pysam.VariantFile(spool, "wb0", header=reader.header) as writer:
            for record in records:
                try:
                    writer.write(record)
                except (OSError, TypeError):  # htslib refuses a tag the header lacks (pysam's OSError breaks)
                    raise _undeclared(name, "BCF") from None
        skip: int | None = None
        pending = b""
        for data in _decompressed(spool):
            if skip is None:
                pending += data
                if len(pending) < 9:
                    continue
                skip = _bcf_header_size(pending)
                data, pending = pending, b""
            if skip:
                cut = min(skip, len(data))
                data, skip = data[cut:], skip - cut
            if data:
                yield data
