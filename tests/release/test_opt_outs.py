"""Releases after an opt-out: under a permit issued after it took effect, exactly what `bcftools view -s ^SAMPLE`
gives (htsget regions and whole files, VCF and BCF, Crypt4GH downloads); under one issued before, the same bytes as
ever; before the job applied it, and after the sample opted back in, the original. SQLite and PostgreSQL."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from crypt4gh import lib as c4gh_lib
from sqlmodel import Session, col, delete

from access.models import Entitlement
from catalogue.models import utcnow
from catalogue.services import opt_outs
from ingest.opt_outs import start_recounts
from ingest.synthetic import SimulatedCohort
from tests.factories import make_entitlement
from tests.ingest._tools import bcftools
from tests.release.conftest import ALICE, Released
from tests.release.test_downloads import _keypair, _register
from tests.workers import run_queued

LATER = "dave@example.org"  # entitled once the opt-out took effect
REGION: dict[str, Any] = {"referenceName": "chr1", "start": 0, "end": 150_000}


def _records(blob: bytes, fmt: str, folder: Path) -> tuple[str, str]:
    """(samples, records) of a VCF/BCF as bcftools reads them: the header's command lines aside."""
    path = folder / f"blob-{len(list(folder.iterdir()))}.{'bcf' if fmt == 'BCF' else 'vcf.gz'}"
    path.write_bytes(blob)
    return bcftools("query", "-l", path), bcftools("view", "-H", path)


def _expected(source: Path, left_out: str | None, region: str | None = None) -> tuple[str, str]:
    args = ["-s", f"^{left_out}"] if left_out else []
    where = ["-r", region] if region else []
    samples = bcftools("query", "-l", *args, source) if not left_out else "".join(
        f"{s}\n" for s in bcftools("query", "-l", source).split() if s != left_out)
    return samples, bcftools("view", "-H", *args, *where, source)


def _download(released: Released, fmt: str, who: str, secret: bytes) -> bytes:
    file = released.files[fmt]
    response = released.client.get(f"/api/release/{released.datasets[fmt]}/files/{file.id}",
                                   params={"encryption": "crypt4gh"}, headers=released.auth(who))
    assert response.status_code == 200, response.text
    plain = io.BytesIO()
    c4gh_lib.decrypt([(0, secret, None)], io.BytesIO(response.content), plain)
    return plain.getvalue()


def _releases(released: Released, fmt: str, who: str, secret: bytes) -> dict[str, bytes]:
    region = released.ticket(fmt, who, **REGION)
    whole = released.ticket(fmt, who)
    assert region.status_code == whole.status_code == 200, (region.text, whole.text)
    return {"region": released.fetch(region.json()), "whole": released.fetch(whole.json()),
            "download": _download(released, fmt, who, secret)}


def _apply(released: Released, session: Session) -> None:
    assert start_recounts(session)
    run_queued(released.runtime.engine, released.runtime.settings)


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_a_release_under_a_later_permit_is_bcftools_view_without_the_sample_and_an_earlier_one_is_unchanged(
        released: Released, session: Session, cohorts: dict[str, SimulatedCohort], tmp_path: Path, fmt: str) -> None:
    source = cohorts[fmt].path
    sample = cohorts[fmt].samples[2]
    dataset = released.datasets[fmt]
    stored = Path(released.files[fmt].uri).read_bytes()
    secret, pem = _keypair()
    for who in (ALICE, LATER):
        _register(released, who, pem, label=who)
    original = _releases(released, fmt, ALICE, secret)
    assert original["whole"] == original["download"] == stored
    assert _records(original["region"], fmt, tmp_path) == _expected(source, None, "chr1:1-150000")

    opt_outs.request_opt_out(session, dataset, [sample], at=utcnow())
    make_entitlement(session, LATER, dataset)  # issued while the opt-out is pending: not yet in effect
    assert _releases(released, fmt, LATER, secret) == original

    _apply(released, session)
    # the job made the copy new permits get, before anyone asked for it
    copies = Path(released.files[fmt].uri).parent / "without"
    assert [p.name for p in copies.iterdir()] and all((p / "derived.json").is_file() for p in copies.iterdir())
    session.execute(delete(Entitlement).where(col(Entitlement.subject) == LATER))
    session.commit()
    make_entitlement(session, LATER, dataset)  # issued again, after the opt-out took effect
    assert _releases(released, fmt, ALICE, secret) == original  # issued before: unchanged bytes
    later = _releases(released, fmt, LATER, secret)
    assert _records(later["region"], fmt, tmp_path) == _expected(source, sample, "chr1:1-150000")
    assert _records(later["whole"], fmt, tmp_path) == _expected(source, sample)
    assert later["download"] == later["whole"] != stored
    assert sample not in _records(later["whole"], fmt, tmp_path)[0].split()

    opt_outs.request_opt_in(session, dataset, [sample], at=utcnow())
    _apply(released, session)
    assert _releases(released, fmt, LATER, secret) == original
