"""PostgreSQL at a national node's scale: ingest, size, Beacon latency over HTTP, and replacing one dataset.

Run by `benchmarks/scale.py postgres` (or this file directly); by hand, not in CI:

    .venv/bin/python benchmarks/_scale_postgres.py --levels 1M,10M          # ~20 minutes here
    .venv/bin/python benchmarks/_scale_postgres.py --levels 1M,10M,100M     # hours, ~25 GB of database

For each level (alleles in the index, all datasets together) it ingests sites-only VCFs with AC/AN (written
here directly, bgzipped and indexed by bgzip/tabix) through GenomeGate's own ingestion into a new PostgreSQL
database until the level is reached: a first dataset of 1M alleles, then datasets of up to --dataset-size.
Then, once the ingestions' writes are flushed (a checkpoint and the OS's dirty pages), with one `genomegate
serve` and one keep-alive HTTP client: exact-allele and 100 kb range count queries (p50/p99 over --queries each,
after a warm-up); the same for as many other alleles once every partition's locus index has been read into memory
(pg_prewarm), as a node answering for a while holds them; then the first dataset's 1M alleles are replaced (build
aside, swap partitions) while another client keeps querying, and the time each step took and the longest query
meanwhile are reported. The database is dropped at the end unless --keep; `--database NAME` measures
a kept one again (without growing it).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where benchmarks/ingest.py would shadow the
# project's `ingest` package: take the folder off the path; project modules are imported where used.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

__all__ = ["main"]

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
FIRST = 1_000_000  # the dataset that is replaced
TARGET_P50_RATIO = 1.5
CHROMS = tuple(str(n) for n in range(1, 23))
BASES = "ACGT"


def _count(text: str) -> int:
    text = text.strip().upper()
    scale = {"K": 1_000, "M": 1_000_000, "G": 1_000_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


# --- sites-only VCFs ---------------------------------------------------------------------------------------

def write_sites_vcf(path: Path, alleles: int, seed: int) -> Path:
    """`alleles` biallelic SNVs with AC/AN over chromosomes 1-22 (spread by length), bgzipped and tabix-indexed."""
    import numpy as np

    from catalogue.assemblies import contig_length

    rng = np.random.default_rng(seed)
    lengths = np.array([contig_length(c, "GRCh38") for c in CHROMS], dtype=np.float64)
    per_chrom = rng.multinomial(alleles, lengths / lengths.sum())
    header = ["##fileformat=VCFv4.2", "##reference=GRCh38",
              *(f"##contig=<ID={c},length={contig_length(c, 'GRCh38')},assembly=GRCh38>" for c in CHROMS),
              '##INFO=<ID=AC,Number=A,Type=Integer,Description="Allele count">',
              '##INFO=<ID=AN,Number=1,Type=Integer,Description="Allele number">',
              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    with path.open("wb") as out:
        bgzip = subprocess.Popen(["bgzip", "-c", "-@", "2"], stdin=subprocess.PIPE, stdout=out)
        assert bgzip.stdin is not None
        bgzip.stdin.write(("\n".join(header) + "\n").encode())
        for chrom, n in zip(CHROMS, per_chrom, strict=True):
            length = contig_length(chrom, "GRCh38")
            drawn = np.unique(rng.integers(1, length - 1, size=int(n * 1.02) + 10))  # distinct, sorted
            positions = np.sort(rng.choice(drawn, size=min(int(n), len(drawn)), replace=False))
            refs = rng.integers(0, 4, size=len(positions))
            alts = (refs + rng.integers(1, 4, size=len(positions))) % 4
            an = rng.integers(2000, 5000, size=len(positions)) * 2
            ac = np.minimum(rng.geometric(0.02, size=len(positions)), an)
            lines = [f"{chrom}\t{p}\t.\t{BASES[r]}\t{BASES[a]}\t.\tPASS\tAC={c};AN={t}\n"
                     for p, r, a, c, t in zip(positions.tolist(), refs.tolist(), alts.tolist(), ac.tolist(),
                                              an.tolist(), strict=True)]
            for start in range(0, len(lines), 200_000):
                bgzip.stdin.write("".join(lines[start:start + 200_000]).encode())
        bgzip.stdin.close()
        if bgzip.wait() != 0:
            raise SystemExit("bgzip failed")
    subprocess.run(["tabix", "-f", "-p", "vcf", str(path)], check=True)
    return path


# --- the node -----------------------------------------------------------------------------------------------

@dataclass
class Node:
    url: str
    data_dir: Path
    runtime: Any
    org_id: str
    datasets: list[tuple[str, int]] = field(default_factory=list)  # (id, alleles)

    @property
    def alleles(self) -> int:
        return sum(n for _, n in self.datasets)


def _new_node(admin_url: str, workdir: Path) -> Node:
    import psycopg
    from sqlalchemy.engine import make_url
    from sqlmodel import Session

    from catalogue.identity import Caller
    from catalogue.models import OrganisationCreate
    from catalogue.runtime import build_runtime
    from catalogue.services import registry
    from catalogue.settings import Settings
    from genomegate.schema import upgrade

    admin = make_url(admin_url)
    name = f"gg_scale_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username, password=admin.password,
                         dbname=admin.database, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = admin.set(database=name).render_as_string(hide_password=False)
    data_dir = workdir / name
    runtime = build_runtime(Settings(data_dir=data_dir, database_url=url))
    upgrade(runtime.engine)
    with Session(runtime.engine, expire_on_commit=False) as session:
        org = registry.create_organisation(session, Caller.cli_operator(), OrganisationCreate(name="Scale lab"))
    print(f"database {name}, data in {data_dir}", flush=True)
    return Node(url, data_dir, runtime, org.id)


def _kept_node(admin_url: str, name: str, workdir: Path) -> Node:
    """A database an earlier run kept (--keep): its datasets and their alleles as they are now."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url

    from catalogue.runtime import build_runtime
    from catalogue.settings import Settings

    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    data_dir = workdir / name
    runtime = build_runtime(Settings(data_dir=data_dir, database_url=url))
    with runtime.engine.connect() as conn:
        org_id = conn.execute(text("SELECT id FROM catalogue_organisation ORDER BY id LIMIT 1")).scalar_one()
        datasets = [(str(d), int(n)) for d, n in conn.execute(text(
            "SELECT dataset_id, COUNT(*) FROM catalogue_variant GROUP BY dataset_id ORDER BY dataset_id"))]
    print(f"database {name} (kept), {sum(n for _, n in datasets):,} alleles in {len(datasets)} datasets", flush=True)
    return Node(url, data_dir, runtime, org_id, datasets)


def _drop(node: Node, admin_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    node.runtime.engine.dispose()
    admin = make_url(admin_url)
    name = make_url(node.url).database
    with psycopg.connect(host=admin.host, port=admin.port or 5432, user=admin.username, password=admin.password,
                         dbname=admin.database, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _ingest(node: Node, vcf: Path, dataset_id: str | None = None) -> tuple[str, float]:
    """Ingest `vcf` into a new published PUBLIC dataset (or again into `dataset_id`); (dataset id, seconds)."""
    from sqlmodel import Session

    from catalogue.identity import Caller
    from catalogue.models import Assembly, DatasetCreate, DatasetUpdate, SecurityLevel
    from catalogue.services import datasets
    from ingest.services import run_job, start_ingestion

    operator = Caller.cli_operator()
    with Session(node.runtime.engine, expire_on_commit=False) as session:
        if dataset_id is None:
            dataset = datasets.create_dataset(session, operator, DatasetCreate(
                title=f"Cohort {len(node.datasets) + 1}", assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC,
                organisation_id=node.org_id))
            datasets.update_dataset(session, operator, dataset.id, DatasetUpdate(privacy_p=0.0, count_threshold=0))
            datasets.publish_dataset(session, operator, dataset.id)
            dataset_id = dataset.id
        job = start_ingestion(session, operator, dataset_id, files=[vcf])
    started = time.perf_counter()
    done = run_job(node.runtime.engine, job.id, store_root=node.runtime.settings.store_root)
    if done.state != "succeeded":
        raise SystemExit(f"ingestion of {vcf} failed: {done.error}")
    return dataset_id, time.perf_counter() - started


def _database_bytes(node: Node) -> tuple[int, int]:
    """(the whole database, the variant index's partitions with their indexes) in bytes."""
    from sqlalchemy import text

    with node.runtime.engine.connect() as conn:
        whole = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
        index = conn.execute(text(
            "SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0) FROM pg_inherits "
            "WHERE inhparent = 'catalogue_variant'::regclass")).scalar_one()
    return int(whole), int(index)


# --- queries over HTTP --------------------------------------------------------------------------------------

def _sample_alleles(node: Node, n: int, seed: int) -> list[tuple[str, int, str, str]]:
    """Alleles of every dataset (in proportion to its size); a third of them changed into misses."""
    from sqlalchemy import text

    rng = random.Random(seed)
    out: list[tuple[str, int, str, str]] = []
    with node.runtime.engine.connect() as conn:
        for dataset_id, size in node.datasets:
            k = max(1, round(n * size / node.alleles))
            percent = min(100.0, 100.0 * 5 * k / size)
            rows = conn.execute(text(
                "SELECT chrom, pos, ref, alt FROM catalogue_variant TABLESAMPLE BERNOULLI (:p) "
                "WHERE dataset_id = :d LIMIT :k"), {"p": percent, "d": dataset_id, "k": k}).all()
            out += [tuple(r) for r in rows]  # type: ignore[misc]
    rng.shuffle(out)
    for i in range(0, len(out), 3):
        chrom, pos, ref, alt = out[i]
        out[i] = (chrom, pos, ref, next(b for b in BASES if b not in (ref, alt)))
    return out[:n]


def _exact(allele: tuple[str, int, str, str]) -> dict[str, Any]:
    chrom, pos, ref, alt = allele
    return {"assemblyId": "GRCh38", "referenceName": chrom, "start": pos - 1, "referenceBases": ref,
            "alternateBases": alt, "requestedGranularity": "count"}


def _range(allele: tuple[str, int, str, str]) -> dict[str, Any]:
    """The 100 kb around an allele (within its chromosome)."""
    from catalogue.assemblies import contig_length

    chrom, pos, _, _ = allele
    end = min(pos + 50_000, contig_length(chrom, "GRCh38"))
    return {"assemblyId": "GRCh38", "referenceName": chrom, "start": max(0, end - 100_000), "end": end,
            "requestedGranularity": "count"}


def _timed(client: Any, params: Sequence[dict[str, Any]]) -> list[float]:
    times = []
    for p in params:
        started = time.perf_counter()
        response = client.get("/beacon/v2/g_variants", params=p)
        times.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise SystemExit(f"the Beacon answered {response.status_code} to {p}: {response.text[-300:]}")
    return times


def _percentiles(times: Sequence[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


def _serve(node: Node) -> tuple[subprocess.Popen[bytes], str]:
    import socket

    import httpx

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    env = {**os.environ, "GENOMEGATE_DATA_DIR": str(node.data_dir), "GENOMEGATE_DATABASE_URL": node.url,
           "GENOMEGATE_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen([sys.executable, "-m", "genomegate", "serve", "--port", str(port)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit("genomegate serve did not start within 60 s")


# --- replacing one dataset ----------------------------------------------------------------------------------

def _replacement_rows(seed: int) -> Iterator[list[tuple[Any, ...]]]:
    """FIRST new SNVs on chromosome 1 (variant_values() rows), in batches."""
    rng = random.Random(seed)
    pos = 1_000
    batch: list[tuple[Any, ...]] = []
    for _ in range(FIRST):
        pos += rng.randint(1, 400)
        ref = rng.choice(BASES)
        alt = rng.choice([b for b in BASES if b != ref])
        ac = rng.randint(1, 50)
        batch.append(("1", pos, ref, alt, pos, "SNP", 1, ac, 5000, ac, 0, 0, None, None))
        if len(batch) == 50_000:
            yield batch
            batch = []
    if batch:
        yield batch


@dataclass
class Replacement:
    write_s: float  # building the new rows aside (COPY)
    swap_s: float  # indexing them (primary key, locus and file indexes, foreign keys), the swap, the commit
    total_s: float
    slowest_query_ms: float  # a client querying all along: its longest wait
    queries: int


def _replace_first(node: Node, base: str, seed: int) -> Replacement:
    """Replace the first dataset's 1M alleles through the index's load (as an ingestion's publish does), while
    another keep-alive client queries the node all along."""
    import httpx
    from sqlalchemy import text
    from sqlmodel import Session

    from catalogue.services import index

    dataset_id = node.datasets[0][0]
    with node.runtime.engine.connect() as conn:
        file_id = conn.execute(text("SELECT id FROM catalogue_dataset_file WHERE dataset_id = :d"),
                               {"d": dataset_id}).scalar_one()
    probes = _sample_alleles(node, 500, seed)
    stop = threading.Event()
    waits: list[float] = []

    def query_all_along() -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while not stop.is_set():
                waits.extend(_timed(client, [_exact(a) for a in probes[:50]]))

    watcher = threading.Thread(target=query_all_along, daemon=True)
    watcher.start()
    time.sleep(1.0)
    started = time.perf_counter()
    with Session(node.runtime.engine) as session:
        load = index.begin_variant_load(session, dataset_id, dropping_files=[file_id])
        index.write_values(session, dataset_id, file_id, _replacement_rows(seed), into=load)
        written = time.perf_counter()
        index.finish_variant_load(session, load)
        session.commit()
    done = time.perf_counter()
    time.sleep(1.0)
    stop.set()
    watcher.join()
    return Replacement(written - started, done - written, done - started, max(waits) * 1000, len(waits))


# --- the run ------------------------------------------------------------------------------------------------

@dataclass
class Level:
    alleles: int
    datasets: int
    ingest_rate: float
    bytes_per_allele: float
    index_bytes_per_allele: float
    exact: tuple[float, float]
    ranged: tuple[float, float]
    warm_exact: tuple[float, float] | None  # after the locus indexes were read once (None: no pg_prewarm)
    warm_ranged: tuple[float, float] | None
    replacement: Replacement


def _grow(node: Node, target: int, dataset_size: int, workdir: Path, rates: list[float]) -> None:
    while node.alleles < target:
        size = FIRST if not node.datasets else min(dataset_size, target - node.alleles)
        seed = len(node.datasets) + 1
        vcf = workdir / f"sites-{size}-seed{seed}.vcf.gz"
        if not vcf.exists() or not Path(f"{vcf}.tbi").exists():
            started = time.perf_counter()
            write_sites_vcf(vcf, size, seed)
            print(f"  wrote {vcf.name} in {time.perf_counter() - started:.0f} s", flush=True)
        dataset_id, seconds = _ingest(node, vcf)
        with node.runtime.engine.connect() as conn:
            from sqlalchemy import text

            held = int(conn.execute(text("SELECT COUNT(*) FROM catalogue_variant WHERE dataset_id = :d"),
                                    {"d": dataset_id}).scalar_one())
        node.datasets.append((dataset_id, held))
        rates.append(held / seconds)
        print(f"  ingested {dataset_id}: {held:,} alleles in {seconds:.0f} s ({held / seconds:,.0f}/s); "
              f"index {node.alleles:,}", flush=True)


def _settle(node: Node) -> None:
    """Flush what the ingestions wrote (a checkpoint, then the OS's dirty pages) before querying: the figures are
    then the queries' own, not the disk's writeback of gigabytes competing with them for the two cores."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    started = time.perf_counter()
    try:
        with node.runtime.engine.connect() as conn:
            conn.execute(text("CHECKPOINT"))
    except DBAPIError as exc:  # the user may not checkpoint (PostgreSQL 15: superuser or pg_checkpoint)
        print(f"  (no checkpoint: {exc.orig})", flush=True)
    os.sync()
    print(f"  writes flushed in {time.perf_counter() - started:.0f} s", flush=True)


def _read_locus_indexes(node: Node) -> bool:
    """Read every partition's locus index once (pg_prewarm, into the OS's cache), as a node that has been answering
    queries for a while holds them: the counts read nothing else. False when pg_prewarm cannot be installed."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    started = time.perf_counter()
    try:
        with node.runtime.engine.begin() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_prewarm"))
            indexes = conn.execute(text("SELECT inhrelid::regclass::text FROM pg_inherits "
                                        "WHERE inhparent = 'ix_catalogue_variant_locus'::regclass")).scalars().all()
            pages = sum(int(conn.execute(text("SELECT pg_prewarm(CAST(:i AS regclass), 'read')"),
                                         {"i": name}).scalar_one()) for name in indexes)
    except DBAPIError as exc:
        print(f"  (the locus indexes were not read: {exc.orig})", flush=True)
        return False
    print(f"  read the {len(indexes)} locus indexes ({pages * 8192 / 2**30:.1f} GiB) in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    return True


def _measure(node: Node, queries: int, seed: int, rates: list[float]) -> Level:
    import httpx

    _settle(node)
    whole, index_bytes = _database_bytes(node)
    process, base = _serve(node)
    try:
        alleles = _sample_alleles(node, queries, seed)
        with httpx.Client(base_url=base, timeout=60) as client:
            _timed(client, [_exact(a) for a in alleles[:300]] + [_range(a) for a in alleles[:100]])  # warm-up
            exact = _percentiles(_timed(client, [_exact(a) for a in alleles]))
            ranged = _percentiles(_timed(client, [_range(a) for a in alleles]))
            warm_exact = warm_ranged = None
            if _read_locus_indexes(node):  # then as many alleles again, sampled anew
                others = _sample_alleles(node, queries, seed + 1000)
                warm_exact = _percentiles(_timed(client, [_exact(a) for a in others]))
                warm_ranged = _percentiles(_timed(client, [_range(a) for a in others]))
        replacement = _replace_first(node, base, seed)
    finally:
        process.terminate()
        process.wait(timeout=30)
    return Level(node.alleles, len(node.datasets), statistics.median(rates), whole / node.alleles,
                 index_bytes / node.alleles, exact, ranged, warm_exact, warm_ranged, replacement)


def _report(levels: Sequence[Level]) -> None:
    print()
    print("PostgreSQL variant index (partition per dataset), sites-only VCFs with AC/AN, one `genomegate serve`, "
          "one keep-alive client; the machine is shared, figures move ±30% run to run")
    print(f"{'alleles':>12} {'datasets':>8} {'ingest/s':>9} {'B/allele':>9} {'(index)':>8} {'exact p50':>10} "
          f"{'p99':>7} {'100kb p50':>10} {'p99':>7} {'replace 1M':>11} {'(write':>7} {'+index,swap)':>13} "
          f"{'slowest q':>10}")
    for lv in levels:
        r = lv.replacement
        print(f"{lv.alleles:>12,} {lv.datasets:>8} {lv.ingest_rate:>9,.0f} {lv.bytes_per_allele:>9.0f} "
              f"{lv.index_bytes_per_allele:>8.0f} {lv.exact[0]:>8.2f}ms {lv.exact[1]:>5.2f}ms {lv.ranged[0]:>8.2f}ms "
              f"{lv.ranged[1]:>5.2f}ms {r.total_s:>10.1f}s {r.write_s:>6.1f}s {r.swap_s:>12.2f}s "
              f"{r.slowest_query_ms:>8.1f}ms")
    print("with the locus indexes read once (pg_prewarm), as many other alleles:")
    for lv in levels:
        if lv.warm_exact is not None and lv.warm_ranged is not None:
            print(f"{lv.alleles:>12,} {lv.datasets:>8}   exact p50 {lv.warm_exact[0]:.2f} ms, "
                  f"p99 {lv.warm_exact[1]:.2f} ms; 100 kb p50 {lv.warm_ranged[0]:.2f} ms, "
                  f"p99 {lv.warm_ranged[1]:.2f} ms")
    if len(levels) > 1:
        first, last = levels[0], levels[-1]
        ratio = last.exact[0] / first.exact[0]
        print(f"exact p50 at {last.alleles:,} / at {first.alleles:,}: {ratio:.2f} (target <= {TARGET_P50_RATIO}); "
              f"replacement {last.replacement.total_s:.1f} s vs {first.replacement.total_s:.1f} s "
              f"(target: not slower)")
        if first.warm_exact is not None and last.warm_exact is not None:
            print(f"the same with the locus indexes read once: {last.warm_exact[0] / first.warm_exact[0]:.2f}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="scale.py postgres", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default=DEFAULT_URL, help="a PostgreSQL URL whose user may create databases")
    parser.add_argument("--levels", default="1M,10M", help="alleles in the index, comma-separated (1M,10M,100M)")
    parser.add_argument("--dataset-size", default="10M", help="largest dataset after the first (1M) one")
    parser.add_argument("--queries", type=int, default=3000, help="queries of each kind per level")
    parser.add_argument("--workdir", type=Path, default=_HERE / "out" / "scale-postgres")
    parser.add_argument("--keep", action="store_true", help="keep the database (its name is printed)")
    parser.add_argument("--database", help="measure again a database an earlier run kept (its name; --levels is "
                                           "then ignored and the database kept)")
    args = parser.parse_args(argv)
    levels = sorted(_count(x) for x in args.levels.split(","))
    if not levels or levels[0] < FIRST:
        parser.error(f"the first level must hold at least {FIRST:,} alleles (the dataset that is replaced)")
    args.workdir.mkdir(parents=True, exist_ok=True)
    if args.database:
        node = _kept_node(args.url, args.database, args.workdir)
        levels, args.keep = [node.alleles], True
    else:
        node = _new_node(args.url, args.workdir)
    results: list[Level] = []
    try:
        for number, target in enumerate(levels):
            print(f"level {target:,} alleles", flush=True)
            rates: list[float] = []
            _grow(node, target, _count(args.dataset_size), args.workdir, rates)
            results.append(_measure(node, args.queries, seed=100 + number, rates=rates or [float("nan")]))
            done = results[-1]
            print(f"  exact p50 {done.exact[0]:.2f} ms, 100 kb p50 {done.ranged[0]:.2f} ms, replacement "
                  f"{done.replacement.total_s:.1f} s", flush=True)
    finally:
        if not args.keep:
            _drop(node, args.url)
    _report(results)


if __name__ == "__main__":
    main()
