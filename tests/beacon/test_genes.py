"""Beacon geneId queries: the gene table, loaded from an annotation, gives the region."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlmodel import Session, select

from catalogue.identity import Caller
from catalogue.models import Assembly, Dataset, Gene, SecurityLevel
from catalogue.services.genes import replace_genes
from ingest.genes import read_genes


def test_a_gene_query_finds_what_its_range_finds(
        client: TestClient, session: Session, make_beacon_dataset: Callable[..., Dataset], tmp_path: Path) -> None:
    make_beacon_dataset(SecurityLevel.PUBLIC, "Panel", count_threshold=0)
    (tmp_path / "genes.bed").write_text("chr1\t0\t400000\tBIG1\n")
    loaded = replace_genes(session, Caller.cli_operator(), Assembly.GRCh38, read_genes(tmp_path / "genes.bed",
                                                                                       "GRCh38"))
    assert loaded == 1
    by_gene = client.get("/beacon/v2/g_variants", params={"geneId": "BIG1", "requestedGranularity": "count"}).json()
    by_range = client.get("/beacon/v2/g_variants", params={"referenceName": "1", "start": 0, "end": 400_000,
                                                           "requestedGranularity": "count"}).json()
    assert by_gene["responseSummary"]["numTotalResults"] == by_range["responseSummary"]["numTotalResults"] > 0
    replace_genes(session, Caller.cli_operator(), Assembly.GRCh38, [])
    assert session.exec(select(Gene)).all() == []
