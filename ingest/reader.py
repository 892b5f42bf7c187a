"""Streaming VCF/BCF reader: split, normalise and count alleles into one row per variant."""

from __future__ import annotations

import gzip
import hashlib
import os
import re
from collections import Counter
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cyvcf2 import VCF

from catalogue.alleles import AlleleKind, InvalidAllele, allele_kind, classify, is_bases, left_align, skip_kind, trim
from catalogue.assemblies import canonical_contig, check_contig_lengths, is_hg19_mitochondrion
from ingest.annotations import Annotation, AnnotationField, annotation_fields, merge
from ingest.errors import (
    BadAllele,
    GenotypeError,
    IngestInputError,
    MalformedFile,
    ReferenceMismatch,
    UnsortedRecords,
    WrongAssembly,
)
from ingest.text_records import TextRecords, text_records

__all__ = [
    "HG19_CHRM",
    "HeaderInfo",
    "PRESENT",
    "ReadSummary",
    "VariantReader",
    "VariantRow",
    "file_checksums",
    "read_variants",
    "scan_header",
]

# Rows are held back until the reader is this many bases past them, so that rows moved by trimming
# (rightwards) or left-alignment (leftwards) still come out sorted.
SORT_WINDOW = 10_000

# A row's counts when its file gives neither genotypes nor INFO AC/AN: the variant is present (AC > 0, so
# searches find it) and nothing is known of its counts (AN 0). The dataset's statistics count such rows, and
# everything that shows counts says "unknown" for a dataset holding any (catalogue.counts).
PRESENT = (1, 0, 0, 0, 0, None)
HG19_CHRM = "hg19 chrM"  # the skip kind of records on hg19's mitochondrion in a GRCh37 file
_MAX_SKIP_KINDS = 20  # distinct symbolic alleles counted by name; further ones under "other symbolic"

_BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
_CONTIG_LINE = re.compile(r"^##contig=<(.*)>\s*$", re.MULTILINE)
_REGION = re.compile(r"^([^:]+)(?::([\d,]+)(?:-([\d,]+))?)?$")


@dataclass(frozen=True, slots=True)
class VariantRow:
    """One (chrom, pos, ref, alt) after splitting multi-allelic records and normalising.

    `het` counts carriers with the ALT on some but not all called alleles, `hom_alt` carriers of
    ploidy two or more whose called alleles are all this ALT, `hemi_alt` haploid carriers.
    `groups` maps a group key ("population:EUR", "sex:female") to (ac, an, het, hom_alt).
    `annotations` are what the file's VEP or SnpEff annotation says of this ALT.
    """

    chrom: str
    pos: int
    end: int
    ref: str
    alt: str
    variant_type: str
    length: int
    ac: int
    an: int
    het: int
    hom_alt: int
    hemi_alt: int
    groups: dict[str, tuple[int, int, int, int]] = field(default_factory=dict)
    annotations: tuple[Annotation, ...] = ()  # from the file's VEP CSQ / SnpEff ANN field, per gene


@dataclass(slots=True)
class ReadSummary:
    """What a read saw; complete once the reader is exhausted."""

    path: str
    samples: list[str] = field(default_factory=list)
    records_read: int = 0
    records_kept: int = 0
    records_skipped_filter: int = 0
    records_skipped_other: int = 0
    alleles_skipped: int = 0
    skipped: Counter[str] = field(default_factory=Counter)  # skipped alleles (records: hg19 chrM) per kind
    rows: int = 0
    rows_merged: int = 0
    rows_per_chromosome: Counter[str] = field(default_factory=Counter)
    rows_per_type: Counter[str] = field(default_factory=Counter)
    contigs_seen: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class HeaderInfo:
    """What a file's header declares."""

    path: str
    format: str  # "VCF" or "BCF"
    samples: list[str]
    contigs: dict[str, int | None]
    has_genotypes: bool
    info_fields: frozenset[str]


def file_checksums(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> tuple[int, str, str]:
    """Return (size in bytes, md5 hex, sha256 hex), reading the file in chunks."""
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while chunk := handle.read(chunk_size):
            size += len(chunk)
            md5.update(chunk)
            sha256.update(chunk)
    return size, md5.hexdigest(), sha256.hexdigest()


def _check_container(path: str) -> str:
    """Fail early on unreadable or truncated files (htslib would stop silently); return the format."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(18)
            compressed = head[:2] == b"\x1f\x8b"
            if compressed:
                handle.seek(max(os.path.getsize(path) - len(_BGZF_EOF), 0))
                tail = handle.read()
    except OSError as exc:
        raise MalformedFile(path, f"cannot be read ({exc.strerror}); check the path and permissions") from None
    if not head:
        raise MalformedFile(path, "is empty; re-export or re-upload it")
    if not compressed:
        return "VCF"
    if not (head[3] & 4 and head[12:14] == b"BC"):  # plain gzip: htslib reads it, the store recompresses it
        try:
            with gzip.open(path, "rb") as handle:
                magic = handle.read(5)
        except (OSError, EOFError) as exc:
            raise MalformedFile(path, f"is gzip-compressed but not valid gzip data ({exc}); re-export it") from None
        if magic[:3] == b"BCF":
            raise MalformedFile(path, "is BCF compressed with plain gzip; convert it with `bcftools view -Ob`")
        return "VCF"
    if tail != _BGZF_EOF:
        raise MalformedFile(
            path, "is truncated (no BGZF end-of-file block); re-upload it, `bgzip -t` shows the damage"
        )
    try:
        with gzip.open(path, "rb") as handle:
            magic = handle.read(5)
    except (OSError, EOFError) as exc:
        raise MalformedFile(path, f"is not valid gzip/BGZF data ({exc}); re-compress it with bgzip") from None
    return "BCF" if magic[:3] == b"BCF" else "VCF"


def _open(path: str, **kwargs: Any) -> VCF:
    malformed = "has a malformed header (needs ##fileformat=VCF... and a #CHROM line); check `bcftools view -h`"
    try:
        vcf = VCF(path, **kwargs)
    except OSError:
        raise MalformedFile(path, "is not a VCF or BCF file; check it with `bcftools view -h`") from None
    except Exception as exc:  # cyvcf2 raises a bare Exception("cannot parse VCF header")
        raise MalformedFile(path, f"{malformed} ({exc})") from None
    header = vcf.raw_header
    if not header.startswith("##fileformat=VCF") or "\n#CHROM\t" not in "\n" + header:
        vcf.close()
        raise MalformedFile(path, malformed)
    return vcf


def _header_contigs(raw_header: str) -> dict[str, int | None]:
    contigs: dict[str, int | None] = {}
    for body in _CONTIG_LINE.findall(raw_header):
        fields = dict(part.split("=", 1) for part in re.findall(r"(\w+=[^,]*)", body))
        if "ID" in fields:
            length = fields.get("length", "")
            contigs[fields["ID"]] = int(length) if length.isdigit() else None
    return contigs


def scan_header(path: str | os.PathLike[str]) -> HeaderInfo:
    """Read only the header: samples, contigs with lengths, whether genotypes are present, format."""
    path = os.fspath(path)
    fmt = _check_container(path)
    vcf = _open(path)
    try:
        infos = frozenset(h["ID"] for h in vcf.header_iter() if h.type == "INFO")
        formats = {h["ID"] for h in vcf.header_iter() if h.type == "FORMAT"}
        samples = list(vcf.samples)
        return HeaderInfo(
            path=path,
            format=fmt,
            samples=samples,
            contigs=_header_contigs(vcf.raw_header),
            has_genotypes=bool(samples) and "GT" in formats,
            info_fields=infos,
        )
    finally:
        vcf.close()


class _Counter:
    """Allele counts from a record's calls without per-sample Python work.

    Most ALT alleles are rare, so the counts look only at the few cells that hold the allele
    (and at missing cells for AN) instead of reducing over every sample.
    """

    def __init__(self, samples: Sequence[str], sample_groups: Mapping[str, Sequence[str]] | None) -> None:
        keys = sorted({key for groups in (sample_groups or {}).values() for key in groups})
        self.keys = keys
        self.membership: np.ndarray | None = None
        self.group_sizes: np.ndarray | None = None
        if keys:
            column = {key: i for i, key in enumerate(keys)}
            membership = np.zeros((len(samples), len(keys)), dtype=np.float64)
            for i, sample in enumerate(samples):
                for key in (sample_groups or {}).get(sample, ()):
                    membership[i, column[key]] = 1.0
            self.membership = membership
            self.group_sizes = membership.sum(axis=0)

    def count(self, calls: np.ndarray, n_alt: int) -> list[tuple[int, int, int, int, int, np.ndarray | None]]:
        """Per ALT index 1..n_alt: (ac, an, het, hom_alt, hemi_alt, group counts 4 x G or None).

        `calls` holds a row of allele indices per sample (-1 missing, -2 past the sample's ploidy), as many
        columns as the widest call: cyvcf2's `genotype.array()` without its phase column, or the same read
        from the record's text (ingest.text_records).
        """
        width = calls.shape[1]
        flat = calls.ravel()
        uncalled = np.flatnonzero(flat < 0)
        an = calls.shape[0] * width - len(uncalled)
        membership = self.membership
        group_an = None
        if membership is not None:
            assert self.group_sizes is not None
            group_an = self.group_sizes * width - membership[uncalled // width].sum(axis=0)
        results = []
        for k in range(1, n_alt + 1):
            cells = np.flatnonzero(flat == k)
            if not len(cells):
                groups = None
                if group_an is not None:
                    groups = np.zeros((4, len(group_an)))
                    groups[1] = group_an
                results.append((0, an, 0, 0, 0, groups))
                continue
            if len(cells) * 16 > len(calls):
                results.append(self._dense(calls, k, len(cells), an, group_an))
                continue
            owners = cells // width  # sorted, as cells are
            if width == 1:
                carriers, per_sample = owners, np.ones(len(owners), dtype=np.int64)
            else:
                first = np.flatnonzero(np.concatenate(([True], owners[1:] != owners[:-1])))
                carriers = owners[first]
                per_sample = np.diff(np.append(first, len(owners)))
            rows = calls[carriers]
            whole = per_sample == (rows >= 0).sum(axis=1)
            ploidy = width - (rows == -2).sum(axis=1) if width > 1 else 1
            hom = whole & (ploidy >= 2)
            het = ~whole
            groups = None
            if membership is not None:
                groups = np.vstack((per_sample, per_sample, het, hom)).astype(np.float64) @ membership[carriers]
                groups[1] = group_an
            results.append(
                (
                    len(cells),
                    an,
                    int(np.count_nonzero(het)),
                    int(np.count_nonzero(hom)),
                    len(carriers) - int(np.count_nonzero(het)) - int(np.count_nonzero(hom)),
                    groups,
                )
            )
        return results

    def nobody(self, n_alt: int) -> list[tuple[int, int, int, int, int, np.ndarray | None]]:
        """The counts of a record none of whose samples is counted (every one left out)."""
        groups = np.zeros((4, len(self.keys))) if self.keys else None
        return [(0, 0, 0, 0, 0, groups) for _ in range(n_alt)]

    def _dense(
        self, calls: np.ndarray, k: int, ac: int, an: int, group_an: np.ndarray | None
    ) -> tuple[int, int, int, int, int, np.ndarray | None]:
        """Counts for a common allele: element-wise over the allele columns, no per-axis reductions."""
        width = calls.shape[1]
        per_sample = np.zeros(len(calls), dtype=np.int8)
        called = np.zeros(len(calls), dtype=np.int8)
        for j in range(width):
            column = calls[:, j]
            per_sample += (column == k).view(np.int8)
            called += (column >= 0).view(np.int8)
        carrier = per_sample > 0
        whole = carrier & (per_sample == called)
        # Ploidy markers (-2) fill a sample's cells from the right, so column 1 tells diploid-or-more.
        multi = calls[:, 1] != -2 if width > 1 else np.zeros(len(calls), dtype=bool)
        hom = whole & multi
        het = carrier & ~whole
        n_het, n_hom = int(np.count_nonzero(het)), int(np.count_nonzero(hom))
        groups = None
        if self.membership is not None:
            groups = np.vstack((per_sample, per_sample, het, hom)).astype(np.float64) @ self.membership
            groups[1] = group_an
        return ac, an, n_het, n_hom, int(np.count_nonzero(whole)) - n_hom, groups


class _Reference:
    """REF checks and left-alignment against an indexed FASTA whose contig names are canonicalised."""

    def __init__(self, path: str, assembly: str) -> None:
        import pysam

        try:
            self.fasta = pysam.FastaFile(path)
        except (OSError, ValueError) as exc:
            raise MalformedFile(path, f"cannot be opened as an indexed FASTA ({exc}); run `samtools faidx`") from None
        self.path = path
        self.names = {}
        for name in self.fasta.references:
            chrom = canonical_contig(name, assembly)
            if chrom is not None:
                self.names[chrom] = name

    def fetcher(self, chrom: str) -> Callable[[int, int], str] | None:
        name = self.names.get(chrom)
        if name is None:
            return None
        fasta = self.fasta

        def fetch(start: int, end: int) -> str:
            return fasta.fetch(name, start, end)

        return fetch


def _matches(ref: str, expected: str) -> bool:
    if len(ref) != len(expected):
        return False
    return all(a == b or a == "N" or b == "N" for a, b in zip(ref, expected, strict=True))


def _parse_region(region: str, contigs: Sequence[str], assembly: str, path: str) -> str:
    """Translate "1:100-200" or "chr1" into the file's own contig spelling."""
    match = _REGION.match(region.strip())
    if not match:
        raise IngestInputError(path, f"region {region!r} is not CHROM or CHROM:START-END, e.g. chr1:1-1000000")
    chrom = canonical_contig(match.group(1), assembly)
    if chrom is None:
        raise WrongAssembly(path, f"region {region!r} is not on a chromosome of {assembly}")
    spelled = next((c for c in contigs if canonical_contig(c, assembly) == chrom), match.group(1))
    rest = region.strip()[len(match.group(1)) :]
    return spelled + rest.replace(",", "")


class VariantReader:
    """Iterate over batches of VariantRow; `summary` is complete once iteration ends.

    Rows of one contig come out sorted by (pos, ref, alt) with one row per key; records that
    normalise to the same key are merged by summing their counts.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        assembly: str,
        pass_only: bool = True,
        reference: str | os.PathLike[str] | None = None,
        sample_groups: Mapping[str, Sequence[str]] | None = None,
        region: str | None = None,
        records_before: int = 0,
        batch_size: int = 10_000,
        exclude_samples: Collection[str] = (),
    ) -> None:
        self.path = os.fspath(path)
        self.exclude_samples = frozenset(exclude_samples)
        self.assembly = assembly
        self.pass_only = pass_only
        self.reference = None if reference is None else os.fspath(reference)
        self.sample_groups = sample_groups
        self.region = region
        self.records_before = records_before
        self.batch_size = batch_size
        self.summary = ReadSummary(path=self.path)
        self.annotation_fields: list[AnnotationField] = []
        self._text: TextRecords | None = None  # while reading: records read as text (ingest.text_records)

    def __iter__(self) -> Iterator[list[VariantRow]]:
        return self._batches()

    def _skip(self, allele: str) -> None:
        summary = self.summary
        summary.alleles_skipped += 1
        kind = skip_kind(allele)
        if kind.startswith("<") and kind not in summary.skipped and len(summary.skipped) >= _MAX_SKIP_KINDS:
            kind = "other symbolic"
        summary.skipped[kind] += 1

    def _fail(self, cls: type[IngestInputError], reason: str, record: int, chrom: str, pos: int) -> IngestInputError:
        return cls(self.path, reason, record=record, locus=f"{chrom}:{pos}")

    def _batches(self) -> Iterator[list[VariantRow]]:
        path, summary = self.path, self.summary
        fmt = _check_container(path)
        header = _open(path)
        try:
            in_file = list(header.samples)
            contigs = _header_contigs(header.raw_header)
            has_gt = any(h.type == "FORMAT" and h["ID"] == "GT" for h in header.header_iter())
            infos = [(str(h["ID"]), str(h.info().get("Description", ""))) for h in header.header_iter()
                     if h.type == "INFO"]
        finally:
            header.close()
        problems = check_contig_lengths(contigs, self.assembly)
        if problems:
            raise WrongAssembly(path, "; ".join(problems))
        foreign = {name for name, length in contigs.items() if is_hg19_mitochondrion(name, length, self.assembly)}
        self.annotation_fields = annotation_fields(infos)
        kept = [s for s in in_file if s not in self.exclude_samples]
        everyone_left_out = bool(in_file) and not kept
        spelled = None
        first_pos = 0  # records starting before a region's start overlap it, but belong to the region before
        if self.region:
            if not any(os.path.exists(path + suffix) for suffix in (".tbi", ".csi")):
                raise MalformedFile(
                    path, f"has no index (.tbi or .csi) to read region {self.region!r} from; "
                    "index it with `bcftools index`"
                )
            spelled = _parse_region(self.region, list(contigs), self.assembly, path)
            start = _REGION.match(spelled)
            first_pos = int(start.group(2)) if start and start.group(2) else 0
        # A contig the file does not declare has no records; htslib would raise instead.
        no_records = spelled is not None and spelled.split(":", 1)[0] not in contigs
        # Records are read as text where they can be (ingest.text_records); otherwise htslib reads them whole,
        # leaving out excluded samples' columns as it decodes each record (what `bcftools view -s ^S` reads),
        # so the others are counted as in a file without them.
        text = text_records(path, fmt, in_file, kept, spelled) if has_gt and not no_records else None
        self._text = text
        vcf = None if text else _open(path, samples=kept if len(kept) < len(in_file) else None)
        summary.samples = kept
        counter = _Counter(kept, self.sample_groups) if kept or everyone_left_out else None
        group_keys = counter.keys if counter else []
        reference = _Reference(self.reference, self.assembly) if self.reference else None
        records: Iterator[tuple[Any, bytes | None]]
        if text is not None:
            records = iter(text)
        elif vcf is None or no_records:
            records = iter(())
        else:
            records = ((variant, None) for variant in (vcf(spelled) if spelled else vcf))

        canonical: dict[str, str | None] = {}
        finished: set[str] = set()
        current: str | None = None
        fetch: Callable[[int, int], str] | None = None
        last_pos = 0
        pending: dict[tuple[int, str, str], list[Any]] = {}
        last_key: tuple[int, str, str] | None = None
        out: list[VariantRow] = []
        number = self.records_before
        pass_only = self.pass_only

        def flush(before: int | None) -> None:
            nonlocal last_key
            assert current is not None
            ready = sorted(k for k in pending if before is None or k[0] < before)
            for key in ready:
                end, vtype, length, ac, an, het, hom, hemi, groups, annotations = pending.pop(key)
                group_counts = {}
                if groups is not None:
                    for j, gkey in enumerate(group_keys):
                        g = groups[:, j]
                        group_counts[gkey] = (int(g[0]), int(g[1]), int(g[2]), int(g[3]))
                out.append(
                    VariantRow(
                        current, key[0], end, key[1], key[2], vtype, length, ac, an, het, hom, hemi, group_counts,
                        annotations,
                    )
                )
                summary.rows_per_chromosome[current] += 1
                summary.rows_per_type[vtype] += 1
                last_key = key
            summary.rows += len(ready)

        try:
            while True:
                try:
                    variant, line = next(records)
                except StopIteration:
                    break
                except Exception as exc:  # htslib parse failures surface as bare exceptions from cyvcf2
                    raise MalformedFile(
                        path, f"cannot be parsed after record {number} ({exc}); check it with `bcftools view`"
                    ) from None
                pos = variant.POS
                if pos < first_pos:
                    continue
                number += 1
                raw_chrom = variant.CHROM
                chrom = canonical.get(raw_chrom, "")
                if chrom == "":
                    if raw_chrom in foreign or (raw_chrom not in contigs
                                                and is_hg19_mitochondrion(raw_chrom, None, self.assembly)):
                        chrom = canonical[raw_chrom] = HG19_CHRM
                    else:
                        chrom = canonical[raw_chrom] = canonical_contig(raw_chrom, self.assembly)
                if chrom == HG19_CHRM:  # never stored as GRCh37's MT: another sequence, other positions
                    summary.records_read += 1
                    summary.records_skipped_other += 1
                    summary.skipped[HG19_CHRM] += 1
                    continue
                if chrom is None:
                    raise self._fail(
                        WrongAssembly, f"contig {raw_chrom} is not a chromosome of {self.assembly}; "
                        "declare the right assembly or drop the contig (`bcftools view -t ^CONTIG`)",
                        number, raw_chrom, pos,
                    )
                if chrom != current:
                    if chrom in finished:
                        raise self._fail(
                            UnsortedRecords, f"contig {raw_chrom} appears again after other contigs; "
                            "sort the file with `bcftools sort`", number, raw_chrom, pos,
                        )
                    if current is not None:
                        flush(None)
                        finished.add(current)
                    current, last_pos, last_key = chrom, 0, None
                    summary.contigs_seen.append(chrom)
                    if reference is not None:
                        fetch = reference.fetcher(chrom)
                elif pos < last_pos:
                    raise self._fail(
                        UnsortedRecords, f"position goes backwards (after {last_pos}); sort the file with "
                        "`bcftools sort`", number, raw_chrom, pos,
                    )
                last_pos = pos
                summary.records_read += 1
                if pass_only and variant.FILTER is not None:
                    summary.records_skipped_filter += 1
                    continue
                try:
                    self._record(variant, line, number, chrom, pos, counter, reference, fetch, pending, last_key)
                except IngestInputError:
                    raise
                except Exception as exc:  # cyvcf2 raises bare exceptions ("couldn't get genotypes for variant")
                    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                    raise self._fail(MalformedFile, f"cannot be decoded ({reason[:200]}); check the record with "
                                     "`bcftools view`", number, raw_chrom, pos) from None
                if len(pending) >= self.batch_size:
                    flush(pos - SORT_WINDOW)
                    if len(out) >= self.batch_size:
                        yield out
                        out = []
        finally:
            if vcf is not None:
                vcf.close()
            if text is not None:
                text.close()
        if current is not None:
            flush(None)
        if out:
            yield out

    def _record(
        self,
        variant: Any,
        line: bytes | None,
        number: int,
        chrom: str,
        pos: int,
        counter: _Counter | None,
        reference: _Reference | None,
        fetch: Callable[[int, int], str] | None,
        pending: dict[tuple[int, str, str], list[Any]],
        last_key: tuple[int, str, str] | None,
    ) -> None:
        summary = self.summary
        raw_ref = variant.REF
        ref = raw_ref.upper()
        if not is_bases(ref):
            raise self._fail(BadAllele, f"REF {raw_ref!r} has bases other than A,C,G,T,N", number, variant.CHROM, pos)
        alts = variant.ALT
        kinds = []
        for alt in alts:
            try:
                kinds.append(allele_kind(alt.upper()))
            except InvalidAllele as exc:
                raise self._fail(BadAllele, exc.message, number, variant.CHROM, pos) from None
        if not any(kind is not AlleleKind.SKIP for kind in kinds):
            summary.records_skipped_other += 1
            for alt in alts:
                self._skip(alt.upper())
            return
        if reference is not None:
            if fetch is None:
                raise self._fail(
                    ReferenceMismatch, f"the reference {reference.path} has no contig {chrom}",
                    number, variant.CHROM, pos,
                )
            expected = fetch(pos - 1, pos - 1 + len(ref)).upper()
            if not _matches(ref, expected):
                raise self._fail(
                    ReferenceMismatch, f"REF {ref} differs from the reference ({expected or 'beyond its end'})",
                    number, variant.CHROM, pos,
                )
        counts = self._counts(variant, line, number, pos, len(alts), counter)
        summary.records_kept += 1
        info = variant.INFO
        annotated = self._annotations(info, raw_ref, alts)
        for index, (alt, kind) in enumerate(zip(alts, kinds, strict=True)):
            if kind is AlleleKind.SKIP:
                self._skip(alt.upper())
                continue
            alt = alt.upper()
            if kind is AlleleKind.SYMBOLIC:
                end = info.get("END")
                svlen = info.get("SVLEN")
                if isinstance(svlen, tuple):
                    svlen = svlen[index] if index < len(svlen) else None
                vtype, length, row_end = classify(pos, ref, alt, end=end, svlen=svlen)
                key = (pos, ref, alt)
            else:
                npos, nref, nalt = left_align(pos, ref, alt, fetch) if fetch else trim(pos, ref, alt)
                vtype, length, row_end = classify(npos, nref, nalt)
                key = (npos, nref, nalt)
            if last_key is not None and key <= last_key:
                raise self._fail(
                    UnsortedRecords, f"normalised to {key[0]} {key[1]}>{key[2]}, before rows already written "
                    f"(more than {SORT_WINDOW} bases back); normalise the file with `bcftools norm -f` "
                    "and sort it first", number, variant.CHROM, pos,
                )
            ac, an, het, hom, hemi, groups = counts[index]
            annotations = annotated[index] if annotated else ()
            row = pending.get(key)
            if row is None:
                pending[key] = [row_end, vtype.value, length, ac, an, het, hom, hemi, groups, annotations]
            else:
                summary.rows_merged += 1
                row[0] = max(row[0], row_end)
                row[3] += ac
                row[4] += an
                row[5] += het
                row[6] += hom
                row[7] += hemi
                if groups is not None:
                    row[8] = groups if row[8] is None else row[8] + groups
                if annotations:
                    row[9] = merge((*row[9], *annotations))

    def _annotations(self, info: Any, ref: str, alts: Sequence[str]) -> list[tuple[Annotation, ...]] | None:
        """Each ALT's annotations from the record's CSQ / ANN values (None: the file has no annotation field)."""
        if not self.annotation_fields:
            return None
        per_alt: list[tuple[Annotation, ...]] = [() for _ in alts]
        for annotation_field in self.annotation_fields:
            value = info.get(annotation_field.id)
            if not isinstance(value, str) or not value:
                continue
            for i, found in enumerate(annotation_field.per_alt(value, ref, alts)):
                per_alt[i] = merge((*per_alt[i], *found)) if per_alt[i] else found
        return per_alt

    def _counts(
        self, variant: Any, line: bytes | None, number: int, pos: int, n_alt: int, counter: _Counter | None
    ) -> list[tuple[int, int, int, int, int, np.ndarray | None]]:
        if counter is not None:
            if not self.summary.samples:  # every sample left out: nobody is counted
                return counter.nobody(n_alt)
            if self._text is not None and line is not None:
                calls = self._text.calls(line)
            else:
                genotype = variant.genotype
                calls = None if genotype is None else genotype.array()[:, :-1]  # the last column: phase
            if calls is not None:
                top = int(calls.max())
                if top > n_alt:
                    raise self._fail(
                        GenotypeError, f"a genotype refers to allele {top} but the record "
                        f"has {n_alt} ALT allele(s)", number, variant.CHROM, pos,
                    )
                return counter.count(calls, n_alt)
        info = variant.INFO
        ac_info, an_info = info.get("AC"), info.get("AN")
        if ac_info is None or an_info is None:  # a sites-only record without counts: present, counts unknown
            return [PRESENT] * n_alt
        acs = ac_info if isinstance(ac_info, tuple) else (ac_info,)
        if len(acs) != n_alt:
            raise self._fail(
                GenotypeError, f"INFO AC has {len(acs)} value(s) for {n_alt} ALT allele(s) (AC is Number=A)",
                number, variant.CHROM, pos,
            )
        return [(int(ac), int(an_info), 0, 0, 0, None) for ac in acs]


def read_variants(
    path: str | os.PathLike[str],
    *,
    assembly: str,
    pass_only: bool = True,
    reference: str | os.PathLike[str] | None = None,
    sample_groups: Mapping[str, Sequence[str]] | None = None,
    region: str | None = None,
    records_before: int = 0,
    batch_size: int = 10_000,
    exclude_samples: Collection[str] = (),
) -> VariantReader:
    """Stream a VCF/BCF as batches of VariantRow; see VariantReader. Errors are IngestInputError.

    `sample_groups` maps a sample id to its group keys; `region` ("chr1" or "chr1:1-1000000")
    reads the records whose POS lies in it through the index (not those that start before it and
    overlap it: cutting a contig into regions gives each record to exactly one), and `records_before`
    (the file's records before that slice) makes errors number records as a reader of the whole file
    would; `reference` is an indexed FASTA that REF must match and indels are left-aligned against;
    `exclude_samples` are left out of every count (opted-out samples), as if the file did not hold them.
    """
    return VariantReader(
        path,
        assembly=assembly,
        pass_only=pass_only,
        reference=reference,
        sample_groups=sample_groups,
        region=region,
        records_before=records_before,
        batch_size=batch_size,
        exclude_samples=exclude_samples,
    )
