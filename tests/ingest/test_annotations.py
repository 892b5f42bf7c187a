"""VEP CSQ and SnpEff ANN annotations: read per ALT allele as bcftools sees them, stored with the variant (on
SQLite and PostgreSQL), replaced with its file."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import Session, select

from catalogue.annotations import effect_term, protein_change
from catalogue.identity import Caller
from catalogue.models import VariantAnnotation
from catalogue.runtime import Runtime
from ingest.annotations import annotation_fields
from ingest.reader import read_variants
from ingest.services import run_job, start_ingestion
from tests.factories import make_dataset, make_organisation
from tests.ingest._annotated import ANN, CSQ, write_annotated
from tests.ingest._tools import bcftools

# VEP writes an ALT without the base every allele shares ("-" when nothing is left).
_VEP_ALLELES = {"-": "A", "CC": "ACC"}


def _trim(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _read(path: Path) -> set[tuple[int, str, str, str, str, str]]:
    """(pos, ref, alt, gene, protein, effects) of every annotation the reader keeps."""
    return {(r.pos, r.ref, r.alt, a.gene, a.protein, "&".join(a.effects))
            for batch in read_variants(path, assembly="GRCh38") for r in batch for a in r.annotations}


def test_vep_csq_is_read_per_allele_as_split_vep_reads_it(tmp_path: Path) -> None:
    path = write_annotated(tmp_path, "vep.vcf", CSQ)
    oracle = set()
    for line in bcftools("+split-vep", "-d", "-f", "%POS\t%REF\t%ALT\t%Allele\t%SYMBOL\t%HGVSp\t%Consequence\n",
                         path).splitlines():
        pos, ref, alts, allele, symbol, hgvsp, consequence = line.split("\t")
        alt = alts if "," not in alts else _VEP_ALLELES[allele]
        if symbol != ".":
            key = _trim(int(pos), ref, alt)
            oracle.add((*key, symbol, protein_change(hgvsp) or ""))
    # Transcripts agreeing on the change are one annotation (the first one's HGVS.p kept).
    kept = {(r.pos, r.ref, r.alt, a.gene, a.change)
            for batch in read_variants(path, assembly="GRCh38") for r in batch for a in r.annotations if a.gene}
    assert kept == oracle
    read = _read(path)
    assert (140753400, "A", "AC", "BRAF", "ENSP00000288602.6:p.Gly580Ter",
            "frameshift_variant&splice_region_variant") in read  # the insertion, not the deletion
    assert (140753400, "AC", "A", "BRAF", "ENSP00000288602.6:p.Val579TrpfsTer5", "frameshift_variant") in read
    # Two transcripts with the same change are one annotation; the intergenic variant has effects only.
    rows = {(r.pos, r.alt): r.annotations for batch in read_variants(path, assembly="GRCh38") for r in batch}
    assert [(a.gene, a.change) for a in rows[(140753336, "T")]] == [("AC006344.1", ""), ("BRAF", "V600E")]
    assert [(a.gene, a.effects) for a in rows[(7600000, "A")]] == [("", ("intergenic_variant",))]
    assert rows[(140753350, "C")] == ()


def test_snpeff_ann_is_read_per_allele_as_bcftools_lists_it(tmp_path: Path) -> None:
    path = write_annotated(tmp_path, "snpeff.vcf", ANN)
    oracle = set()
    for line in bcftools("query", "-f", "%POS\t%REF\t%ALT\t%INFO/ANN\n", path).splitlines():
        pos, ref, alts, ann = line.split("\t")
        for entry in ann.split(","):
            cells = entry.split("|")
            oracle.add((*_trim(int(pos), ref, cells[0]), cells[3], cells[10], cells[1]))
    assert _read(path) == oracle
    changes = {(r.pos, r.alt): [a.change for a in r.annotations]
               for batch in read_variants(path, assembly="GRCh38") for r in batch}
    assert changes == {(7675088, "T"): ["R175H", ""], (7676154, "C"): ["P72R"], (7676154, "A"): ["P72P"]}


def test_annotation_columns_come_from_the_header_description() -> None:
    [vep] = annotation_fields([("CSQ", 'Consequence annotations from Ensembl VEP. Format: Allele|Consequence|IMPACT|'
                                       'SYMBOL|Gene|HGVSp|ALLELE_NUM"')])
    assert (vep.allele, vep.effect, vep.gene, vep.gene_id, vep.protein, vep.allele_num) == (0, 1, 3, 4, 5, 6)
    assert annotation_fields([("CSQ", "Consequence annotations, no format given"), ("DP", "Format: A|B")]) == []


def test_protein_changes_and_effects_have_one_normal_form() -> None:
    assert {protein_change(p) for p in ("ENSP00000288602.6:p.Val600Glu", "p.(Val600Glu)", "V600E", "p.V600E")} == {
        "V600E"}
    assert protein_change("p.Arg97Ter") == protein_change("R97*") == "R97*"
    assert protein_change("p.Gly12fs") == "G12FS"
    assert protein_change("hello") is None
    assert effect_term("missense_variant") == ("SO:0001583", "missense variant")
    assert effect_term("not_a_term") is None


def test_annotations_are_stored_with_their_variants_and_replaced_with_their_file(
        runtime: Runtime, session: Session, tmp_path: Path) -> None:
    dataset = make_dataset(session, organisation_id=make_organisation(session).id, publish=True)
    path = write_annotated(tmp_path, "vep.vcf", CSQ)

    def ingest(source: Path) -> None:
        with Session(runtime.engine, expire_on_commit=False) as s:
            job = start_ingestion(s, Caller.cli_operator(), dataset.id, files=[source])
        assert run_job(runtime.engine, job.id, store_root=runtime.settings.store_root).state == "succeeded"

    def stored() -> set[tuple[int, str, str, str, str]]:
        with Session(runtime.engine) as s:
            return {(a.pos, a.alt, a.gene_key, a.change, a.effects) for a in s.exec(
                select(VariantAnnotation).where(VariantAnnotation.dataset_id == dataset.id))}

    ingest(path)
    assert stored() == {
        (140753336, "T", "BRAF", "V600E", "missense_variant"),
        (140753336, "T", "AC006344.1", "", "downstream_gene_variant"),
        (140753400, "A", "BRAF", "V579WFS*5", "frameshift_variant"),
        (140753400, "AC", "BRAF", "G580*", "frameshift_variant&splice_region_variant"),
        (7600000, "A", "", "", "intergenic_variant"),
    }
    renamed = write_annotated(tmp_path / "v2", "vep.vcf", CSQ.replace("p.Val600Glu", "p.Val600Lys"))
    ingest(renamed)  # the same file name, changed: its variants and annotations are replaced
    assert (140753336, "T", "BRAF", "V600K", "missense_variant") in stored()
    assert not any(change == "V600E" for _, _, _, change, _ in stored())
