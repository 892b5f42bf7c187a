"""BGZF, index and region slicing without a server: what we write is read back by bcftools, the oracle."""

from __future__ import annotations

import gzip
import random
from pathlib import Path

import pytest

from access.release import bgzf
from access.release.index import read_index, region_bins
from access.release.slicing import VariantSource, body_blocks, header_block
from ingest.synthetic import SimulatedCohort, simulate_cohort
from tests.ingest._tools import bcftools


@pytest.fixture(scope="module")
def larger(tmp_path_factory: pytest.TempPathFactory) -> dict[str, SimulatedCohort]:
    """Enough records for many BGZF blocks and index bins, with SVs reaching across region starts."""
    folder = tmp_path_factory.mktemp("slicing")
    options = {"samples": 30, "variants_per_contig": 6000, "contigs": ("1", "2"), "seed": 3, "sv_rate": 0.05,
               "indel_rate": 0.2}
    return {"VCF": simulate_cohort(folder / "c.vcf.gz", fmt="vcf.gz", **options),
            "BCF": simulate_cohort(folder / "c.bcf", fmt="bcf", **options)}


def _slice(cohort: SimulatedCohort, fmt: str, contig: str, start: int, end: int, out: Path) -> Path:
    source = VariantSource(cohort.path, fmt, cohort.index_path)
    out.write_bytes(header_block(source) + b"".join(body_blocks(source, contig, start, end)) + bgzf.EOF_BLOCK)
    return out


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_random_regions_hold_exactly_the_records_bcftools_view_r_gives(
        larger: dict[str, SimulatedCohort], tmp_path: Path, fmt: str) -> None:
    rng = random.Random(17)
    cohort = larger[fmt]
    for round_ in range(25):
        contig = rng.choice(["chr1", "chr2"])
        start = rng.randrange(0, 300_000)
        end = start + rng.choice([1, 50, 2_000, 40_000, 400_000])
        out = _slice(cohort, fmt, contig, start, end, tmp_path / f"{round_}.{fmt.lower()}")
        expected = bcftools("view", "-H", "-r", f"{contig}:{start + 1}-{end}", cohort.path)
        assert bcftools("view", "-H", out) == expected, (contig, start, end)


def test_region_bins_follow_the_binning_scheme() -> None:
    assert region_bins(0, 1, 14, 5) == [0, 1, 9, 73, 585, 4681]
    assert region_bins(0, 1 << 40, 14, 5)[-1] == 4681 + (1 << 15) - 1  # clipped: never the pseudo-bin 37450
    assert region_bins(1 << 29, 1 << 30, 14, 5) == []


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_the_index_names_and_offsets_are_read(larger: dict[str, SimulatedCohort], fmt: str) -> None:
    cohort = larger[fmt]
    assert cohort.index_path is not None
    index = read_index(cohort.index_path)
    assert index.names == (("chr1", "chr2") if fmt == "VCF" else ())
    assert index.first_offset(0, 0, 1000) is not None and index.first_offset(5, 0, 1000) is None
    assert VariantSource(cohort.path, fmt, cohort.index_path).contigs()[:2] == ("chr1", "chr2")


def test_bgzf_blocks_are_gzip_and_round_trip(tmp_path: Path) -> None:
    data = bytes(random.Random(1).getrandbits(8) for _ in range(200_000))
    blocks = list(bgzf.encode([data[:70_000], data[70_000:]]))
    assert all(len(b) <= 65536 for b in blocks) and len(blocks) == 4
    assert gzip.decompress(b"".join(blocks) + bgzf.EOF_BLOCK) == data
    path = tmp_path / "x.gz"
    path.write_bytes(b"".join(blocks))
    second = len(blocks[0])
    with path.open("rb") as handle:
        assert b"".join(bgzf.read_from(handle, (second << 16) | 10)) == data[bgzf.MAX_INPUT + 10:]
    with pytest.raises(ValueError, match="at most"):
        bgzf.compress_block(b"x" * (bgzf.MAX_INPUT + 1))
    assert gzip.decompress(bgzf.EOF_BLOCK) == b""
