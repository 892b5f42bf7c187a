"""Tabix (.tbi) and CSI (.csi) indexes: where in a bgzipped file the records of a region can start."""

from __future__ import annotations

import gzip
import struct
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["FileIndex", "read_index", "region_bins"]

_TBI_MIN_SHIFT, _TBI_DEPTH = 14, 5


@dataclass(frozen=True, slots=True)
class FileIndex:
    """The parts of an index a region query needs: per reference, each bin's chunk start offsets."""

    min_shift: int
    depth: int
    names: tuple[str, ...]  # reference names in index order (empty for BCF: those come from the header)
    bins: tuple[dict[int, list[int]], ...] = field(repr=False)  # per reference: bin -> chunk begin offsets

    def first_offset(self, ref_id: int, start: int, end: int) -> int | None:
        """The smallest virtual offset at which a record overlapping [start, end) may be; None if there is none."""
        if ref_id < 0 or ref_id >= len(self.bins) or end <= start:
            return None
        bins = self.bins[ref_id]
        offsets = [o for b in region_bins(start, end, self.min_shift, self.depth) for o in bins.get(b, ())]
        return min(offsets) if offsets else None


def region_bins(start: int, end: int, min_shift: int, depth: int) -> list[int]:
    """The bins (of the binning scheme shared by TBI and CSI) that may hold records overlapping [start, end).

    The range is clipped to what the scheme covers, so no bin of another level (or the pseudo-bin of
    statistics that follows the last level) is ever named.
    """
    span = 1 << (min_shift + 3 * depth)
    last = min(end, span) - 1
    if last < start:
        return []
    bins: list[int] = []
    first_bin, shift = 0, min_shift + 3 * depth
    for level in range(depth + 1):
        bins.extend(range(first_bin + (start >> shift), first_bin + (last >> shift) + 1))
        shift -= 3
        first_bin += 1 << (3 * level)
    return bins


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, fmt: str) -> tuple[int, ...]:
        values = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return values

    def raw(self, n: int) -> bytes:
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk


def _names(blob: bytes) -> tuple[str, ...]:
    return tuple(n.decode() for n in blob.split(b"\0") if n)


def _tabix_names(conf: bytes) -> tuple[str, ...]:
    # format, col_seq, col_beg, col_end, meta, skip, l_nm, then the NUL-separated names
    (l_nm,) = struct.unpack_from("<i", conf, 24)
    return _names(conf[28:28 + l_nm])


def _read_tbi(r: _Reader) -> FileIndex:
    (n_ref,) = r.take("<i")
    conf = r.raw(28)
    names = _tabix_names(conf + r.raw(struct.unpack_from("<i", conf, 24)[0]))
    refs = []
    for _ in range(n_ref):
        (n_bin,) = r.take("<i")
        bins: dict[int, list[int]] = {}
        for _ in range(n_bin):
            bin_id, n_chunk = r.take("<Ii")
            chunks = r.take(f"<{2 * n_chunk}Q")
            bins[bin_id] = list(chunks[0::2])
        (n_intv,) = r.take("<i")
        r.pos += 8 * n_intv
        refs.append(bins)
    return FileIndex(_TBI_MIN_SHIFT, _TBI_DEPTH, names, tuple(refs))


def _read_csi(r: _Reader) -> FileIndex:
    min_shift, depth, l_aux = r.take("<iii")
    aux = r.raw(l_aux)
    names = _tabix_names(aux) if l_aux >= 28 else ()
    (n_ref,) = r.take("<i")
    refs = []
    for _ in range(n_ref):
        (n_bin,) = r.take("<i")
        bins: dict[int, list[int]] = {}
        for _ in range(n_bin):
            bin_id, _loffset, n_chunk = r.take("<IQi")
            chunks = r.take(f"<{2 * n_chunk}Q")
            bins[bin_id] = list(chunks[0::2])
        refs.append(bins)
    return FileIndex(min_shift, depth, names, tuple(refs))


def read_index(path: str | Path) -> FileIndex:
    """Parse a .tbi or .csi file (both are BGZF-compressed)."""
    data = gzip.decompress(Path(path).read_bytes())
    reader = _Reader(data)
    magic = reader.raw(4)
    if magic == b"TBI\1":
        return _read_tbi(reader)
    if magic == b"CSI\1":
        return _read_csi(reader)
    raise ValueError(f"{path} is neither a tabix nor a CSI index")
