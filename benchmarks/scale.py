"""Scale benchmarks of a national node, one subcommand per part (run by hand; figures go in the notes).

    .venv/bin/python benchmarks/scale.py ingest                       # 2,504 samples x 10 Mb of chr22, 3 runs
    .venv/bin/python benchmarks/scale.py ingest --length 64e6         # a whole simulated chromosome (~920k records)
    .venv/bin/python benchmarks/scale.py ingest --vcf cohort.vcf.gz   # a file you have (bgzipped, indexed)
    .venv/bin/python benchmarks/scale.py postgres --levels 1M,10M,100M   # PostgreSQL at 1M..100M alleles (hours)

`ingest`: the same genotype file ingested (plan, chunks staged, one publish) with 1 and 2 worker processes into a
fresh SQLite database (or --database-url), beside a bare cyvcf2 loop over the file (the floor: every record's
genotypes read and AC/AN counted, nothing else). Prints variants/s, the ratio to the floor per worker and the
speed-up of 2 workers, as medians with their spread over --runs. Targets: >= 0.9x the floor per worker,
>= 1.7x with 2 workers on 2 cores. The cohort comes from ../shared/tools/make_cohort_vcf.py (msprime:
`pip install -e '.[bench]'`), made once into --workdir.

Each measured step runs in a child process of its own (this script with a hidden `_child` command).

`postgres`: benchmarks/_scale_postgres.py (its --help says what it measures).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, where benchmarks/ingest.py would shadow the
# project's `ingest` package: the folder is taken off the path (project modules are imported in the children).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

__all__ = ["main"]

_ROOT = Path(__file__).resolve().parent.parent
_TOOL = _ROOT.parent / "shared" / "tools" / "make_cohort_vcf.py"
TARGET_FLOOR_RATIO = 0.9  # ingest variants/s per worker over the bare loop's
TARGET_SPEEDUP = 1.7  # 2 workers over 1


def _child_floor(spec: dict[str, Any]) -> dict[str, Any]:
    import cyvcf2
    import numpy as np

    records = 0
    started = time.perf_counter()
    for variant in cyvcf2.VCF(spec["path"]):
        calls = variant.genotype.array()[:, :-1]  # the last column is the phase flag
        int(np.count_nonzero(calls >= 0))
        for k in range(1, len(variant.ALT) + 1):
            int(np.count_nonzero(calls == k))
        records += 1
    return {"seconds": time.perf_counter() - started, "records": records}


def _child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    from catalogue.database import make_engine, session_scope
    from catalogue.identity import Caller
    from catalogue.models import Assembly, DatasetCreate, OrganisationCreate, SecurityLevel
    from catalogue.services.datasets import create_dataset
    from catalogue.services.registry import create_organisation
    from genomegate.schema import upgrade
    from ingest.services import run_job, start_ingestion

    engine = make_engine(spec["url"])
    try:
        upgrade(engine)
        caller, tag = Caller.cli_operator(), uuid.uuid4().hex[:8]
        with session_scope(engine) as session:
            org = create_organisation(session, caller, OrganisationCreate(name=f"Scale lab {tag}"))
            dataset = create_dataset(session, caller, DatasetCreate(
                title=f"Scale cohort {tag}", assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC,
                organisation_id=org.id, duo=["GRU"]))
            job = start_ingestion(session, caller, dataset.id, files=[Path(spec["path"])], jobs=spec["workers"])
        started = time.perf_counter()
        job = run_job(engine, job.id, store_root=Path(spec["store"]), chunk_records=spec["chunk_records"])
        seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    if job.state != "succeeded":
        raise SystemExit(f"ingestion {job.id} ended {job.state}: {job.error}")
    return {"seconds": seconds, "records": job.counts["records_read"], "rows": job.counts["variants_written"],
            "chunks": job.counts["chunks"]}


def _run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run([sys.executable, __file__, "_child", kind, json.dumps(spec)], capture_output=True,
                          text=True, cwd=_ROOT, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{done.stderr.strip()[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _cohort(args: argparse.Namespace) -> Path:
    if args.vcf:
        return Path(args.vcf).resolve()
    out = Path(args.workdir) / f"cohort-{args.samples}-{int(float(args.length))}.vcf.gz"
    if not out.exists():
        if not _TOOL.is_file():
            raise SystemExit(f"{_TOOL} is missing: pass --vcf, or run beside ../shared")
        print(f"simulating {args.samples} samples x {float(args.length):,.0f} bp into {out} ...", file=sys.stderr)
        subprocess.run([sys.executable, str(_TOOL), "--samples", str(args.samples), "--length", str(args.length),
                        "--chrom", "chr22", "--contig-length", "50818468", "--seed", "1", "--out", str(out),
                        "--quiet"], check=True, stdout=subprocess.DEVNULL)
    return out


def _spread(values: Sequence[float], fmt: str) -> str:
    if len(values) < 2:
        return format(values[0], fmt)
    return f"{format(statistics.median(values), fmt)} [{format(min(values), fmt)}-{format(max(values), fmt)}]"


def ingest(args: argparse.Namespace) -> int:
    path = _cohort(args)
    workdir = Path(args.workdir)
    rates: dict[str, list[float]] = {"floor": [], "1": [], "2": []}
    chunks_seen: dict[str, int] = {}
    records = 0
    for run in range(args.runs):  # contenders interleaved, so that a noisy minute hurts them alike
        floor = _run_child("floor", {"path": str(path)})
        records = floor["records"]
        rates["floor"].append(floor["records"] / floor["seconds"])
        chunk_records = args.chunk_records or max(records // 8, 1)
        for workers in (1, 2):
            folder = Path(tempfile.mkdtemp(prefix=f"scale-{workers}-", dir=workdir))
            url = args.database_url or f"sqlite:///{folder / 'genomegate.db'}"
            result = _run_child("ingest", {"path": str(path), "url": url, "store": str(folder / "store"),
                                           "workers": workers, "chunk_records": chunk_records})
            if result["records"] != records:
                raise SystemExit(f"the ingest read {result['records']} records, the floor {records}")
            rates[str(workers)].append(result["records"] / result["seconds"])
            chunks_seen[str(workers)] = result["chunks"]
            subprocess.run(["rm", "-rf", str(folder)], check=False)
        print(f"run {run + 1}/{args.runs}: floor {rates['floor'][-1]:,.0f}/s, 1 worker {rates['1'][-1]:,.0f}/s, "
              f"2 workers {rates['2'][-1]:,.0f}/s", file=sys.stderr)
    ratio = [one / floor for one, floor in zip(rates["1"], rates["floor"], strict=True)]
    per_worker_2 = [two / 2 / floor for two, floor in zip(rates["2"], rates["floor"], strict=True)]
    speedup = [two / one for two, one in zip(rates["2"], rates["1"], strict=True)]
    print(f"\nfile: {path.name}, {records:,} records, {path.stat().st_size / 1e6:,.1f} MB; "
          f"{args.runs} run(s), median [min-max]; database: {'given URL' if args.database_url else 'SQLite'}; "
          f"chunks: {chunks_seen.get('2')} ({args.chunk_records or 'records/8'} records each); "
          f"cores: {os.cpu_count()}")
    print(f"{'bare cyvcf2 loop (floor)':<34}{_spread(rates['floor'], ',.0f')} variants/s")
    print(f"{'ingest, 1 worker':<34}{_spread(rates['1'], ',.0f')} variants/s")
    print(f"{'ingest, 2 workers':<34}{_spread(rates['2'], ',.0f')} variants/s")
    print(f"{'1 worker / floor':<34}{_spread(ratio, '.2f')}x  (target >= {TARGET_FLOOR_RATIO}x)")
    print(f"{'2 workers / 2 / floor':<34}{_spread(per_worker_2, '.2f')}x  (per worker)")
    print(f"{'speed-up, 2 workers over 1':<34}{_spread(speedup, '.2f')}x  (target >= {TARGET_SPEEDUP}x)")
    print("note: this machine is shared and noisy; compare figures measured in one run only")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    part = commands.add_parser("ingest", help="a 2,504-sample chromosome with 1 and 2 workers, against the floor")
    part.add_argument("--vcf", help="a bgzipped, indexed genotype VCF to use instead of simulating one")
    part.add_argument("--samples", type=int, default=2504)
    part.add_argument("--length", default="10e6", help="bases of chr22 simulated (default 10 Mb, ~140k records)")
    part.add_argument("--runs", type=int, default=3)
    part.add_argument("--chunk-records", type=int, default=0, help="records per chunk (default: the file's / 8)")
    part.add_argument("--database-url", help="default: a fresh SQLite database per run")
    part.add_argument("--workdir", default=str(Path(tempfile.gettempdir()) / "genomegate-scale"))
    part.set_defaults(run=ingest)
    commands.add_parser("postgres", add_help=False,
                        help="PostgreSQL with 1M, 10M, 100M alleles: ingest, size, query p50/p99, replacement")
    return parser


def _postgres(argv: Sequence[str]) -> int:
    spec = importlib.util.spec_from_file_location("_scale_postgres", _HERE / "_scale_postgres.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    module.main(list(argv))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["postgres"]:
        return _postgres(argv[1:])
    args = _parser().parse_args(argv)
    Path(args.workdir).mkdir(parents=True, exist_ok=True)
    return int(args.run(args))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_child":
        child = {"floor": _child_floor, "ingest": _child_ingest}[sys.argv[2]]
        print(json.dumps(child(json.loads(sys.argv[3]))))
        raise SystemExit(0)
    raise SystemExit(main())
