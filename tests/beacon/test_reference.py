"""With the operator's reference FASTA, a right-shifted indel in a repeat finds the stored (left-aligned) one."""

from __future__ import annotations

from pathlib import Path

import pysam
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from catalogue.identity import Caller
from catalogue.models import Variant
from catalogue.runtime import Runtime
from catalogue.settings import SettingsError, load_settings
from genomegate.app import create_app
from ingest.services import run_job, start_ingestion
from ingest.synthetic import simulate_cohort, write_reference_fasta
from tests.factories import client_with, make_dataset, make_organisation


def _right_shifted(fasta: pysam.FastaFile, v: Variant) -> tuple[int, str, str] | None:
    """The same deletion written one base to the right, when the repeat allows it (VCF, 1-based)."""
    deleted = v.ref[1:]
    after = fasta.fetch("chr1", v.pos + len(deleted), v.pos + len(deleted) + 1).upper()
    if after != deleted[0]:
        return None
    return v.pos + 1, fasta.fetch("chr1", v.pos, v.pos + len(deleted) + 1).upper(), deleted[0]


def test_left_alignment_of_query_indels_uses_the_configured_reference(
        runtime: Runtime, session: Session, tmp_path: Path) -> None:
    reference = write_reference_fasta(tmp_path / "ref.fa", ["chr1"], 60_000, seed=3)
    cohort = simulate_cohort(tmp_path / "c.vcf.gz", samples=20, variants_per_contig=800, seed=3,
                             indel_rate=0.4, reference=reference)
    dataset = make_dataset(session, organisation_id=make_organisation(session).id, publish=True,
                           privacy_p=0.0)  # about left-alignment, not the privacy budget
    job = start_ingestion(session, Caller.cli_operator(), dataset.id, files=[cohort.path], reference=reference)
    assert run_job(runtime.engine, job.id, store_root=runtime.settings.store_root).state == "succeeded"
    fasta = pysam.FastaFile(str(reference))
    deletions = session.exec(select(Variant).where(Variant.variant_type == "DEL", Variant.ac > 0)).all()
    shifted = [(v, s) for v in deletions if len(v.alt) == 1 and len(v.ref) > 1 and (s := _right_shifted(fasta, v))]
    assert shifted, "the simulated cohort should hold a deletion inside a repeat"
    stored, (pos, ref, alt) = shifted[0]
    query = {"referenceName": "1", "start": pos - 1, "referenceBases": ref, "alternateBases": alt}

    plain = TestClient(create_app(runtime=runtime)).get("/beacon/v2/g_variants", params=query).json()
    assert plain["responseSummary"]["exists"] is False  # trimming alone cannot move it
    aligned = client_with(runtime, reference_fasta={"GRCh38": reference}).get(
        "/beacon/v2/g_variants", params=query).json()
    assert aligned["responseSummary"]["exists"] is True
    assert (aligned["info"]["query"]["GRCh38"]["vcfPos"], aligned["info"]["query"]["GRCh38"]["ref"]) == (
        stored.pos, stored.ref)


def test_a_reference_setting_must_name_an_indexed_fasta(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GENOMEGATE_REFERENCE_FASTA", f'{{"GRCh38": "{tmp_path / "missing.fa"}"}}')
    with pytest.raises(SettingsError, match="GENOMEGATE_REFERENCE_FASTA: .*is not an indexed FASTA"):
        load_settings()
