"""htsget over HTTP: tickets and blocks for entitled callers equal bcftools' view of the source; audit rows."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from sqlmodel import Session, col, select

from access.models import AuditEvent
from ingest.synthetic import SimulatedCohort
from tests.ingest._tools import bcftools
from tests.release.conftest import ALICE, Released


def _records(path: Path, region: str | None = None) -> str:
    return bcftools("view", "-H", *(["-r", region] if region else []), path)


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
@pytest.mark.parametrize(("reference", "start", "end"), [
    ("chr1", 0, 20_000), ("1", 10_000, 30_000), ("chr2", None, None), ("2", 30_000, None), ("chr1", 99, 100),
])
def test_region_blocks_concatenate_to_what_bcftools_view_r_gives(
        released: Released, cohorts: dict[str, SimulatedCohort], tmp_path: Path, fmt: str, reference: str,
        start: int | None, end: int | None) -> None:
    params = {"referenceName": reference, **({"start": start} if start is not None else {}),
              **({"end": end} if end is not None else {})}
    response = released.ticket(fmt, **params)
    assert response.status_code == 200, response.text
    ticket = response.json()
    assert ticket["htsget"]["format"] == fmt
    assert [u["class"] for u in ticket["htsget"]["urls"]] == ["header", "body", "body"]
    assert all("Bearer " in u["headers"]["Authorization"] for u in ticket["htsget"]["urls"][:2])
    out = tmp_path / f"slice.{fmt.lower()}"
    out.write_bytes(released.fetch(ticket))
    contig = "chr" + reference.removeprefix("chr")
    region = f"{contig}:{(start or 0) + 1}-{'' if end is None else end}"
    expected = _records(cohorts[fmt].path, region)
    assert expected, "the region should not be empty"
    assert _records(out) == expected
    assert bcftools("view", "-h", "--no-version", out) == bcftools("view", "-h", "--no-version", cohorts[fmt].path)


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_whole_file_is_the_stored_file_and_honours_range(released: Released, fmt: str) -> None:
    response = released.ticket(fmt, file=True)
    assert response.status_code == 200, response.text
    (entry,) = response.json()["htsget"]["urls"]
    assert "class" not in entry and entry["headers"]["Range"] == f"bytes=0-{released.files[fmt].size - 1}"
    blob = released.fetch(response.json())
    assert hashlib.sha256(blob).hexdigest() == released.files[fmt].sha256
    part = released.client.get(entry["url"], headers={**entry["headers"], "Range": "bytes=10-19"})
    assert part.status_code == 206 and part.content == blob[10:20]


def test_a_ticket_splits_a_large_file_into_ranges(released: Released) -> None:
    from access.release.api import get_release_context
    from access.release.grants import ReleaseContext

    settings = released.runtime.settings
    app = released.client.app
    app.dependency_overrides[get_release_context] = lambda: ReleaseContext(  # type: ignore[attr-defined]
        secret=settings.secret_key, base_url=settings.public_base_url, file_block_bytes=4096)
    try:
        ticket = released.ticket("VCF").json()
    finally:
        app.dependency_overrides.clear()  # type: ignore[attr-defined]
    size = released.files["VCF"].size
    ranges = [u["headers"]["Range"] for u in ticket["htsget"]["urls"]]
    assert len(ranges) == -(-size // 4096) > 1 and ranges[:2] == ["bytes=0-4095", "bytes=4096-8191"]
    assert hashlib.sha256(released.fetch(ticket)).hexdigest() == released.files["VCF"].sha256


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_class_header_gives_the_header_alone(released: Released, tmp_path: Path, fmt: str) -> None:
    ticket = released.ticket(fmt, **{"class": "header"}).json()
    assert [u["class"] for u in ticket["htsget"]["urls"]] == ["header", "header"]
    out = tmp_path / "header"
    out.write_bytes(released.fetch(ticket))
    assert _records(out) == ""
    assert "#CHROM" in bcftools("view", "-h", out)


def test_post_takes_a_list_of_regions(released: Released, cohorts: dict[str, SimulatedCohort],
                                      tmp_path: Path) -> None:
    body = {"format": "BCF", "regions": [{"referenceName": "chr2", "start": 0, "end": 10_000},
                                         {"referenceName": "1", "start": 20_000, "end": 30_000},
                                         {"referenceName": "chrX"}]}
    response = released.client.post(f"/htsget/variants/{released.datasets['BCF']}", json=body,
                                    headers=released.auth(ALICE))
    assert response.status_code == 200, response.text
    assert [u["class"] for u in response.json()["htsget"]["urls"]] == ["header", "body", "body", "body"]
    out = tmp_path / "regions.bcf"
    out.write_bytes(released.fetch(response.json()))
    source = cohorts["BCF"].path
    assert _records(out) == _records(source, "chr2:1-10000") + _records(source, "chr1:20001-30000")


def test_a_chromosome_without_records_gives_a_valid_empty_file(released: Released, tmp_path: Path) -> None:
    ticket = released.ticket("VCF", referenceName="chr7", start=0, end=1000).json()
    out = tmp_path / "empty.vcf.gz"
    out.write_bytes(released.fetch(ticket))
    assert _records(out) == ""


def test_tickets_and_blocks_are_audited(released: Released) -> None:
    ticket = released.ticket("VCF", referenceName="chr1", start=0, end=10_000).json()
    blob = released.fetch(ticket)
    with Session(released.runtime.engine) as session:
        events = session.exec(select(AuditEvent).where(col(AuditEvent.action).startswith("release."))
                              .order_by(col(AuditEvent.id))).all()
    assert [e.action for e in events] == ["release.ticket", "release.block", "release.block"]
    assert {e.actor for e in events} == {ALICE} and {e.dataset_id for e in events} == {released.datasets["VCF"]}
    assert events[0].details["regions"] == ["chr1:0-10000"] and events[0].details["file"] == released.files["VCF"].id
    header, body = events[1].details, events[2].details
    assert (header["part"], body["part"], body["region"]) == ("header", "body", "chr1:0-10000")
    assert header["bytes"] + body["bytes"] + 28 == len(blob)
    assert body["sha256"] == hashlib.sha256(blob[header["bytes"]:-28]).hexdigest()
