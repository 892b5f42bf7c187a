"""Ingest benchmark: GenomeGate's ingest beside a bare cyvcf2 loop over the same simulated cohort.

Run it from the repository root:

    .venv/bin/python benchmarks/ingest.py                      # full sizes: 2,504 samples x 700,000 variants
    .venv/bin/python benchmarks/ingest.py --samples 200 --variants 20000 --runs 1   # smoke run, < 1 minute

Every measured step runs in a child process of its own (this script with a hidden --child option), so
that each peak RSS is that of one ingest alone and nothing is left warm in memory between contenders.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this file's folder comes first on sys.path, and this file (ingest.py) would shadow
# the project's `ingest` package. So the folder is taken off the path here, and project modules are
# imported inside the functions that use them (which also keeps `--help` and the parent process light).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

__all__ = ["main"]

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TARGET_RATIO = 0.7  # ingest variants/s over bare-loop variants/s
TARGET_SPEEDUP = 1.6  # --jobs 2 over --jobs 1, on the multi-chromosome file
TARGET_RSS_MIB = 1024  # peak RSS of an ingest, main process and any worker
ASSEMBLY = "GRCh38"


class BenchError(Exception):
    """The benchmark cannot go on; the message says what failed and what to check."""


# --- child processes: one measured step each -------------------------------------------------------

def _rusage_mib() -> dict[str, float]:
    """Peak RSS (Linux reports KiB) of this process, and of the largest child it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"rss_main_mib": own / 1024, "rss_worker_mib": children / 1024}


def _cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) used so far by this process, and by the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime, children.ru_utime + children.ru_stime


def _child_generate(spec: dict[str, Any]) -> dict[str, Any]:
    from ingest.synthetic import simulate_cohort

    started = time.perf_counter()
    cohort = simulate_cohort(
        spec["path"], samples=spec["samples"], variants_per_contig=spec["per_contig"],
        contigs=tuple(spec["contigs"]), assembly=ASSEMBLY, seed=spec["seed"], fmt="vcf.gz",
    )
    return {"records": cohort.records, "contigs": cohort.contigs, "samples": len(cohort.samples),
            "seconds": time.perf_counter() - started}


def _child_bare(spec: dict[str, Any]) -> dict[str, Any]:
    """The floor: read every record and count AN and AC per ALT from the genotypes, nothing else."""
    import cyvcf2
    import numpy as np

    records = an_total = ac_total = 0
    cpu_before = _cpu_seconds()
    started = time.perf_counter()
    vcf = cyvcf2.VCF(spec["path"])
    for variant in vcf:
        calls = variant.genotype.array()[:, :-1]  # the last column is the phase flag
        an_total += int(np.count_nonzero(calls >= 0))
        for k in range(1, len(variant.ALT) + 1):
            ac_total += int(np.count_nonzero(calls == k))
        records += 1
    vcf.close()
    seconds = time.perf_counter() - started
    cpu_after = _cpu_seconds()
    return {"seconds": seconds, "records": records, "rows": None, "an_total": an_total, "ac_total": ac_total,
            "cpu_main_s": cpu_after[0] - cpu_before[0], "cpu_workers_s": 0.0, **_rusage_mib()}


def _child_ingest(spec: dict[str, Any]) -> dict[str, Any]:
    """The real thing: a migrated database, an organisation and a dataset, then run_job (timed alone)."""
    from catalogue.database import make_engine, session_scope
    from catalogue.identity import Caller
    from catalogue.models import DatasetCreate, OrganisationCreate
    from catalogue.services.datasets import create_dataset
    from catalogue.services.registry import create_organisation
    from genomegate.schema import upgrade
    from ingest.services import run_job, start_ingestion

    engine = make_engine(spec["url"])
    try:
        upgrade(engine)
        caller = Caller.cli_operator()
        tag = uuid.uuid4().hex[:8]
        with session_scope(engine) as session:
            org = create_organisation(session, caller, OrganisationCreate(name=f"Benchmark lab {tag}"))
            dataset = create_dataset(session, caller, DatasetCreate(
                title=f"Benchmark cohort {tag}", assembly=ASSEMBLY, security="PUBLIC", organisation_id=org.id,
                duo=["GRU"]))
            job = start_ingestion(session, caller, dataset.id, files=[Path(spec["path"])], jobs=spec["jobs"])
        before = _rusage_mib()["rss_main_mib"]
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        job = run_job(engine, job.id, store_root=Path(spec["store"]))
        seconds = time.perf_counter() - started
        cpu_after = _cpu_seconds()
    finally:
        engine.dispose()
    if job.state != "succeeded":
        raise BenchError(f"ingestion {job.id} ended {job.state}: {job.error}")
    counts = job.counts
    if counts.get("files_ingested") != 1:
        raise BenchError(f"ingestion {job.id} skipped the file ({job.warnings}); the dataset was not fresh")
    return {"seconds": seconds, "records": counts["records_read"], "rows": counts["variants_written"],
            "rss_before_mib": before, "cpu_main_s": cpu_after[0] - cpu_before[0],
            "cpu_workers_s": cpu_after[1] - cpu_before[1], **_rusage_mib()}


_CHILDREN: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "generate": _child_generate, "bare": _child_bare, "ingest": _child_ingest,
}


def _child_main(raw_spec: str) -> int:
    spec = json.loads(raw_spec)
    result = _CHILDREN[spec["kind"]](spec)
    Path(spec["out"]).write_text(json.dumps(result))
    return 0


# --- the parent: cohorts, databases, rounds --------------------------------------------------------

def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _child_command(spec: dict[str, Any]) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", json.dumps(spec)]


def _result_path(workdir: Path) -> Path:
    (workdir / "tmp").mkdir(parents=True, exist_ok=True)
    return workdir / "tmp" / f"result-{uuid.uuid4().hex}.json"


def _collect(proc: subprocess.Popen[bytes], out: Path, what: str) -> dict[str, Any]:
    code = proc.wait()
    if code != 0 or not out.exists():
        raise BenchError(f"{what}: the child process failed (exit code {code}); its traceback is above")
    result: dict[str, Any] = json.loads(out.read_text())
    out.unlink()
    return result


def _run_child(spec: dict[str, Any], workdir: Path, what: str) -> dict[str, Any]:
    out = _result_path(workdir)
    proc = subprocess.Popen(_child_command({**spec, "out": str(out)}))
    return _collect(proc, out, what)


@dataclass(frozen=True, slots=True)
class Cohort:
    role: str  # "single" (one chromosome) or "multi" (several, for --jobs)
    path: Path
    contigs: list[str]
    records: int
    samples: int
    size: int
    reused: bool
    seconds: float | None


def _cohort_name(samples: int, per_contig: int, contigs: Sequence[str], seed: int) -> str:
    return f"cohort-{samples}s-{len(contigs)}x{per_contig}v-seed{seed}.vcf.gz"


def prepare_cohorts(workdir: Path, wanted: dict[str, tuple[int, int, list[str]]], seed: int) -> dict[str, Cohort]:
    """Reuse the cached cohorts of these sizes, or simulate the missing ones (concurrently, one process each)."""
    workdir.mkdir(parents=True, exist_ok=True)
    cohorts: dict[str, Cohort] = {}
    running: list[tuple[str, Path, Path, subprocess.Popen[bytes], Path]] = []
    for role, (samples, per_contig, contigs) in wanted.items():
        path = workdir / _cohort_name(samples, per_contig, contigs, seed)
        sidecar = path.with_name(path.name + ".json")
        # The sidecar is written last, so a cohort whose generation was interrupted is never reused.
        if sidecar.exists() and path.exists() and Path(f"{path}.tbi").exists():
            meta = json.loads(sidecar.read_text())
            cohorts[role] = Cohort(role, path, meta["contigs"], meta["records"], meta["samples"],
                                   path.stat().st_size, True, None)
            continue
        partial = path.with_name(f"partial-{path.name}")
        _log(f"simulating {samples:,} samples x {per_contig:,} variants x {len(contigs)} contig(s) -> {path.name}")
        out = _result_path(workdir)
        spec = {"kind": "generate", "path": str(partial), "samples": samples, "per_contig": per_contig,
                "contigs": contigs, "seed": seed, "out": str(out)}
        running.append((role, path, partial, subprocess.Popen(_child_command(spec)), out))
    for role, path, partial, proc, out in running:
        meta = _collect(proc, out, f"simulating {path.name}")
        os.replace(f"{partial}.tbi", f"{path}.tbi")
        os.replace(partial, path)
        os.utime(f"{path}.tbi")  # the index must not look older than the file it indexes
        path.with_name(path.name + ".json").write_text(json.dumps(meta))
        _log(f"simulated {path.name}: {meta['records']:,} records in {meta['seconds']:.0f} s")
        cohorts[role] = Cohort(role, path, meta["contigs"], meta["records"], meta["samples"], path.stat().st_size,
                               False, meta["seconds"])
    return cohorts


class Postgres:
    """Throw-away databases on a PostgreSQL server: one per measured ingest, all dropped at the end."""

    def __init__(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        self.url = make_url(url)
        self.created: list[str] = []

    def _admin(self) -> Any:
        import psycopg

        url = self.url
        return psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, password=url.password,
                               dbname=url.database, autocommit=True, connect_timeout=5)

    def server_version(self) -> str | None:
        """The server's version, or None when it does not answer."""
        try:
            with self._admin() as conn:
                row = conn.execute("SHOW server_version").fetchone()
                return str(row[0]) if row else "?"
        except Exception as exc:  # any failure to connect means "skip PostgreSQL"
            _log(f"PostgreSQL at {self.url.render_as_string(hide_password=True)} is not answering: {exc}".strip())
            return None

    def create(self) -> str:
        name = f"gg_bench_{uuid.uuid4().hex[:12]}"
        with self._admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.created.append(name)
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        from sqlalchemy.engine import make_url

        name = make_url(url).database
        with self._admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.remove(str(name))

    def drop_all(self) -> None:
        with self._admin() as conn:
            for name in self.created:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.created.clear()


@dataclass(slots=True)
class Contender:
    key: str
    label: str
    cohort: str  # "single" or "multi"
    kind: str  # "bare" or "ingest"
    backend: str | None = None  # "sqlite" or "postgres"
    jobs: int = 1
    results: list[dict[str, Any]] = field(default_factory=list)


def _remove_sqlite(path: Path) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)


def measure(contender: Contender, cohort: Cohort, workdir: Path, postgres: Postgres | None,
            round_no: int) -> dict[str, Any]:
    """One run of one contender in a child process, on a fresh database for an ingest."""
    spec: dict[str, Any] = {"kind": contender.kind, "path": str(cohort.path)}
    if contender.kind == "bare":
        return _run_child(spec, workdir, contender.label)
    spec.update(jobs=contender.jobs, store=str(workdir / "store"))
    if contender.backend == "sqlite":
        db = workdir / "sqlite" / f"{contender.key}-{round_no}.db"
        db.parent.mkdir(parents=True, exist_ok=True)
        _remove_sqlite(db)
        try:
            return _run_child({**spec, "url": f"sqlite:///{db}"}, workdir, contender.label)
        finally:
            _remove_sqlite(db)
    assert postgres is not None
    url = postgres.create()
    try:
        return _run_child({**spec, "url": url}, workdir, contender.label)
    finally:
        postgres.drop(url)


def _warm_page_cache(paths: Sequence[Path]) -> None:
    """Read each file once, so the first contender of round one does not pay for the disk alone."""
    for path in paths:
        with path.open("rb") as handle:
            while handle.read(1 << 22):
                pass


def _rate(result: dict[str, Any]) -> float:
    return float(result["records"]) / float(result["seconds"])


# --- the report --------------------------------------------------------------------------------------

def _spread(values: Sequence[float], fmt: str) -> str:
    if len(values) < 2:
        return "-"
    return f"{format(min(values), fmt)}–{format(max(values), fmt)}"


def _verdict(ok: bool | None) -> str:
    return {True: "[green]met[/]", False: "[red]missed[/]", None: "-"}[ok]


def _machine_facts(pg_version: str | None) -> list[tuple[str, str]]:
    import sqlite3
    from importlib.metadata import version

    import cyvcf2
    import numpy
    import pysam

    cpu = platform.processor() or "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        total_kib = int(next(line for line in Path("/proc/meminfo").read_text().splitlines()
                             if line.startswith("MemTotal")).split()[1])
        memory = f"{total_kib / 1024 / 1024:.1f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return [
        ("nproc", f"{usable} usable ({os.cpu_count()} online), {cpu}, {memory} RAM"),
        ("python", f"{platform.python_version()} ({sys.executable})"),
        ("genomegate", version("genomegate")),
        ("cyvcf2 / pysam / htslib", f"{cyvcf2.__version__} / {pysam.__version__} / {pysam.version.__htslib_version__}"),
        ("numpy / SQLite", f"{numpy.__version__} / {sqlite3.sqlite_version}"),
        ("PostgreSQL server", pg_version or "not reached (skipped)"),
        ("OS", platform.platform()),
    ]


def report(cohorts: dict[str, Cohort], contenders: list[Contender], facts: list[tuple[str, str]],
           runs: int, load: tuple[tuple[float, ...], tuple[float, ...]], notes: list[str]) -> dict[str, Any]:
    """Print the tables; return the same figures as a dict (for --json)."""
    from rich.console import Console
    from rich.table import Table

    console = Console(width=150)
    summary: dict[str, Any] = {"cohorts": {}, "contenders": {}, "targets": {}, "machine": dict(facts)}

    table = Table(title="Cohorts (simulated with ingest.synthetic.simulate_cohort)", title_justify="left")
    for column in ("file", "contigs", "records", "samples", "size", "made"):
        table.add_column(column, justify="left" if column in ("file", "made") else "right")
    for cohort in cohorts.values():
        made = "reused from cache" if cohort.reused else f"simulated in {cohort.seconds or 0:.0f} s"
        table.add_row(cohort.path.name, str(len(cohort.contigs)), f"{cohort.records:,}", f"{cohort.samples:,}",
                      f"{cohort.size / 1e6:,.0f} MB", made)
        summary["cohorts"][cohort.role] = {"path": str(cohort.path), "contigs": cohort.contigs,
                                           "records": cohort.records, "samples": cohort.samples, "size": cohort.size}
    console.print(table)

    table = Table(title=f"Throughput and memory: median of {runs} run(s) (min–max), contenders alternated "
                        "in each round", title_justify="left")
    for column in ("contender", "file", "seconds", "variants/s", "spread", "CPU s", "rows written",
                   "peak RSS main", "peak RSS worker"):
        table.add_column(column, justify="left" if column in ("contender", "file") else "right")
    for c in contenders:
        if not c.results:
            continue
        rates = [_rate(r) for r in c.results]
        seconds = [float(r["seconds"]) for r in c.results]
        cpu = [float(r["cpu_main_s"]) + float(r["cpu_workers_s"]) for r in c.results]
        rows = {r["rows"] for r in c.results}
        main_rss = max(float(r["rss_main_mib"]) for r in c.results)
        worker_rss = max(float(r["rss_worker_mib"]) for r in c.results)
        table.add_row(
            c.label, f"{len(cohorts[c.cohort].contigs)} chr", f"{statistics.median(seconds):,.1f}",
            f"{statistics.median(rates):,.0f}", _spread(rates, ",.0f"), f"{statistics.median(cpu):,.1f}",
            "-" if rows == {None} else ", ".join(f"{n:,}" for n in sorted(rows)),
            f"{main_rss:,.0f} MiB", f"{worker_rss:,.0f} MiB" if c.jobs > 1 else "-",
        )
        summary["contenders"][c.key] = {"label": c.label, "cohort": c.cohort, "runs": c.results,
                                        "median_variants_per_s": statistics.median(rates),
                                        "median_seconds": statistics.median(seconds)}
    console.print(table)

    by_key = {c.key: c for c in contenders if c.results}
    table = Table(title="Against the targets", title_justify="left")
    for column in ("figure", "value", "per-round spread", "target", ""):
        table.add_column(column, justify="left" if column in ("figure", "") else "right")

    def paired(num: str, den: str, of: Callable[[dict[str, Any]], float]) -> tuple[float, list[float]] | None:
        if num not in by_key or den not in by_key:
            return None
        a, b = by_key[num].results, by_key[den].results
        ratio = statistics.median(of(r) for r in a) / statistics.median(of(r) for r in b)
        return ratio, [of(x) / of(y) for x, y in zip(a, b, strict=True)]

    rows: list[tuple[str, str, tuple[float, list[float]] | None, float, bool]] = [
        ("ingest / bare loop, SQLite", "ratio_sqlite", paired("sqlite", "bare", _rate), TARGET_RATIO, True),
        ("ingest / bare loop, PostgreSQL", "ratio_postgres", paired("postgres", "bare", _rate), TARGET_RATIO, True),
        ("--jobs 2 speed-up over --jobs 1 (SQLite, multi-chromosome)", "speedup_jobs2",
         paired("jobs2", "jobs1", _rate), TARGET_SPEEDUP, True),
    ]
    for label, key, value, target, higher in rows:
        if value is None:
            table.add_row(label, "not measured", "-", f">= {target}", "-")
            continue
        median, per_round = value
        ok = median >= target if higher else median < target
        # Two decimals, or three when two would round a miss up to the target itself (0.697 -> "0.70").
        digits = ".3f" if format(median, ".2f") == format(target, ".2f") else ".2f"
        table.add_row(label, format(median, digits), _spread(per_round, ".2f"), f">= {target}", _verdict(ok))
        summary["targets"][key] = {"value": median, "per_round": per_round, "target": target, "met": ok}
    ingests = [r for c in contenders if c.kind == "ingest" for r in c.results]
    if ingests:
        peak = max(max(float(r["rss_main_mib"]), float(r["rss_worker_mib"])) for r in ingests)
        where = max(((c.label, max(float(r["rss_main_mib"]), float(r["rss_worker_mib"])))
                     for c in contenders if c.kind == "ingest" for r in c.results), key=lambda t: t[1])[0]
        ok = peak < TARGET_RSS_MIB
        table.add_row(f"peak RSS of any ingest process ({where})", f"{peak:,.0f} MiB", "-",
                      f"< {TARGET_RSS_MIB:,} MiB", _verdict(ok))
        summary["targets"]["peak_rss_mib"] = {"value": peak, "target": TARGET_RSS_MIB, "met": ok}
    console.print(table)

    console.print("[bold]Machine[/]")
    for name, value in facts:
        console.print(f"  {name:<24} {value}")
    console.print(f"  {'load average':<24} {' '.join(f'{x:.2f}' for x in load[0])} at the start, "
                  f"{' '.join(f'{x:.2f}' for x in load[1])} at the end")
    console.print(
        "\n[bold yellow]Note:[/] this machine is shared and noisy: expect ±30% run to run. Compare figures measured "
        "side by side in one run (the ratios above), not absolute figures across runs or machines.")
    console.print(
        "variants/s = VCF records read / seconds. Ingest time is run_job alone (store copy + checksums, reading, "
        "normalising, writing, statistics, commit); migrating and creating the dataset are not timed. "
        "Peak RSS is ru_maxrss of the child process that ran the step (imports included); 'worker' is the largest "
        "--jobs worker process (RUSAGE_CHILDREN). CPU s = user + system seconds of the main process and its "
        "workers over the timed part: close to the wall time when nothing else competes for the cores.")
    for note in notes:
        console.print(f"[yellow]![/] {note}")
    return summary


# --- entry point -------------------------------------------------------------------------------------

def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="benchmarks/ingest.py",
        description="Measure GenomeGate's ingest (SQLite, PostgreSQL, --jobs 2) against a bare cyvcf2 loop over "
                    "the same simulated cohort; print variants/s, ratios against the targets and peak RSS.",
        epilog="Smoke run: --samples 200 --variants 20000 --runs 1. PostgreSQL comes from "
               f"GENOMEGATE_TEST_POSTGRES_URL (default {DEFAULT_POSTGRES_URL}); it is skipped with a note when it "
               "does not answer.",
    )
    parser.add_argument("--samples", type=int, default=2504, help="samples in the cohort (default: 2504)")
    parser.add_argument("--variants", type=int, default=700_000,
                        help="variants in each file: on one chromosome for the single-job figures, split evenly "
                             "over --contigs chromosomes for the --jobs comparison (default: 700000)")
    parser.add_argument("--contigs", type=int, default=4,
                        help="chromosomes in the multi-chromosome file for the --jobs comparison (default: 4)")
    parser.add_argument("--runs", type=int, default=3, help="rounds; each round runs every contender once (default: 3)")
    parser.add_argument("--workdir", type=Path, default=Path("benchmarks/out"),
                        help="cache of cohorts, databases and the store (default: benchmarks/out, git-ignored)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulation (default: 0)")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL ingest")
    parser.add_argument("--no-jobs", action="store_true", help="skip the --jobs 2 vs --jobs 1 comparison")
    parser.add_argument("--json", type=Path, metavar="PATH", help="also write every figure and run to PATH as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.child:
        return _child_main(args.child)
    if args.samples < 1 or args.variants < 1 or args.runs < 1 or args.contigs < 1:
        _parser().error("--samples, --variants, --runs and --contigs must be at least 1")
    workdir: Path = args.workdir.resolve()
    load_start = os.getloadavg()
    notes: list[str] = []

    wanted = {"single": (args.samples, args.variants, ["1"])}
    do_jobs = not args.no_jobs and args.contigs >= 2
    if not args.no_jobs and args.contigs < 2:
        notes.append("--jobs comparison skipped: it needs --contigs 2 or more (jobs split the work by chromosome)")
    if do_jobs:
        wanted["multi"] = (args.samples, args.variants // args.contigs, [str(i + 1) for i in range(args.contigs)])
    cohorts = prepare_cohorts(workdir, wanted, args.seed)

    postgres: Postgres | None = None
    pg_version: str | None = None
    if not args.no_postgres:
        postgres = Postgres(os.environ.get("GENOMEGATE_TEST_POSTGRES_URL", DEFAULT_POSTGRES_URL))
        pg_version = postgres.server_version()
        if pg_version is None:
            notes.append("PostgreSQL skipped: the server did not answer (set GENOMEGATE_TEST_POSTGRES_URL)")
            postgres = None

    contenders = [Contender("bare", "bare cyvcf2 loop, AC/AN", "single", "bare"),
                  Contender("sqlite", "ingest, SQLite, --jobs 1", "single", "ingest", "sqlite")]
    if postgres is not None:
        contenders.append(Contender("postgres", "ingest, PostgreSQL, --jobs 1", "single", "ingest", "postgres"))
    if do_jobs:
        contenders += [Contender("jobs1", "ingest, SQLite, --jobs 1", "multi", "ingest", "sqlite", 1),
                       Contender("jobs2", "ingest, SQLite, --jobs 2", "multi", "ingest", "sqlite", 2)]

    _warm_page_cache([c.path for c in cohorts.values()])
    try:
        for round_no in range(args.runs):
            shift = round_no % len(contenders)  # a different contender goes first in each round
            for contender in contenders[shift:] + contenders[:shift]:
                cohort = cohorts[contender.cohort]
                result = measure(contender, cohort, workdir, postgres, round_no)
                result["load_after"] = os.getloadavg()[0]
                contender.results.append(result)
                if result["records"] != cohort.records:
                    notes.append(f"{contender.label}: read {result['records']:,} records of {cohort.records:,}")
                _log(f"round {round_no + 1}/{args.runs}  {contender.label} [{contender.cohort}]: "
                     f"{result['seconds']:.1f} s, {_rate(result):,.0f} variants/s, "
                     f"CPU {result['cpu_main_s'] + result['cpu_workers_s']:.1f} s, "
                     f"peak RSS {result['rss_main_mib']:,.0f} MiB (worker {result['rss_worker_mib']:,.0f} MiB), "
                     f"load {result['load_after']:.2f}")
    finally:
        if postgres is not None:
            postgres.drop_all()
        shutil.rmtree(workdir / "tmp", ignore_errors=True)

    loads = [float(r["load_after"]) for c in contenders for r in c.results]
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    if loads and max(loads) > cores:
        notes.append(f"the machine was busy: the 1-minute load average after a run reached {max(loads):.2f} "
                     f"(median {statistics.median(loads):.2f}) on {cores} cores, so other processes took CPU from "
                     "the contenders; --jobs 2 needs idle cores, compare its CPU s with --jobs 1's")
    shortest = min((float(r["seconds"]) for c in contenders for r in c.results), default=0.0)
    if shortest < 10:
        notes.append(f"the shortest run took {shortest:.1f} s: at these sizes fixed costs (store copy, statistics, "
                     "commit, worker start-up) weigh on the figures; judge the targets on the default sizes")
    summary = report(cohorts, contenders, _machine_facts(pg_version), args.runs, (load_start, os.getloadavg()),
                     notes)
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except BenchError as exc:
        print(f"benchmarks/ingest.py: {exc}", file=sys.stderr)
        sys.exit(1)
