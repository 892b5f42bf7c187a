"""The file store: files kept under the checksum of what is stored, each with its index."""

from __future__ import annotations

import contextlib
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from ingest import store
from ingest.synthetic import simulate_cohort
from tests.ingest._tools import bcftools


def test_two_files_of_one_name_stored_at_once_are_each_kept_whole(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker's two threads planning two ingestions store two different files named alike at the same time:
    each must be stored as itself (a staging name shared by the process mixed them up, and a chunk of one
    ingestion could not read its file)."""
    sources = []
    for seed in (1, 2):
        folder = tmp_path / f"lab{seed}"
        folder.mkdir()
        sources.append(simulate_cohort(folder / "cohort.vcf.gz", samples=5, variants_per_contig=200,
                                       contigs=("1",), seed=seed).path)
    both = threading.Barrier(2, timeout=3)
    checksums = store.file_checksums

    def copied_then_summed(path: Path) -> Any:  # both copies made before either is summed
        with contextlib.suppress(threading.BrokenBarrierError):
            both.wait()
        return checksums(path)

    monkeypatch.setattr(store, "file_checksums", copied_then_summed)
    with ThreadPoolExecutor(2) as pool:
        stored = list(pool.map(lambda source: store.store_file(source, tmp_path / "store"), sources))
    for source, kept in zip(sources, stored, strict=True):
        assert kept.path.read_bytes() == source.read_bytes()
        assert bcftools("view", "-H", "-r", "chr1", kept.path) == bcftools("view", "-H", source)  # through its index
    assert stored[0].path != stored[1].path
