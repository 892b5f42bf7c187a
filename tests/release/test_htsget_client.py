"""The `htsget` client from PyPI against a real server: regions of VCF and BCF datasets equal `bcftools view -r`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import htsget
import pytest
import uvicorn

from catalogue.runtime import Runtime
from genomegate.app import create_app
from ingest.synthetic import SimulatedCohort
from tests.ingest._tools import bcftools
from tests.release.conftest import ALICE, Released


@pytest.fixture
def server(released: Released) -> Iterator[str]:
    """The app on a free loopback port, in a thread, on the test's database; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    base = f"http://127.0.0.1:{port}"
    runtime = released.runtime
    live = Runtime(settings=runtime.settings.model_copy(update={"public_base_url": base}), engine=runtime.engine,
                   issuer=runtime.issuer, verifier=runtime.verifier)
    config = uvicorn.Config(create_app(runtime=live), host="127.0.0.1", port=port, log_level="warning",
                            ws="none", lifespan="off", access_log=False)
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    yield base
    uvicorn_server.should_exit = True
    thread.join(10)


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
@pytest.mark.parametrize(("reference", "start", "end"), [("chr1", 5_000, 25_000), ("2", None, None)])
def test_the_htsget_client_gets_what_bcftools_view_r_gives(
        released: Released, server: str, cohorts: dict[str, SimulatedCohort], tmp_path: Path, fmt: str,
        reference: str, start: int | None, end: int | None) -> None:
    token = released.auth(ALICE)["Authorization"].removeprefix("Bearer ")
    out = tmp_path / f"client.{fmt.lower()}"
    with out.open("wb") as handle:
        htsget.get(f"{server}/htsget/variants/{released.datasets[fmt]}", handle, reference_name=reference,
                   start=start, end=end, data_format=fmt, bearer_token=token, max_retries=0, timeout=30)
    contig = "chr" + reference.removeprefix("chr")
    region = f"{contig}:{(start or 0) + 1}-{'' if end is None else end}"
    expected = bcftools("view", "-H", "-r", region, cohorts[fmt].path)
    assert expected and bcftools("view", "-H", out) == expected


def test_the_htsget_client_gets_the_whole_file(released: Released, server: str, tmp_path: Path) -> None:
    token = released.auth(ALICE)["Authorization"].removeprefix("Bearer ")
    out = tmp_path / "whole.bcf"
    with out.open("wb") as handle:
        htsget.get(f"{server}/htsget/variants/{released.datasets['BCF']}/{released.files['BCF'].id}", handle,
                   data_format="BCF", bearer_token=token, max_retries=0)
    assert out.read_bytes() == Path(released.files["BCF"].uri).read_bytes()
