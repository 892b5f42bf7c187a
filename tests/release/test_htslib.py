"""htslib itself as the client: `bcftools view` on the node's htsget URLs (a real `genomegate serve` process) gives
exactly what `bcftools view -r` gives on the source file, in the stored format and converted to the other."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import Session

from catalogue.models import DatasetUpdate
from catalogue.services.datasets import update_dataset
from catalogue.tokens import LocalIssuer
from ingest.synthetic import SimulatedCohort
from tests.factories import OPERATOR
from tests.ingest._tools import bcftools, require
from tests.release.conftest import ALICE, Released
from tests.serving import serving_process

REGION = ("chr1", 5000, 25000)  # 0-based, half-open: bcftools' chr1:5001-25000


@pytest.fixture
def node(released: Released) -> Iterator[str]:
    """The node as `genomegate serve` on a port of its own, on the test's database and keys."""
    with serving_process(released.runtime) as base:
        yield base


def _token(released: Released, base: str, subject: str) -> str:
    """A token of the served node's own issuer (the same signing key, its own URL as `iss`)."""
    settings = released.runtime.settings
    issuer = LocalIssuer(settings.data_dir / "keys" / "signing-key.json", issuer=base,
                         audience=settings.token_audience)
    return issuer.issue(subject)


def htslib_view(url: str, tmp_path: Path, token: str | None = None, *args: str) -> subprocess.CompletedProcess[str]:
    """`bcftools view` of an htsget URL. The token goes to htslib in the file HTS_AUTH_LOCATION names, in the
    OAuth2 token-response JSON htslib's hfile_libcurl reads ({"access_token", "token_type": "Bearer"}; a file of
    the bare token works too), sent only on the ticket request: block URLs carry the ticket's own Authorization
    header, which htslib sends instead. Over plain http htslib sends a token only with explicit consent."""
    env = {k: v for k, v in os.environ.items() if k != "HTS_AUTH_LOCATION"}
    env["HTS_ALLOW_UNENCRYPTED_AUTHORIZATION_HEADER"] = "I understand the risks"
    if token is not None:
        auth = tmp_path / "hts-auth.json"
        auth.write_text(json.dumps({"access_token": token, "token_type": "Bearer"}))
        env["HTS_AUTH_LOCATION"] = str(auth)
    return subprocess.run([require("bcftools"), "view", "--no-version", *args, url], capture_output=True, text=True,
                          env=env, check=False, timeout=120)


def _expected(source: Path, region: str | None) -> str:
    return bcftools("view", "--no-version", *(("-r", region) if region else ()), source)


@pytest.mark.parametrize(("stored", "asked"), [("VCF", "VCF"), ("BCF", "BCF"), ("VCF", "BCF"), ("BCF", "VCF")])
def test_bcftools_view_of_a_region_is_bcftools_view_r_of_the_source(
        released: Released, node: str, cohorts: dict[str, SimulatedCohort], tmp_path: Path, stored: str,
        asked: str) -> None:
    contig, start, end = REGION
    url = (f"{node}/htsget/variants/{released.datasets[stored]}?format={asked}&referenceName={contig}"
           f"&start={start}&end={end}")
    viewed = htslib_view(url, tmp_path, _token(released, node, ALICE))
    assert viewed.returncode == 0, viewed.stderr
    expected = _expected(cohorts[stored].path, f"{contig}:{start + 1}-{end}")
    assert expected.count("\n#CHROM") == 1 and len(expected.splitlines()) > 100  # a header and records
    assert viewed.stdout == expected


@pytest.mark.parametrize(("stored", "asked"), [("VCF", "BCF"), ("BCF", "VCF")])
def test_a_whole_file_converted_is_bcftools_view_of_the_source(
        released: Released, node: str, cohorts: dict[str, SimulatedCohort], tmp_path: Path, stored: str,
        asked: str) -> None:
    url = f"{node}/htsget/variants/{released.datasets[stored]}?format={asked}"
    viewed = htslib_view(url, tmp_path, _token(released, node, ALICE))
    assert viewed.returncode == 0, viewed.stderr
    assert viewed.stdout == _expected(cohorts[stored].path, None)


def test_htslib_without_a_token_is_refused_a_controlled_dataset(released: Released, node: str,
                                                                tmp_path: Path) -> None:
    viewed = htslib_view(f"{node}/htsget/variants/{released.datasets['VCF']}?format=VCF", tmp_path)
    assert viewed.returncode != 0 and viewed.stdout == ""


def test_anyone_opens_a_public_dataset_with_htslib(released: Released, session: Session, node: str,
                                                   cohorts: dict[str, SimulatedCohort], tmp_path: Path) -> None:
    update_dataset(session, OPERATOR, released.datasets["BCF"], DatasetUpdate(security="PUBLIC"))
    contig, start, end = REGION
    url = f"{node}/htsget/variants/{released.datasets['BCF']}?referenceName={contig}&start={start}&end={end}"
    viewed = htslib_view(url, tmp_path)  # no token at all; VCF asked (the default), BCF stored
    assert viewed.returncode == 0, viewed.stderr
    assert viewed.stdout == _expected(cohorts["BCF"].path, f"{contig}:{start + 1}-{end}")


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_a_beacon_handover_names_the_format_and_htslib_opens_it(
        released: Released, node: str, cohorts: dict[str, SimulatedCohort], tmp_path: Path, fmt: str) -> None:
    token = _token(released, node, ALICE)
    contig, start, end = REGION
    answer = released.client.get("/beacon/v2/g_variants", headers=released.auth(ALICE), params={
        "referenceName": contig, "start": start, "end": end, "datasetIds": released.datasets[fmt],
        "requestedGranularity": "record"})
    assert answer.status_code == 200, answer.text
    (result_set,) = answer.json()["response"]["resultSets"]
    (handover,) = result_set["resultsHandovers"]
    assert handover["handoverType"]["label"] == fmt
    query = parse_qs(urlsplit(handover["url"]).query)
    assert query["format"] == [fmt]
    # the handover points at the node the Beacon was asked (the test client's); htslib asks the served node
    url = node + handover["url"].removeprefix("http://testserver")
    viewed = htslib_view(url, tmp_path, token)
    assert viewed.returncode == 0, viewed.stderr
    first, last = int(query["start"][0]), int(query["end"][0])
    contig = "chr" + query["referenceName"][0].removeprefix("chr")  # the Beacon's name; the file's has chr
    expected = _expected(cohorts[fmt].path, f"{contig}:{first + 1}-{last}")
    assert len(expected.splitlines()) > 100 and viewed.stdout == expected
