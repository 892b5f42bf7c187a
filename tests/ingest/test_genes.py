"""Gene annotations: GFF3 and BED read into exact one-based extents; malformed lines named."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.errors import MalformedFile
from ingest.genes import read_genes

GFF = """##gff-version 3
chr1\tensembl\tgene\t1001\t5000\t.\t+\t.\tID=gene:ENSG01;Name=HEART1;gene_id=ENSG01
chr1\tensembl\tmRNA\t1001\t5000\t.\t+\t.\tID=tx1;Parent=gene:ENSG01
chrUn_KI270302v1\tensembl\tgene\t1\t100\t.\t+\t.\tID=gene:X;Name=DECOY
2\tensembl\tgene\t20001\t20100\t.\t-\t.\tID=gene:ENSG02;Name=LUNG%2C2
"""
BED = "track name=genes\nchr1\t1000\t5000\tHEART1\nchrX\t0\t10\tXGENE\n"


def test_gff3_and_bed_give_the_same_one_based_extents(tmp_path: Path) -> None:
    (tmp_path / "genes.gff3").write_text(GFF)
    (tmp_path / "genes.bed").write_text(BED)
    gff = [(g.symbol, g.chrom, g.start, g.end, g.gene_id) for g in read_genes(tmp_path / "genes.gff3", "GRCh38")]
    assert gff == [("HEART1", "1", 1001, 5000, "ENSG01"), ("LUNG,2", "2", 20001, 20100, "ENSG02")]
    bed = [(g.symbol, g.chrom, g.start, g.end) for g in read_genes(tmp_path / "genes.bed", "GRCh38")]
    assert bed == [("HEART1", "1", 1001, 5000), ("XGENE", "X", 1, 10)]


@pytest.mark.parametrize(("name", "text", "line"), [
    ("bad.gff3", "chr1\tx\tgene\tone\t5\t.\t+\t.\tName=A\n", 1),
    ("bad.bed", "chr1\t100\n", 1),
    ("bad.bed", "chr1\t0\t10\tA\nchr1\t50\t10\tB\n", 2),
])
def test_malformed_lines_are_named(tmp_path: Path, name: str, text: str, line: int) -> None:
    (tmp_path / name).write_text(text)
    with pytest.raises(MalformedFile, match=rf"{name}: line {line}: not a valid"):
        list(read_genes(tmp_path / name, "GRCh38"))
