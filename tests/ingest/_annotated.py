"""Annotated sites-only VCFs in VEP's (CSQ) and SnpEff's (ANN) formats, written as those tools write them, and
bgzipped with bgzip: BRAF V600E and two frameshifts in one multi-allelic record (VEP), TP53 R175H (SnpEff)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.ingest._tools import require

__all__ = ["ANN", "CSQ", "write_annotated"]

_HEADER = ("##fileformat=VCFv4.2\n##contig=<ID=chr7,length=159345973>\n##contig=<ID=chr17,length=83257441>\n"
           '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">\n'
           '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">\n')
_COLUMNS = "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"

CSQ = (_HEADER + '##VEP="v110" time="2024-01-01 00:00:00" cache="homo_sapiens/110_GRCh38"\n'
       '##INFO=<ID=CSQ,Number=.,Type=String,Description="Consequence annotations from Ensembl VEP. Format: '
       'Allele|Consequence|IMPACT|SYMBOL|Gene|Feature_type|Feature|BIOTYPE|EXON|INTRON|HGVSc|HGVSp">\n' + _COLUMNS
       + "chr7\t140753336\t.\tA\tT\t.\tPASS\tAC=3;AN=100;CSQ="
       "T|missense_variant|MODERATE|BRAF|ENSG00000157764|Transcript|ENST00000646891|protein_coding|15/18||"
       "ENST00000646891.2:c.1799T>A|ENSP00000493543.1:p.Val600Glu,"
       "T|missense_variant|MODERATE|BRAF|ENSG00000157764|Transcript|ENST00000288602|protein_coding|15/18||"
       "ENST00000288602.11:c.1799T>A|ENSP00000288602.6:p.Val600Glu,"
       "T|downstream_gene_variant|MODIFIER|AC006344.1|ENSG00000229158|Transcript|ENST00000412370|lncRNA||||\n"
       "chr7\t140753350\t.\tG\tC\t.\tPASS\tAC=2;AN=100\n"
       "chr7\t140753400\t.\tAC\tA,ACC\t.\tPASS\tAC=1,2;AN=100;CSQ="
       "-|frameshift_variant|HIGH|BRAF|ENSG00000157764|Transcript|ENST00000288602|protein_coding|15/18||"
       "ENST00000288602.11:c.1735del|ENSP00000288602.6:p.Val579TrpfsTer5,"
       "CC|frameshift_variant&splice_region_variant|HIGH|BRAF|ENSG00000157764|Transcript|ENST00000288602|"
       "protein_coding|15/18||ENST00000288602.11:c.1734_1735dup|ENSP00000288602.6:p.Gly580Ter\n"
       "chr17\t7600000\t.\tG\tA\t.\tPASS\tAC=5;AN=100;CSQ=A|intergenic_variant|MODIFIER|||||||||\n")

ANN = (_HEADER + '##SnpEffVersion="5.1d (build 2022-04-19 15:49), by Pablo Cingolani"\n'
       '##INFO=<ID=ANN,Number=.,Type=String,Description="Functional annotations: \'Allele | Annotation | '
       "Annotation_Impact | Gene_Name | Gene_ID | Feature_Type | Feature_ID | Transcript_BioType | Rank | HGVS.c | "
       "HGVS.p | cDNA.pos / cDNA.length | CDS.pos / CDS.length | AA.pos / AA.length | Distance | "
       "ERRORS / WARNINGS / INFO' \">\n" + _COLUMNS
       + "chr17\t7675088\t.\tC\tT\t.\tPASS\tAC=4;AN=100;ANN="
       "T|missense_variant|MODERATE|TP53|ENSG00000141510|transcript|ENST00000269305.9|protein_coding|5/11|"
       "c.524G>A|p.Arg175His|714/2512|524/1182|175/393||,"
       "T|upstream_gene_variant|MODIFIER|WRAP53|ENSG00000141499|transcript|ENST00000357449.8|protein_coding||"
       "c.-2388C>T|||||2388|\n"
       "chr17\t7676154\t.\tG\tC,A\t.\tPASS\tAC=1,1;AN=100;ANN="
       "C|missense_variant|MODERATE|TP53|ENSG00000141510|transcript|ENST00000269305.9|protein_coding|4/11|"
       "c.215C>G|p.Pro72Arg|405/2512|215/1182|72/393||,"
       "A|synonymous_variant|LOW|TP53|ENSG00000141510|transcript|ENST00000269305.9|protein_coding|4/11|"
       "c.215C>T|p.Pro72Pro|405/2512|215/1182|72/393||\n")


def write_annotated(folder: Path, name: str, text: str) -> Path:
    """The VCF text bgzipped by bgzip, as `<name>.gz`."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text)
    subprocess.run([require("bgzip"), "-f", str(path)], check=True)
    return Path(f"{path}.gz")
