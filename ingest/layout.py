"""Where a bgzipped file's records lie along each contig, read from its index (.tbi or .csi) and BGZF blocks.

A chunk planner cuts a contig where equal shares of its data begin. The index tells, for windows of the
contig, the virtual file offset of the first record overlapping each; the BGZF block headers turn those
offsets into offsets in the uncompressed text, which grows with the records (their genotypes) themselves.
Nothing here reads a record.
"""

from __future__ import annotations

import bisect
import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import pysam

__all__ = ["ContigLayout", "contig_layouts"]

_TBI_WINDOW_SHIFT = 14  # a .tbi linear index has one entry per 16 kb window
_BGZF_HEADER = 18  # bytes of a BGZF block header, whose last two hold the block's size minus one


@dataclass(frozen=True, slots=True)
class ContigLayout:
    """Landmarks of one contig: (1-based position where a window starts, uncompressed offset of the first
    record overlapping that window), sorted by position, and the uncompressed offset where its data ends."""

    landmarks: tuple[tuple[int, int], ...]
    end: int

    def cuts(self, pieces: int) -> list[int]:
        """Up to `pieces - 1` positions (ascending, > 1) that cut the contig into pieces holding about equal
        shares of its data (fewer where the windows are too coarse to cut finer)."""
        if pieces < 2 or not self.landmarks:
            return []
        first = self.landmarks[0][1]
        span = self.end - first
        if span <= 0:
            return []
        offsets = [offset for _, offset in self.landmarks]
        cuts: list[int] = []
        for k in range(1, pieces):
            i = bisect.bisect_left(offsets, first + span * k / pieces)
            if i < len(self.landmarks):
                position = self.landmarks[i][0]
                if position > 1 and (not cuts or position > cuts[-1]):
                    cuts.append(position)
        return cuts

    def share(self, start: int, end: int | None) -> float:
        """The fraction of the contig's data whose windows start in [start, end] (end None: to the end)."""
        if not self.landmarks or self.end <= self.landmarks[0][1]:
            return 1.0
        positions = [position for position, _ in self.landmarks]

        def offset_at(position: int) -> int:
            i = bisect.bisect_left(positions, position)
            return self.landmarks[i][1] if i < len(positions) else self.end

        low = offset_at(start)
        high = self.end if end is None else offset_at(end + 1)
        return max(high - low, 0) / (self.end - self.landmarks[0][1])


def _virtual_to_plain(path: Path) -> tuple[list[int], list[int]]:
    """Compressed offset of each BGZF block and the uncompressed offset where it begins."""
    starts, plain = [], []
    total, offset, size = 0, 0, os.path.getsize(path)
    with path.open("rb") as handle:
        while offset < size:
            handle.seek(offset)
            header = handle.read(_BGZF_HEADER)
            if len(header) < _BGZF_HEADER or header[:4] != b"\x1f\x8b\x08\x04":
                break
            block = struct.unpack_from("<H", header, 16)[0] + 1
            handle.seek(offset + block - 4)
            (isize,) = struct.unpack("<I", handle.read(4))
            starts.append(offset)
            plain.append(total)
            total += isize
            offset += block
    return starts, plain


def _parse_index(index: Path) -> list[tuple[list[tuple[int, int]], int]]:
    """Per reference id of the index: (landmarks as (0-based window start, virtual offset), largest virtual
    offset of its data)."""
    with gzip.open(index, "rb") as handle:
        data = handle.read()
    magic = data[:4]
    refs: list[tuple[list[tuple[int, int]], int]] = []
    if magic == b"TBI\x01":
        n_ref = struct.unpack_from("<i", data, 4)[0]
        l_nm = struct.unpack_from("<i", data, 32)[0]
        at = 36 + l_nm
        for _ in range(n_ref):
            (n_bin,) = struct.unpack_from("<i", data, at)
            at += 4
            last = 0
            for _ in range(n_bin):
                _, n_chunk = struct.unpack_from("<Ii", data, at)
                at += 8
                for c in range(n_chunk):
                    last = max(last, struct.unpack_from("<Q", data, at + 16 * c + 8)[0])
                at += 16 * n_chunk
            (n_intv,) = struct.unpack_from("<i", data, at)
            at += 4
            offsets = struct.unpack_from(f"<{n_intv}Q", data, at)
            at += 8 * n_intv
            refs.append(([(i << _TBI_WINDOW_SHIFT, o) for i, o in enumerate(offsets) if o], last))
        return refs
    if magic == b"CSI\x01":
        min_shift, depth, l_aux = struct.unpack_from("<iii", data, 4)
        at = 16 + l_aux
        (n_ref,) = struct.unpack_from("<i", data, at)
        at += 4
        # Level l's bins are numbered from (8^l - 1) / 7 and each spans 2^(min_shift + 3 (depth - l)) bases. Every
        # level counts: htslib folds bins holding little data into their parents, so small files keep few leaves.
        firsts = [((1 << (3 * level)) - 1) // 7 for level in range(depth + 2)]
        for _ in range(n_ref):
            (n_bin,) = struct.unpack_from("<i", data, at)
            at += 4
            marks, last = [], 0
            for _ in range(n_bin):
                bin_id, loffset, n_chunk = struct.unpack_from("<IQi", data, at)
                at += 16
                for c in range(n_chunk):
                    last = max(last, struct.unpack_from("<Q", data, at + 16 * c + 8)[0])
                at += 16 * n_chunk
                level = bisect.bisect_right(firsts, bin_id) - 1
                if loffset and level <= depth:  # (a pseudo-bin of statistics lies past the last level)
                    marks.append(((bin_id - firsts[level]) << (min_shift + 3 * (depth - level)), loffset))
            refs.append((sorted(set(marks)), last))
        return refs
    raise ValueError(f"{index.name} is not a .tbi or .csi index")


def contig_layouts(path: Path, index: Path) -> dict[str, ContigLayout]:
    """Each contig with data in `path` (as the file spells it) and its layout; {} when the index cannot be
    read this way (the caller then keeps whole contigs)."""
    try:
        refs = _parse_index(index)
        with pysam.VariantFile(str(path)) as vcf:
            names = [str(name) for name in vcf.index.keys()] if vcf.index is not None else []
    except (OSError, ValueError, struct.error):
        return {}
    if len(names) != len(refs):
        return {}
    starts, plain = _virtual_to_plain(path)
    if not starts:
        return {}

    def uncompressed(virtual: int) -> int:
        i = bisect.bisect_right(starts, virtual >> 16) - 1
        return plain[max(i, 0)] + (virtual & 0xFFFF)

    layouts = {}
    for name, (marks, last) in zip(names, refs, strict=True):
        if marks:
            landmarks, highest = [], 0
            for window, virtual in marks:  # kept ascending (a window's first record may start before the last's)
                highest = max(highest, uncompressed(virtual))
                landmarks.append((window + 1, highest))
            layouts[name] = ContigLayout(landmarks=tuple(landmarks), end=max(uncompressed(last), highest))
    return layouts
