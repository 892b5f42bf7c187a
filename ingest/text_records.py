"""Records of a bgzipped VCF read as text: htslib parses each record's site columns, numpy its calls.

htslib turns every sample's FORMAT fields of a text record into numbers before anything can be counted,
and that parse is most of an ingestion's time. The calls of a cohort are nearly always one of a few
shapes (`0/1`, `1|1`, `./.`, a haploid `1` or `.`, GT first in FORMAT), which numpy reads straight from the
record's bytes, several times faster; htslib still parses the record's first eight columns (against the
file's header without its samples), so sites, FILTER and INFO are read exactly as before. A record with a
call of another shape (three or more alleles in a call, allele numbers of two digits, GT not first in
FORMAT) is read by htslib whole, through the file's index, so every record is counted as htslib reads it:
the calls either way are what cyvcf2's `genotype.array()` gives without its phase column (allele
indices, -1 missing, -2 past the sample's ploidy).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pysam
from cyvcf2 import VCF, Writer

__all__ = ["TextRecords", "simple_calls", "text_records"]

_TAB = 9
_INVALID = 99
_ALLELE_CHARS = b"0123456789."
# Byte -> allele index (a digit, or -1 for '.') or _INVALID; byte -> separates a call's alleles; -> ends a call.
_ALLELE = np.full(256, _INVALID, dtype=np.int8)
_ALLELE[ord("0") : ord("9") + 1] = np.arange(10)
_ALLELE[ord(".")] = -1
_DECODE = _ALLELE.tobytes()  # the same as a bytes.translate table (-1 as the byte 0xff)
_SEPARATES = np.zeros(256, dtype=bool)
_SEPARATES[ord("/")] = _SEPARATES[ord("|")] = True
_ENDS = np.zeros(256, dtype=bool)
_ENDS[_TAB] = _ENDS[ord(":")] = True
# Appended to a record: a tab ending its last field, then bytes (never a tab) to look three past any start.
_PAD = b"\t\0\0\0"


def simple_calls(line: bytes, n_samples: int, kept: np.ndarray | None = None) -> np.ndarray | None:
    """The calls of a record (its text without the newline) whose calls are all simple, else None.

    Simple: GT is FORMAT's first key and every sample's call is one allele or two separated by `/` or `|`,
    each a digit or `.`. The result has a row per sample (of `kept`, row indices, when given) and a column
    per allele of the widest of their calls: allele indices, -1 missing, -2 past a shorter call's end.
    """
    tab = -1
    for _ in range(8):
        tab = line.find(b"\t", tab + 1)
        if tab < 0:
            return None
    last = line.find(b"\t", tab + 1)
    keys = line[tab + 1 : last]
    if last < 0 or (keys != b"GT" and not keys.startswith(b"GT:")):
        return None
    body = line[last + 1 :]
    if keys == b"GT" and len(body) == 4 * n_samples - 1:
        # Every call may be "a/b" or "a|b": a tab every fourth byte, alleles at even offsets, a separator
        # between; checked and decoded by bytes operations, each one pass in C.
        alleles = body[0::2]
        if (body[3::4] == b"\t" * (n_samples - 1) and not body[1::4].translate(None, b"/|")
                and not alleles.translate(None, _ALLELE_CHARS)):
            calls = np.frombuffer(alleles.translate(_DECODE), dtype=np.int8).reshape(n_samples, 2)
            return calls if kept is None else calls[kept]
    buf = np.frombuffer(line + _PAD, dtype=np.uint8)
    tabs = np.flatnonzero(buf == _TAB)
    if len(tabs) != 9 + n_samples:  # 8 before the first sample, one between samples, the padding's
        return None
    starts = tabs[8:-1] + 1
    if kept is not None:
        starts = starts[kept]
    first, second, third = _ALLELE[buf[starts]], buf[starts + 1], _ALLELE[buf[starts + 2]]
    haploid = _ENDS[second]
    diploid = _SEPARATES[second] & (third != _INVALID) & _ENDS[buf[starts + 3]]
    if (first == _INVALID).any() or not (haploid | diploid).all():
        return None
    if not diploid.any():
        return first.reshape(-1, 1)
    return np.column_stack((first, np.where(haploid, np.int8(-2), third)))


class TextRecords:
    """Iterate over (variant, text) for each record of `region` (or the whole file); `calls` reads its calls.

    The variant is cyvcf2's, parsed by htslib from the record's site columns alone; the text is the whole
    record as bytes, without its newline.
    """

    def __init__(self, path: str, index: str, samples: Sequence[str], kept: Sequence[str], region: str | None) -> None:
        self.path = path
        self.n_samples = len(samples)
        position = {sample: i for i, sample in enumerate(samples)}
        self.kept_names = list(kept)
        self.kept = None if len(kept) == len(samples) else np.array([position[s] for s in kept], dtype=np.int64)
        self.region = region
        self._tabix = pysam.TabixFile(path, index=index, encoding="latin-1")  # latin-1: any byte, back unchanged
        self._sites = VCF(path, samples=[])
        # cyvcf2 parses a line only through a writer; this one, on the header without samples, writes nothing.
        self._parser = Writer(os.devnull, self._sites)
        self._htslib: VCF | None = None
        self._at: tuple[str, int] = ("", 0)
        self._nth = 0  # how many records before the current one start at the same position

    def __iter__(self) -> Iterator[tuple[Any, bytes]]:
        try:
            texts = iter(self._tabix.fetch(region=self.region) if self.region else self._tabix.fetch())
        except ValueError:  # a contig the index does not hold: no records
            return
        parse = self._parser.variant_from_string
        at = self._at
        for text in texts:
            cut = -1
            for _ in range(8):  # the site columns end at the eighth tab (INFO's end), if there is one
                cut = text.find("\t", cut + 1)
                if cut < 0:
                    break
            variant = parse(text if cut < 0 else text[:cut])
            here = (variant.CHROM, variant.POS)
            self._nth = self._nth + 1 if here == at else 0
            self._at = at = here
            yield variant, text.encode("latin-1")

    def calls(self, line: bytes) -> np.ndarray | None:
        """The calls of the record yielded last (None: the record has no GT, as htslib says)."""
        calls = simple_calls(line, self.n_samples, self.kept)
        if calls is not None:
            return calls
        return self._read_by_htslib()

    def _read_by_htslib(self) -> np.ndarray | None:
        if self._htslib is None:
            self._htslib = VCF(self.path, samples=None if self.kept is None else self.kept_names)
        chrom, pos = self._at
        nth = self._nth
        for record in self._htslib(f"{chrom}:{pos}-{pos}"):
            if record.POS != pos:
                continue
            if nth == 0:
                genotype = record.genotype
                return None if genotype is None else genotype.array()[:, :-1]  # the last column: phase
            nth -= 1
        raise RuntimeError(f"{self.path}: htslib found no record {self._nth + 1} at {chrom}:{pos}")

    def close(self) -> None:
        self._tabix.close()
        self._parser.close()
        self._sites.close()
        if self._htslib is not None:
            self._htslib.close()


def text_records(path: str, fmt: str, samples: Sequence[str], kept: Sequence[str],
                 region: str | None) -> TextRecords | None:
    """Records read as text from a bgzipped, indexed VCF (`fmt` as the reader found it: "VCF" or "BCF") with
    samples to count; None where htslib must read them."""
    if fmt != "VCF" or not kept:
        return None
    index = next((path + suffix for suffix in (".csi", ".tbi") if os.path.exists(path + suffix)), None)
    if index is None:
        return None
    with open(path, "rb") as handle:
        head = handle.read(18)
    if head[:2] != b"\x1f\x8b" or not (head[3] & 4 and head[12:14] == b"BC"):  # not BGZF: no index can serve it
        return None
    return TextRecords(path, index, samples, kept, region)
