"""Privacy budget benchmark: what charging an answer adds to a Beacon sequence query, in-process.

Run it from the repository root:

    .venv/bin/python benchmarks/privacy.py                       # 200 samples x 50,000 variants, SQLite
    .venv/bin/python benchmarks/privacy.py --database-url postgresql+psycopg://postgres@127.0.0.1/test

It simulates a cohort, ingests it twice (one dataset with the defence off, one with it on), loads the
cohort's own sites as the reference panel, then times, on the same common-allele queries (a session each,
as a request has): an anonymous query of the undefended dataset (the lookup alone); a signed-in query of the
defended dataset asking a new question each time (priced, settled, committed); and the same questions asked
again (found in the account's questions, nothing charged). Medians and p99 over several rounds.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

__all__ = ["main"]


def _setup(workdir: Path, samples: int, variants: int, database_url: str) -> tuple[Any, str, str, Path]:
    from sqlalchemy import text
    from sqlmodel import Session

    from catalogue.identity import Caller
    from catalogue.models import Assembly, DatasetCreate, OrganisationCreate, SecurityLevel
    from catalogue.runtime import build_runtime
    from catalogue.services import datasets, registry
    from catalogue.settings import Settings
    from genomegate.schema import upgrade
    from ingest.reference_af import load_reference_af
    from ingest.services import run_job, start_ingestion
    from ingest.synthetic import simulate_cohort

    vcf = workdir / f"privacy-{samples}s-{variants}v.vcf.gz"
    if not vcf.exists():
        simulate_cohort(vcf, samples=samples, variants_per_contig=variants, contigs=("1",), seed=0, sv_rate=0.0)
    settings = Settings(data_dir=workdir / "node", database_url=database_url)
    runtime = build_runtime(settings)
    if database_url.startswith("postgresql"):
        with runtime.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(runtime.engine)
    operator = Caller.cli_operator()
    ids = []
    with Session(runtime.engine, expire_on_commit=False) as session:
        org = registry.create_organisation(session, operator, OrganisationCreate(name="Bench lab"))
        for title, p in (("Undefended", 0.0), ("Defended", 0.625)):
            dataset = datasets.create_dataset(session, operator, DatasetCreate(
                title=title, assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC, organisation_id=org.id,
                privacy_p=p))
            datasets.publish_dataset(session, operator, dataset.id)
            job = start_ingestion(session, operator, dataset.id, files=[vcf])
            assert run_job(runtime.engine, job.id, store_root=settings.store_root).state == "succeeded"
            ids.append(dataset.id)
        load_reference_af(session, operator, vcf, assembly=Assembly.GRCh38)
    return runtime, ids[0], ids[1], vcf


def _common_alleles(runtime: Any, n: int) -> list[tuple[str, int, str, str]]:
    from sqlalchemy import text

    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT chrom, pos, ref, alt FROM catalogue_reference_allele "
                                 "WHERE af_lower > 0.05 ORDER BY pos LIMIT :n"), {"n": n}).all()
    return [(r[0], r[1] - 1, r[2], r[3]) for r in rows]


def _time(runtime: Any, caller: Any, dataset_id: str, queries: list[tuple[str, int, str, str]]) -> list[float]:
    from beacon.privacy.services import Gate
    from beacon.request import from_query
    from beacon.services import query_variants
    from catalogue.database import session_scope

    timings = []
    for chrom, start, ref, alt in queries:
        t0 = time.perf_counter()
        with session_scope(runtime.engine) as session:
            request = from_query([("referenceName", chrom), ("start", str(start)), ("referenceBases", ref),
                                  ("alternateBases", alt), ("datasetIds", dataset_id)], max_limit=100)
            answer = query_variants(session, caller, request, base_url="http://bench",
                                    gate=Gate.for_caller(caller, runtime.settings))
        timings.append(time.perf_counter() - t0)
        assert answer["responseSummary"]["exists"], (chrom, start, ref, alt)
    return timings


def _figures(label: str, rounds: list[list[float]]) -> None:
    medians = [statistics.median(r) * 1e6 for r in rounds]
    p99s = [sorted(r)[int(len(r) * 0.99) - 1] * 1e6 for r in rounds]
    print(f"{label:<48} median {statistics.median(medians):7.0f} us (rounds {min(medians):.0f}-{max(medians):.0f})"
          f"   p99 {statistics.median(p99s):7.0f} us", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=1_000, help="different questions per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database-url", default="", help="default: SQLite in the work directory")
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "genomegate-bench")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    url = args.database_url or f"sqlite:///{args.workdir / 'privacy-bench.db'}"
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    runtime, undefended, defended, _ = _setup(args.workdir, args.samples, args.variants, url)
    queries = _common_alleles(runtime, args.queries * args.rounds)
    print(f"{args.samples} samples x {args.variants:,} variants on {url.split(':')[0]}; "
          f"{len(queries):,} common alleles, {args.rounds} rounds", flush=True)
    from catalogue.identity import Caller, Principal

    anonymous = Caller()
    _time(runtime, anonymous, undefended, queries[:200])  # warm caches and statement compilation
    lookup, charged, repeated = [], [], []
    for i in range(args.rounds):
        batch = queries[i * args.queries:(i + 1) * args.queries]
        account = Caller(principal=Principal(subject=f"bench-{i}", issuer="bench", affiliation=f"lab-{i}.example"))
        lookup.append(_time(runtime, anonymous, undefended, batch))
        charged.append(_time(runtime, account, defended, batch))
        repeated.append(_time(runtime, account, defended, batch))
    _figures("lookup alone (defence off, anonymous)", lookup)
    _figures("new question, priced and charged (defence on)", charged)
    _figures("question asked before (defence on)", repeated)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
