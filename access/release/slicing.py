"""Region slices of a bgzipped VCF or a BCF: the raw header, the records overlapping a region, as BGZF blocks."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from access.release import bgzf
from access.release.index import FileIndex, read_index

__all__ = ["VariantSource", "body_blocks", "header_block"]

_BCF_MAGIC = b"BCF\2"
_CONTIG = re.compile(rb"^##contig=<(.*)>\s*$", re.MULTILINE)
_END = re.compile(rb"(?:^|;)END=(\d+)(?:;|$)")


@dataclass(frozen=True, slots=True)
class VariantSource:
    """A stored variant file: its path, format (VCF = bgzipped VCF, or BCF) and index."""

    path: Path
    format: str  # "VCF" | "BCF"
    index_path: Path | None

    def header(self) -> bytes:
        """The raw decompressed header: the '#' lines of a VCF; magic, length and text of a BCF."""
        with self.path.open("rb") as handle:
            return _bcf_header(handle) if self.format == "BCF" else _vcf_header(handle)

    def contigs(self) -> tuple[str, ...]:
        """Contig names as records refer to them: header ids for BCF, the index's names for VCF."""
        header = self.header()
        declared = _declared_contigs(header)
        if self.format == "BCF":
            return declared
        indexed = self.index().names if self.index_path else ()
        return indexed + tuple(c for c in declared if c not in indexed)

    def contigs_with_records(self) -> tuple[str, ...]:
        """The contigs the index has records of, in the order the file holds them (where each one's first begins)."""
        index = self.index()
        names = index.names if self.format == "VCF" else self.contigs()
        first = {name: min(min(o) for o in bins.values() if o)
                 for name, bins in zip(names, index.bins, strict=False) if any(bins.values())}
        return tuple(sorted(first, key=first.__getitem__))

    def index(self) -> FileIndex:
        if self.index_path is None:
            raise ValueError(f"{self.path.name} has no index")
        return read_index(self.index_path)

    def records(self, contig: str, start: int, end: int) -> Iterator[bytes]:
        """Raw records (VCF lines or BCF records) overlapping [start, end) of `contig`, in file order.

        Overlap is htslib's (and so `bcftools view -r`'s): POS..POS+rlen-1, rlen being the REF length or,
        when INFO/END is given, END-POS+1 (for BCF the stored rlen).
        """
        index = self.index()
        names = index.names if self.format == "VCF" else self.contigs()
        if contig not in names:
            return
        ref_id = names.index(contig)
        offset = index.first_offset(ref_id, start, end)
        if offset is None:
            return
        with self.path.open("rb") as handle:
            stream = bgzf.read_from(handle, offset)
            if self.format == "BCF":
                yield from _bcf_records(stream, ref_id, start, end)
            else:
                yield from _vcf_records(stream, contig.encode(), start, end)


def header_block(source: VariantSource) -> bytes:
    """The header as BGZF blocks: the first part of every ticket."""
    return b"".join(bgzf.encode([source.header()]))


def body_blocks(source: VariantSource, contig: str, start: int, end: int) -> Iterator[bytes]:
    """The region's records as BGZF blocks (no EOF marker)."""
    return bgzf.encode(source.records(contig, start, end))


def _declared_contigs(header: bytes) -> tuple[str, ...]:
    # htslib numbers contigs in the order of their ##contig lines unless IDX= says otherwise.
    by_id: dict[int, str] = {}
    next_id = 0
    for match in _CONTIG.finditer(header):
        fields = dict(f.split(b"=", 1) for f in match.group(1).split(b",") if b"=" in f)
        if b"ID" not in fields:
            continue
        number = int(fields[b"IDX"]) if b"IDX" in fields else next_id
        by_id[number] = fields[b"ID"].decode()
        next_id = max(next_id, number + 1)
    return tuple(by_id[i] for i in sorted(by_id))


def _vcf_header(handle: BinaryIO) -> bytes:
    text = bytearray()
    checked = 0  # text[:checked] is made of whole '#' lines
    for data in bgzf.read_from(handle, 0):
        text += data
        while checked < len(text):
            if text[checked] != ord("#"):
                return bytes(text[:checked])
            newline = text.find(b"\n", checked)
            if newline < 0:
                break
            checked = newline + 1
    return bytes(text[:checked]) if checked else bytes(text)


def _bcf_header(handle: BinaryIO) -> bytes:
    data = bytearray()
    for chunk in bgzf.read_from(handle, 0):
        data += chunk
        if len(data) >= 9:
            if data[:4] != _BCF_MAGIC:
                raise ValueError("not a BCF file")
            total = 9 + struct.unpack_from("<I", data, 5)[0]
            if len(data) >= total:
                return bytes(data[:total])
    raise ValueError("truncated BCF header")


def _vcf_records(stream: Iterator[bytes], contig: bytes, start: int, end: int) -> Iterator[bytes]:
    pending = b""
    for data in stream:
        lines = (pending + data).split(b"\n")
        pending = lines.pop()
        for line in lines:
            verdict = _vcf_verdict(line, contig, start, end)
            if verdict is None:
                return
            if verdict:
                yield line + b"\n"
    if pending and _vcf_verdict(pending, contig, start, end):
        yield pending + b"\n"


def _vcf_verdict(line: bytes, contig: bytes, start: int, end: int) -> bool | None:
    """True: the record overlaps; False: it does not; None: it and every later record lie past the region."""
    if not line or line.startswith(b"#"):
        return False
    fields = line.split(b"\t", 8)
    pos = int(fields[1]) - 1
    if fields[0] != contig or pos >= end:
        return None
    rlen = len(fields[3])
    info_end = _END.search(fields[7]) if len(fields) > 7 else None
    if info_end is not None and int(info_end.group(1)) > pos:
        rlen = int(info_end.group(1)) - pos
    return pos + rlen > start


def _bcf_records(stream: Iterator[bytes], ref_id: int, start: int, end: int) -> Iterator[bytes]:
    buffer = bytearray()
    for data in stream:
        buffer += data
        at = 0
        while len(buffer) - at >= 20:
            l_shared, l_indiv = struct.unpack_from("<II", buffer, at)
            size = 8 + l_shared + l_indiv
            if len(buffer) - at < size:
                break
            chrom, pos, rlen = struct.unpack_from("<iii", buffer, at + 8)
            if chrom != ref_id or pos >= end:
                return
            if pos + rlen > start:
                yield bytes(buffer[at:at + size])
            at += size
        del buffer[:at]
