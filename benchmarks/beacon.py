"""Beacon benchmark: sequence-query latency in-process and over HTTP, beside tabix, bcftools and a trivial endpoint.

Run it from the repository root:

    .venv/bin/python benchmarks/beacon.py                                  # modest: 200 samples x 50,000 variants
    .venv/bin/python benchmarks/beacon.py --samples 2504 --variants 700000 # the issue's full figure

It simulates a cohort and ingests it into a SQLite database as a PUBLIC dataset (both kept in --workdir
for the next run; --fresh ingests again), then measures, on the same thousands of different queries (hits and misses):
in-process `beacon.services.query_variants` per query (a session each, as a request has); pysam tabix
fetches in-process; `bcftools view -H -r` run once per query, one after another; HTTP through
`genomegate serve --workers 2` with `wrk -c32` (a Lua script cycling through the queries), and a trivial
FastAPI endpoint served and driven the same way (uvicorn, 2 workers; wrk cycling through the same query
strings, which it ignores): the stack's ceiling on this machine. Each server gets 2 s of the same load
before its measured run (a fresh server's first requests pay for its start). The HTTP ratio is taken per
round, of the pair measured back to back, and its median printed with the rounds' range.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

# Run as a script, this folder would shadow the project's `ingest` package (benchmarks/ingest.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

__all__ = ["main"]

TARGET_IN_PROCESS_US = 300
TARGET_HTTP_RATIO = 0.5
TARGET_BCFTOOLS_RATIO = 10

_TRIVIAL_APP = '''
from fastapi import FastAPI
app = FastAPI()
@app.get("/beacon")
async def beacon() -> dict:
    return {"meta": {"beaconId": "x", "apiVersion": "v2.0.0", "returnedGranularity": "count"},
            "responseSummary": {"exists": True, "numTotalResults": 1}}
'''


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, timeout: float = 60) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not answer within {timeout} s")


def _cohort(workdir: Path, samples: int, variants: int) -> Path:
    from ingest.synthetic import simulate_cohort

    path = workdir / f"beacon-cohort-{samples}s-{variants}v-seed0.vcf.gz"
    if not path.exists():
        print(f"simulating {samples} samples x {variants} variants -> {path}", flush=True)
        simulate_cohort(path, samples=samples, variants_per_contig=variants, contigs=("1",), seed=0,
                        multiallelic_rate=0.01, indel_rate=0.02, sv_rate=0.002)
    return path


def _runtime(data_dir: Path) -> Any:
    """The runtime of a SQLite catalogue in `data_dir`, its schema migrated to the code's."""
    from catalogue.runtime import build_runtime
    from catalogue.settings import Settings
    from genomegate.schema import upgrade

    runtime = build_runtime(Settings(data_dir=data_dir))
    upgrade(runtime.engine)
    return runtime


def _setup(data_dir: Path, vcf: Path) -> tuple[Any, str]:
    from catalogue.identity import Caller
    from catalogue.models import Assembly, DatasetCreate, DatasetUpdate, OrganisationCreate, SecurityLevel
    from catalogue.services import datasets, registry
    from ingest.services import run_job, start_ingestion

    runtime = _runtime(data_dir)
    settings = runtime.settings
    operator = Caller.cli_operator()
    from sqlmodel import Session

    with Session(runtime.engine, expire_on_commit=False) as session:
        org = registry.create_organisation(session, operator, OrganisationCreate(name="Bench lab"))
        dataset = datasets.create_dataset(session, operator, DatasetCreate(
            title="Bench cohort", assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC, organisation_id=org.id))
        # The lookup path itself, as anonymous callers reach a dataset with the privacy budget off.
        datasets.update_dataset(session, operator, dataset.id, DatasetUpdate(privacy_p=0.0))
        datasets.publish_dataset(session, operator, dataset.id)
        job = start_ingestion(session, operator, dataset.id, files=[vcf])
    started = time.perf_counter()
    job = run_job(runtime.engine, job.id, store_root=settings.store_root)
    print(f"ingested in {time.perf_counter() - started:.1f} s ({job.state})", flush=True)
    return runtime, dataset.id


def _ingested(data_dir: Path, vcf: Path, *, fresh: bool) -> tuple[Any, str]:
    """The cohort ingested into a SQLite catalogue in `data_dir`, kept for the next run (minutes at full size)."""
    marker = data_dir / "benchmark-dataset"
    if fresh or not marker.exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        runtime, dataset_id = _setup(data_dir, vcf)
        marker.write_text(dataset_id)
        return runtime, dataset_id
    runtime = _runtime(data_dir)
    print(f"reusing the catalogue in {data_dir} (--fresh to ingest again)", flush=True)
    return runtime, marker.read_text().strip()


def _queries(runtime: Any, dataset_id: str, n: int, seed: int) -> list[tuple[str, int, str, str]]:
    """(chrom, Beacon start, ref, alt): two thirds hits from the index, one third misses."""
    from sqlalchemy import text

    with runtime.engine.connect() as conn:
        rows = conn.execute(text("SELECT chrom, pos, ref, alt FROM catalogue_variant WHERE dataset_id = :d "
                                 "AND alt NOT LIKE '<%' AND ac > 0"), {"d": dataset_id}).all()
    rng = random.Random(seed)
    out = []
    for chrom, pos, ref, alt in rng.sample(rows, min(n, len(rows))):
        if rng.random() < 1 / 3:
            alt = next(b for b in "ACGT" if b != alt[0])
        out.append((chrom, pos - 1, ref, alt))
    return out


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _in_process(runtime: Any, queries: list[tuple[str, int, str, str]]) -> tuple[float, float]:
    from beacon.privacy.services import Gate, Policy
    from beacon.request import from_query
    from beacon.services import query_variants
    from catalogue.database import session_scope
    from catalogue.identity import Caller

    caller = Caller()
    timings = []
    for round_ in range(2):  # the first round warms caches and statement compilation
        for chrom, start, ref, alt in queries:
            t0 = time.perf_counter()
            with session_scope(runtime.engine) as session:
                request = from_query([("referenceName", chrom), ("start", str(start)), ("referenceBases", ref),
                                      ("alternateBases", alt), ("requestedGranularity", "count")], max_limit=100)
                query_variants(session, caller, request, base_url="http://bench", gate=Gate(None, Policy()))
            if round_:
                timings.append(time.perf_counter() - t0)
    return _percentiles(timings)


def _tabix(vcf: Path, queries: list[tuple[str, int, str, str]]) -> tuple[float, float]:
    import pysam

    timings = []
    with pysam.VariantFile(str(vcf)) as handle:
        for chrom, start, ref, alt in queries:
            t0 = time.perf_counter()
            contig = f"chr{chrom}"
            found = any(r.pos == start + 1 and r.ref == ref and alt in (r.alts or ())
                        for r in handle.fetch(contig, start, start + 1))
            del found
            timings.append(time.perf_counter() - t0)
    return _percentiles(timings)


def _bcftools(vcf: Path, queries: list[tuple[str, int, str, str]], n: int) -> float:
    exe = shutil.which("bcftools")
    if exe is None:
        return float("nan")
    t0 = time.perf_counter()
    for chrom, start, _ref, _alt in queries[:n]:
        subprocess.run([exe, "view", "-H", "-r", f"chr{chrom}:{start + 1}", str(vcf)], check=True,
                       stdout=subprocess.DEVNULL)
    return n / (time.perf_counter() - t0)


def _lua(paths: list[str], script: Path) -> Path:
    """A wrk script cycling through `paths`."""
    listed = ",\n".join(f'"{p}"' for p in paths)
    script.write_text(f"local paths = {{\n{listed}\n}}\nlocal i = 0\n"
                      "request = function()\n  i = i % #paths + 1\n  return wrk.format(\"GET\", paths[i])\nend\n")
    return script


WARM_UP_SECONDS = 2


def _wrk(url: str, script: Path, seconds: int) -> dict[str, float]:
    """wrk's figures for `seconds` of load, after WARM_UP_SECONDS of the same load left unmeasured: a
    fresh server's first requests pay for its start (first page reads of the catalogue, imports, caches)."""
    command = ["wrk", "-t1", "-c32", "--latency", "-s", str(script), url]
    subprocess.run([*command, f"-d{WARM_UP_SECONDS}s"], check=True, capture_output=True)
    out = subprocess.run([*command, f"-d{seconds}s"], check=True, capture_output=True, text=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def ms(label: str) -> float:
        value, unit = re.search(rf"{label}\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": rps, "p50_ms": ms("50%"), "p99_ms": ms("99%"), "errors": float(non_2xx.group(1)) if non_2xx else 0}


def _serve(command: list[str], env: dict[str, str], ready: str) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait(ready)
    except SystemExit:
        process.terminate()
        raise
    return process


def _stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--variants", type=int, default=50_000)
    parser.add_argument("--queries", type=int, default=3_000, help="different queries (HTTP cycles through them)")
    parser.add_argument("--bcftools-queries", type=int, default=100)
    parser.add_argument("--seconds", type=int, default=10, help="duration of each wrk run")
    parser.add_argument("--runs", type=int, default=3, help="rounds; medians are reported")
    parser.add_argument("--workdir", type=Path, default=_HERE / "out")
    parser.add_argument("--fresh", action="store_true", help="ingest again rather than reuse the last run's catalogue")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    vcf = _cohort(args.workdir, args.samples, args.variants)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        runtime, dataset_id = _ingested(args.workdir / f"{vcf.name}.data", vcf, fresh=args.fresh)
        data_dir = Path(runtime.settings.data_dir)
        queries = _queries(runtime, dataset_id, args.queries, seed=1)
        paths = [f"/beacon/v2/g_variants?referenceName={c}&start={s}&referenceBases={r}&alternateBases={a}"
                 f"&requestedGranularity=count" for c, s, r, a in queries]
        script = _lua(paths, Path(tmp) / "queries.lua")
        # The same load generator work for the ceiling: wrk's Lua request() per request, the same query strings.
        trivial_script = _lua([f"/beacon?{p.partition('?')[2]}" for p in paths], Path(tmp) / "trivial.lua")
        trivial = Path(tmp) / "trivial_app.py"
        trivial.write_text(_TRIVIAL_APP)
        env = {**os.environ, "GENOMEGATE_DATA_DIR": str(data_dir), "GENOMEGATE_LOG_LEVEL": "WARNING"}
        exe = Path(sys.executable).with_name("genomegate")
        results: dict[str, list[float]] = {}

        def note(name: str, value: float) -> None:
            results.setdefault(name, []).append(value)

        for run in range(args.runs):
            print(f"round {run + 1}/{args.runs}", flush=True)
            med, p99 = _in_process(runtime, queries)
            note("inproc_p50_us", med * 1e6)
            note("inproc_p99_us", p99 * 1e6)
            med, p99 = _tabix(vcf, queries)
            note("tabix_p50_us", med * 1e6)
            note("tabix_p99_us", p99 * 1e6)
            note("bcftools_qps", _bcftools(vcf, queries, args.bcftools_queries))
            port = _free_port()
            server = _serve([str(exe), "serve", "--workers", "2", "--port", str(port)], env,
                            f"http://127.0.0.1:{port}/beacon/v2/info")
            try:
                http = _wrk(f"http://127.0.0.1:{port}", script, args.seconds)
            finally:
                _stop(server)
            for key, value in http.items():
                note(f"http_{key}", value)
            port = _free_port()
            server = _serve([sys.executable, "-m", "uvicorn", "trivial_app:app", "--workers", "2", "--port", str(port),
                             "--log-level", "warning", "--no-access-log", "--app-dir", tmp], env,
                            f"http://127.0.0.1:{port}/beacon")
            try:
                ceiling = _wrk(f"http://127.0.0.1:{port}", trivial_script, args.seconds)
            finally:
                _stop(server)
            for key, value in ceiling.items():
                note(f"trivial_{key}", value)
            # The ratio of each round's pair: the machine's noise comes and goes over seconds, and a pair
            # measured back to back shares more of it than medians taken apart.
            note("http_ratio", http["rps"] / ceiling["rps"])
            print(f"  HTTP {http['rps']:.0f} q/s, trivial {ceiling['rps']:.0f} q/s: {results['http_ratio'][-1]:.2f}",
                  flush=True)
        runtime.engine.dispose()

    m = {k: statistics.median(v) for k, v in results.items()}
    ratios = results["http_ratio"]
    print()
    print(f"Beacon sequence queries, {args.samples} samples x {args.variants} variants, {len(queries)} different "
          f"queries, median of {args.runs} rounds")
    print(f"  in-process (service layer)  median {m['inproc_p50_us']:8.0f} us   p99 {m['inproc_p99_us']:8.0f} us"
          f"   target median < {TARGET_IN_PROCESS_US} us")
    print(f"  pysam tabix in-process      median {m['tabix_p50_us']:8.0f} us   p99 {m['tabix_p99_us']:8.0f} us")
    print(f"  bcftools view -r per query  {m['bcftools_qps']:8.0f} q/s")
    print(f"  HTTP genomegate serve -w2   {m['http_rps']:8.0f} q/s   median {m['http_p50_ms']:.2f} ms   "
          f"p99 {m['http_p99_ms']:.2f} ms   non-2xx {m['http_errors']:.0f}")
    print(f"  HTTP trivial FastAPI -w2    {m['trivial_rps']:8.0f} q/s   median {m['trivial_p50_ms']:.2f} ms   "
          f"p99 {m['trivial_p99_ms']:.2f} ms")
    print(f"  ratios: HTTP / trivial = {m['http_ratio']:.2f} (rounds {min(ratios):.2f}-{max(ratios):.2f}; target >= "
          f"{TARGET_HTTP_RATIO}); "
          f"HTTP / bcftools = {m['http_rps'] / m['bcftools_qps']:.1f} (target >= {TARGET_BCFTOOLS_RATIO}); "
          f"tabix / in-process median = {m['tabix_p50_us'] / m['inproc_p50_us']:.1f}")


if __name__ == "__main__":
    main()
