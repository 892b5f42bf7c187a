"""Ingestion end to end on SQLite and PostgreSQL: exact, idempotent, all-or-nothing, and refused when it should be."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, func, select

from catalogue.identity import Caller
from catalogue.models import Dataset, DatasetFile, Role, Sample, Variant
from catalogue.runtime import Runtime
from ingest.errors import BadAllele, MalformedFile, SampleMismatch, WrongAssembly
from ingest.models import IngestionJob, JobState, StagedVariant
from ingest.reader import read_variants
from ingest.services import run_job, start_ingestion
from ingest.synthetic import SimulatedCohort, simulate_cohort, write_sample_sheet
from tests.factories import grant, make_dataset, make_organisation
from tests.ingest._tools import bcftools
from tests.workers import run_queued

OPERATOR = Caller.cli_operator()


@pytest.fixture
def dataset(session: Session) -> Dataset:
    org = make_organisation(session)
    return make_dataset(session, organisation_id=org.id, publish=True)


def _cohort(tmp_path: Path, name: str = "cohort.vcf.gz", **overrides: Any) -> SimulatedCohort:
    options: dict[str, Any] = {"samples": 40, "variants_per_contig": 400, "contigs": ("1", "2"), "seed": 7,
                               "include_x": True, **overrides}
    tmp_path.mkdir(parents=True, exist_ok=True)
    return simulate_cohort(tmp_path / name, **options)


def _ingest(runtime: Runtime, dataset_id: str, *files: Path, chunk_records: int = 250_000, **options: Any) -> Any:
    with Session(runtime.engine, expire_on_commit=False) as session:
        job = start_ingestion(session, OPERATOR, dataset_id, files=list(files), **options)
    return run_job(runtime.engine, job.id, store_root=runtime.settings.store_root, chunk_records=chunk_records)


def _snapshot(engine: Engine, dataset_id: str) -> dict[str, Any]:
    """Everything an ingestion may change, to compare before and after."""
    with Session(engine) as s:
        return {
            "variants": sorted(tuple(v.model_dump().values()) for v in s.exec(
                select(Variant).where(Variant.dataset_id == dataset_id))),
            "files": sorted((f.id, f.sha256) for f in s.exec(select(DatasetFile))),
            "samples": sorted(x.sample_id for x in s.exec(select(Sample))),
            "statistics": s.get(Dataset, dataset_id).statistics,  # type: ignore[union-attr]
        }


def _index(engine: Engine, dataset_id: str) -> dict[tuple[str, int, str, str], Variant]:
    with Session(engine) as s:
        return {(v.chrom, v.pos, v.ref, v.alt): v
                for v in s.exec(select(Variant).where(Variant.dataset_id == dataset_id))}


def test_the_index_holds_exactly_what_the_reader_computes_and_bcftools_agrees(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    cohort = _cohort(tmp_path)
    job = _ingest(runtime, dataset.id, cohort.path)
    assert job.state == JobState.succeeded
    stored = _index(runtime.engine, dataset.id)
    expected = {(r.chrom, r.pos, r.ref, r.alt): r for batch in read_variants(cohort.path, assembly="GRCh38")
                for r in batch}
    assert stored.keys() == expected.keys()
    for key, row in expected.items():
        v = stored[key]
        assert (v.ac, v.an, v.het, v.hom_alt, v.hemi_alt, v.variant_type, v.end) == (
            row.ac, row.an, row.het, row.hom_alt, row.hemi_alt, row.variant_type, row.end), key
    # Independent oracle: split with bcftools and recount AC/AN from the genotypes for every SNV.
    split = tmp_path / "split.vcf.gz"
    bcftools("norm", "-m", "-any", "-O", "z", "-o", split, cohort.path)
    oracle = _query_pass(tmp_path, bcftools("+fill-tags", split, "--", "-t", "AC,AN"))
    checked = 0
    for chrom, pos, ref, alt, ac, an in oracle:
        if len(ref) == len(alt) == 1 and alt != "*" and not alt.startswith("<"):
            v = stored[(chrom.removeprefix("chr"), int(pos), ref, alt)]
            assert (v.ac, v.an) == (int(ac), int(an)), (chrom, pos, ref, alt)
            checked += 1
    assert checked > 500
    with Session(runtime.engine) as s:
        stats = s.get(Dataset, dataset.id).statistics  # type: ignore[union-attr]
    assert stats["variants"] == len(expected)
    assert stats["samples"] == 40
    assert set(stats["per_chromosome"]) == {"1", "2", "X"}
    assert sum(stats["per_type"].values()) == len(expected)


def _query_pass(tmp_path: Path, vcf_text: str) -> list[list[str]]:
    path = tmp_path / "filled.vcf"
    path.write_text(vcf_text)
    out = bcftools("query", "-i", 'FILTER="PASS" || FILTER="."', "-f",
                   "%CHROM\t%POS\t%REF\t%ALT\t%AC\t%AN\n", path)
    return [line.split("\t") for line in out.splitlines()]


def test_the_same_file_twice_changes_nothing_and_a_changed_file_replaces_its_variants(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    first = _cohort(tmp_path)
    _ingest(runtime, dataset.id, first.path)
    before = _snapshot(runtime.engine, dataset.id)
    again = _ingest(runtime, dataset.id, first.path)
    assert again.counts["files_unchanged"] == 1
    assert "unchanged" in again.warnings[0]
    assert _snapshot(runtime.engine, dataset.id) == before

    changed = _cohort(tmp_path / "v2", seed=8)
    replaced = _ingest(runtime, dataset.id, changed.path)
    after = _snapshot(runtime.engine, dataset.id)
    assert replaced.counts["files_ingested"] == 1
    assert [f for f, _ in after["files"]] == [f for f, _ in before["files"]]  # same accession, new content
    assert after["files"] != before["files"]
    fresh = {(r.chrom, r.pos, r.ref, r.alt) for b in read_variants(changed.path, assembly="GRCh38") for r in b}
    assert set(_index(runtime.engine, dataset.id)) == fresh


def test_a_failure_in_the_last_file_leaves_the_catalogue_exactly_as_it_was(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    good = _cohort(tmp_path, contigs=("1",), include_x=False)
    _ingest(runtime, dataset.id, good.path)
    before = _snapshot(runtime.engine, dataset.id)
    other = _cohort(tmp_path / "b", contigs=("2",), include_x=False, seed=3)
    truncated = tmp_path / "truncated.vcf.gz"
    data = other.path.read_bytes()
    truncated.write_bytes(data[: len(data) * 2 // 3])
    with pytest.raises(MalformedFile, match=r"truncated\.vcf\.gz"):
        _ingest(runtime, dataset.id, other.path, truncated)
    assert _snapshot(runtime.engine, dataset.id) == before
    with Session(runtime.engine) as s:
        failed = s.exec(select(DatasetFile)).all()
        assert len(failed) == 1


@pytest.mark.parametrize(("make_bad", "error", "message"), [
    (lambda c, p: _other_assembly(p), WrongAssembly, r"is the file GRCh37\?"),
    (lambda c, p: _truncated_gzip(c, p), MalformedFile, r"plain\.vcf\.gz: is not complete gzip data"),
])
def test_bad_input_fails_with_the_file_and_reason_and_changes_nothing(
        runtime: Runtime, dataset: Dataset, tmp_path: Path,
        make_bad: Callable[[SimulatedCohort, Path], Path], error: type[Exception], message: str) -> None:
    before = _snapshot(runtime.engine, dataset.id)
    bad = make_bad(_cohort(tmp_path), tmp_path)
    with pytest.raises(error, match=message):
        _ingest(runtime, dataset.id, bad)
    assert _snapshot(runtime.engine, dataset.id) == before
    with Session(runtime.engine) as s:
        from ingest.models import IngestionJob

        job = s.exec(select(IngestionJob)).one()
    assert job.state == JobState.failed
    assert job.error and bad.name in job.error


def _other_assembly(tmp_path: Path) -> Path:
    return simulate_cohort(tmp_path / "grch37.vcf.gz", samples=5, variants_per_contig=20, assembly="GRCh37",
                           seed=1).path


def _truncated_gzip(cohort: SimulatedCohort, tmp_path: Path) -> Path:
    path = tmp_path / "plain.vcf.gz"
    with gzip.open(cohort.path) as src:
        data = gzip.compress(src.read())
    path.write_bytes(data[: len(data) // 2])
    return path


def test_files_with_different_samples_are_refused(runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    a = _cohort(tmp_path / "a", contigs=("1",), include_x=False)
    b = _cohort(tmp_path / "b", contigs=("2",), include_x=False, samples=41)
    with pytest.raises(SampleMismatch, match="samples differ"):
        _ingest(runtime, dataset.id, a.path, b.path)


@pytest.mark.parametrize("fmt", ["vcf", "bcf"])
def test_plain_vcf_and_bcf_are_stored_bgzipped_and_indexed(runtime: Runtime, dataset: Dataset, tmp_path: Path,
                                                           fmt: str) -> None:
    cohort = _cohort(tmp_path, name=f"cohort.{fmt}", fmt=fmt)
    for index in tmp_path.glob("cohort.*.*i"):
        index.unlink()  # no index given: the store makes one
    _ingest(runtime, dataset.id, cohort.path)
    with Session(runtime.engine) as s:
        [file] = s.exec(select(DatasetFile)).all()
    stored = Path(file.uri)
    assert stored.read_bytes()[:4] == b"\x1f\x8b\x08\x04"
    assert file.index_uri and Path(file.index_uri).exists()
    assert file.format == ("bcf" if fmt == "bcf" else "vcf")
    records = int(bcftools("index", "--nrecords", stored).strip())
    assert records == cohort.records


def test_two_jobs_give_the_same_index_as_one(runtime: Runtime, session: Session, tmp_path: Path) -> None:
    org = make_organisation(session, suffix="P")
    one = make_dataset(session, organisation_id=org.id, title="one")
    two = make_dataset(session, organisation_id=org.id, title="two")
    cohort = _cohort(tmp_path, contigs=("1", "2", "3"))
    _ingest(runtime, one.id, cohort.path, jobs=1)
    _ingest(runtime, two.id, cohort.path, jobs=2)
    serial, parallel = _index(runtime.engine, one.id), _index(runtime.engine, two.id)
    assert serial.keys() == parallel.keys()
    assert all(serial[k].ac == parallel[k].ac and serial[k].an == parallel[k].an for k in serial)


def test_two_jobs_in_many_chunks_write_exactly_what_one_job_writes(
        runtime: Runtime, session: Session, tmp_path: Path) -> None:
    org = make_organisation(session, suffix="P")
    one = make_dataset(session, organisation_id=org.id, title="one")
    two = make_dataset(session, organisation_id=org.id, title="two")
    cohort = _cohort(tmp_path, contigs=("1", "2", "3"), variants_per_contig=3_000)  # and X
    serial = _ingest(runtime, one.id, cohort.path, jobs=1)
    ticks: list[tuple[int, int | None]] = []
    with Session(runtime.engine, expire_on_commit=False) as s:
        job = start_ingestion(s, OPERATOR, two.id, files=[cohort.path], jobs=2)
    parallel = run_job(runtime.engine, job.id, store_root=runtime.settings.store_root, chunk_records=400,
                       progress=lambda done, total: ticks.append((done, total)))

    def rows(dataset_id: str) -> list[tuple[Any, ...]]:
        return sorted(tuple(v.model_dump(exclude={"dataset_id", "file_id"}).values())
                      for v in _index(runtime.engine, dataset_id).values())

    assert rows(two.id) == rows(one.id)
    assert {k: v for k, v in parallel.counts.items() if k != "chunks"} == {
        k: v for k, v in serial.counts.items() if k != "chunks"}
    assert parallel.counts["chunks"] > 2 * len(cohort.contigs) and serial.counts["chunks"] == len(cohort.contigs)
    with Session(runtime.engine) as s:
        assert s.get(Dataset, two.id).statistics == s.get(Dataset, one.id).statistics  # type: ignore[union-attr]
    assert len(ticks) == parallel.counts["chunks"]  # a tick per chunk
    assert [done for done, _ in ticks] == sorted(done for done, _ in ticks)
    assert ticks[-1] == (cohort.records, cohort.records)


def _bad_allele_in_the_second_contig(cohort: SimulatedCohort, tmp_path: Path) -> tuple[Path, int, str]:
    """The cohort with an ALT of 'Q' halfway through its second contig: the file, the record's number, its locus."""
    with gzip.open(cohort.path, "rt") as src:
        lines = src.read().splitlines(keepends=True)
    header = [line for line in lines if line.startswith("#")]
    body = [line.split("\t") for line in lines if not line.startswith("#")]
    second = [i for i, fields in enumerate(body) if fields[0] == cohort.contigs[1]]
    at = next(i for i in second[len(second) // 2:] if "," not in body[i][4])
    body[at][4], body[at][6] = "Q", "PASS"
    path = tmp_path / "bad.vcf"
    path.write_text("".join(header + ["\t".join(fields) for fields in body]))
    return path, at + 1, f"{body[at][0]}:{body[at][1]}"


def test_a_bad_record_in_the_second_contig_fails_alike_with_one_or_two_jobs_and_changes_nothing(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    good = _cohort(tmp_path / "good", contigs=("4",), include_x=False)
    _ingest(runtime, dataset.id, good.path)
    before = _snapshot(runtime.engine, dataset.id)
    bad, record, locus = _bad_allele_in_the_second_contig(_cohort(tmp_path, contigs=("1", "2", "3")), tmp_path)
    messages = []
    for jobs, chunk_records in ((1, 250_000), (2, 250_000), (2, 60)):  # whole contigs; contigs cut in many
        with pytest.raises(BadAllele, match=rf"^bad\.vcf(\.gz)?: record {record} \({locus}\): ALT 'Q'") as raised:
            _ingest(runtime, dataset.id, bad, jobs=jobs, chunk_records=chunk_records)
        messages.append(raised.value.message)
        assert _snapshot(runtime.engine, dataset.id) == before
    assert messages[0] == messages[1] == messages[2]
    with Session(runtime.engine) as s:
        failed = s.exec(select(IngestionJob).where(IngestionJob.state == JobState.failed.value)).all()
        assert s.exec(select(func.count()).select_from(StagedVariant)).one() == 0
    assert sorted(job.error or "" for job in failed) == sorted(messages)


def test_a_sample_sheet_fills_metadata_and_group_counts_and_mismatches_are_reported(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    cohort = _cohort(tmp_path)
    sheet = write_sample_sheet(tmp_path / "samples.tsv", cohort)
    lines = sheet.read_text().splitlines()
    sheet.write_text("\n".join([*lines[:-1], "NOT_IN_VCF\tfemale\tEUR\t\t"]) + "\n")
    job = _ingest(runtime, dataset.id, cohort.path, samples=sheet)
    assert any("have no row" in w and cohort.samples[-1] in w for w in job.warnings)
    assert any("NOT_IN_VCF" in w for w in job.warnings)
    with Session(runtime.engine) as s:
        samples = {x.sample_id: x for x in s.exec(select(Sample))}
        variant = s.exec(select(Variant).where(Variant.an > 0).limit(1)).one()
    assert len(samples) == 40
    assert samples[cohort.samples[0]].sex == cohort.sexes[0]
    assert variant.groups
    by_sex = sum(c[1] for k, c in variant.groups.items() if k.startswith("sex:"))
    assert by_sex <= variant.an


def test_a_killed_ingest_leaves_nothing_and_can_simply_be_run_again(
        runtime: Runtime, dataset: Dataset, tmp_path: Path) -> None:
    cohort = simulate_cohort(tmp_path / "big.vcf.gz", samples=300, variants_per_contig=15_000, seed=2)
    before = _snapshot(runtime.engine, dataset.id)
    env = {**os.environ, "GENOMEGATE_DATA_DIR": str(runtime.settings.data_dir),
           "GENOMEGATE_DATABASE_URL": runtime.settings.database_url}
    process = subprocess.Popen([sys.executable, "-m", "genomegate", "ingest", str(cohort.path), "--dataset",
                                dataset.id], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not _writing(runtime.engine):
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    assert _snapshot(runtime.engine, dataset.id) == before
    job = _ingest(runtime, dataset.id, cohort.path)
    assert job.state == JobState.succeeded
    assert job.counts["variants_written"] > 0


def _writing(engine: Engine) -> bool:
    from ingest.models import IngestionJob

    with Session(engine) as s:
        return s.exec(select(func.count()).select_from(IngestionJob)
                      .where(IngestionJob.state == JobState.running.value)).one() > 0


# --- over HTTP -----------------------------------------------------------------------------------------

@pytest.fixture
def import_dir(runtime: Runtime) -> Path:
    root = runtime.settings.import_root
    root.mkdir(parents=True, exist_ok=True)
    return root


def test_a_steward_ingests_through_the_api_and_follows_the_job(
        client: TestClient, runtime: Runtime, session: Session, dataset: Dataset, import_dir: Path,
        auth: Callable[[str], dict[str, str]]) -> None:
    grant(session, "steward@example.org", Role.steward, org=dataset.organisation_id)
    cohort = _cohort(import_dir / "batch1")
    steward = auth("steward@example.org")
    response = client.post(f"/api/datasets/{dataset.id}/ingestions",
                           json={"files": ["batch1/cohort.vcf.gz"]}, headers=steward)
    assert response.status_code == 202, response.text
    assert client.get(f"/api/ingestions/{response.json()['id']}", headers=steward).json()["state"] == "queued"
    assert run_queued(runtime.engine, runtime.settings) >= 3  # plan, its chunk(s), publish: what a worker runs
    job = client.get(f"/api/ingestions/{response.json()['id']}", headers=steward).json()
    assert job["state"] == "succeeded", job
    assert job["counts"]["records_read"] == cohort.records
    assert job["provenance"]["files"][0]["sha256"]
    assert job["provenance"]["software"]["htslib"]
    shown = client.get(f"/api/datasets/{dataset.id}").json()
    assert shown["statistics"]["variants"] == job["counts"]["dataset_variants"]
    assert [f["name"] for f in shown["files"]] == ["cohort.vcf.gz"]
    assert "uri" not in shown["files"][0]  # storage paths are not public


@pytest.mark.parametrize(("path", "status", "reason"), [
    ("../outside.vcf.gz", 422, "inside the import directory"),
    ("/etc/hostname", 422, "inside the import directory"),
    ("missing.vcf.gz", 404, "no such file"),
])
def test_paths_outside_the_import_directory_are_refused(
        client: TestClient, session: Session, dataset: Dataset, import_dir: Path,
        auth: Callable[[str], dict[str, str]], path: str, status: int, reason: str) -> None:
    (import_dir.parent / "outside.vcf.gz").write_bytes(b"x")
    response = client.post(f"/api/datasets/{dataset.id}/ingestions", json={"files": [path]},
                           headers=_admin(session, auth))
    assert response.status_code == status
    assert reason in response.json()["detail"]


def _admin(session: Session, auth: Callable[[str], dict[str, str]]) -> dict[str, str]:
    grant(session, "admin@example.org", Role.admin)
    return auth("admin@example.org")


def test_a_symlink_out_of_the_import_directory_is_refused(
        client: TestClient, session: Session, dataset: Dataset, import_dir: Path,
        auth: Callable[[str], dict[str, str]], tmp_path: Path) -> None:
    secret = tmp_path / "secret.vcf"
    secret.write_text("##fileformat=VCFv4.2\n")
    (import_dir / "link.vcf").symlink_to(secret)
    response = client.post(f"/api/datasets/{dataset.id}/ingestions", json={"files": ["link.vcf"]},
                           headers=_admin(session, auth))
    assert response.status_code == 422


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("researcher@example.org", 403),
                                             ("other-steward@example.org", 403)])
def test_only_stewards_of_the_dataset_may_ingest_or_see_jobs(
        client: TestClient, session: Session, dataset: Dataset, import_dir: Path,
        auth: Callable[[str], dict[str, str]], who: str | None, status: int) -> None:
    other = make_organisation(session, suffix="Z")
    grant(session, "other-steward@example.org", Role.steward, org=other.id)
    _cohort(import_dir)
    headers = auth(who) if who else {}
    response = client.post(f"/api/datasets/{dataset.id}/ingestions", json={"files": ["cohort.vcf.gz"]},
                           headers=headers)
    assert response.status_code == status
    job = _ingest_as_admin(client, session, dataset, auth)
    assert client.get(f"/api/ingestions/{job}", headers=headers).status_code == status
    assert client.get(f"/api/datasets/{dataset.id}/ingestions", headers=headers).status_code == status


def _ingest_as_admin(client: TestClient, session: Session, dataset: Dataset,
                     auth: Callable[[str], dict[str, str]]) -> str:
    response = client.post(f"/api/datasets/{dataset.id}/ingestions", json={"files": ["cohort.vcf.gz"]},
                           headers=_admin(session, auth))
    assert response.status_code == 202
    return str(response.json()["id"])


def test_a_failed_api_ingestion_reports_the_reason_on_the_job(
        client: TestClient, runtime: Runtime, session: Session, dataset: Dataset, import_dir: Path,
        auth: Callable[[str], dict[str, str]]) -> None:
    (import_dir / "broken.vcf").write_text("this is not a VCF\n")
    response = client.post(f"/api/datasets/{dataset.id}/ingestions", json={"files": ["broken.vcf"]},
                           headers=_admin(session, auth))
    run_queued(runtime.engine, runtime.settings)
    job = client.get(f"/api/ingestions/{response.json()['id']}", headers=_admin(session, auth)).json()
    assert job["state"] == "failed"
    assert "broken.vcf" in job["error"]
