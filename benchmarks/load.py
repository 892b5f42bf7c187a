"""Load benchmark: mixed traffic from 64 connections against `genomegate serve --workers 2`, latency per route.

Run it from the repository root:

    .venv/bin/python benchmarks/load.py                      # SQLite, 30 s of load
    .venv/bin/python benchmarks/load.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres

It sets up a node in a fresh data directory with the demo (`genomegate demo` with the example data) plus a
researcher entitled to the controlled cohort (the one with genotypes) and a draft dataset for a steward's
ingestions. With `--database-url` naming a PostgreSQL server, a throw-away `gg_load_...` database is made
there and dropped afterwards. The node is served by `genomegate serve --workers 2` and driven for
`--seconds` (after 2 s of the same load, unmeasured) by `--connections` concurrent loops of an async httpx
client, each picking its next request from the mix:

    beacon anon     g_variants sequence query, anonymous (counts of the sites-only dataset)
    beacon signed   the same queries, signed in as one of --accounts users (role lookup, privacy budget)
    beacon record   a range query at record granularity by the entitled researcher (genotypes read with pysam)
    search          /api/datasets?q=...
    me              /api/me, signed in as one of those users
    healthz         /healthz

and one more loop, a steward asking for an ingestion (`POST /api/datasets/{id}/ingestions`) every 3 s,
while the first of them (a simulated cohort, `--ingest-variants`) runs. It prints, per route: requests,
responses by status (503s apart: deliberate load shedding), p50, p99 and max latency.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Run as a script, this folder would shadow the project's `ingest` package (benchmarks/ingest.py).
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]

__all__ = ["main"]

WARM_UP_SECONDS = 2
STEWARD_EVERY = 3.0
TARGET_MAX_S = 2.0
TARGET_ME_P99_MS = 50.0
# route -> weight in the mix
MIX = {"beacon anon": 30, "beacon signed": 25, "beacon record": 5, "search": 15, "me": 15, "healthz": 10}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _run(*command: str, env: dict[str, str]) -> str:
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def _examples(workdir: Path) -> Path:
    folder = workdir / "load-examples"
    if not (folder / "controlled_cohort.bcf").exists():
        _run(sys.executable, str(_HERE.parent / "examples" / "make_example_data.py"), str(folder), env=dict(os.environ))
    return folder


def _ingest_cohort(workdir: Path, variants: int) -> Path:
    from ingest.synthetic import simulate_cohort

    path = workdir / f"load-cohort-200s-{variants}v.vcf.gz"
    if not path.exists():
        print(f"simulating the steward's cohort: 200 samples x {variants} variants -> {path}", flush=True)
        simulate_cohort(path, samples=200, variants_per_contig=variants, contigs=("3",), seed=3)
    return path


def _postgres_database(server_url: str) -> tuple[str, str]:
    """A fresh database on the server of `server_url`: (its URL, its name)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"gg_load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return make_url(server_url).set(database=name).render_as_string(hide_password=False), name


def _drop_postgres(server_url: str, name: str) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(make_url(server_url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@dataclass(slots=True)
class Node:
    env: dict[str, str]
    tokens: dict[str, str]
    accounts: list[str]  # tokens of the signed-in Beacon callers (one organisation each)
    controlled: str
    target: str
    ingest_file: str
    queries: list[str]
    record_query: str


def _node(data_dir: Path, database_url: str, examples: Path, cohort: Path, accounts: int) -> Node:
    """Migrate, seed the demo, entitle the researcher to the controlled cohort, make the steward's dataset."""
    env = {**os.environ, "GENOMEGATE_DATA_DIR": str(data_dir), "GENOMEGATE_LOG_LEVEL": "WARNING"}
    if database_url:
        env["GENOMEGATE_DATABASE_URL"] = database_url
    exe = str(Path(sys.executable).with_name("genomegate"))
    _run(exe, "db", "upgrade", env=env)
    _run(exe, "demo", "--examples", str(examples), env=env)
    (data_dir / "import").mkdir(parents=True, exist_ok=True)
    shutil.copy(cohort, data_dir / "import" / cohort.name)

    from datetime import timedelta

    from sqlalchemy import text
    from sqlmodel import Session, select

    from access.models import AccessRequest, AccessRequestDataset, Entitlement
    from catalogue.accessions import next_accession
    from catalogue.identity import Caller
    from catalogue.models import Assembly, Dataset, DatasetCreate, Organisation, SecurityLevel, utcnow
    from catalogue.runtime import build_runtime
    from catalogue.services import datasets
    from catalogue.settings import Settings
    from genomegate.demo import DEMO_USERS

    runtime = build_runtime(Settings(data_dir=data_dir, database_url=database_url))
    researcher, steward = DEMO_USERS["researcher"], DEMO_USERS["steward"]
    with Session(runtime.engine, expire_on_commit=False) as session:
        controlled = session.exec(select(Dataset).where(Dataset.title == "Demo cardiomyopathy cohort")).one()
        org = session.exec(select(Organisation)).first()
        assert org is not None and controlled.dac_id is not None
        request = AccessRequest(id=next_accession(session, "GGR"), applicant=researcher, dac_id=controlled.dac_id,
                                state="approved", project_title="Load benchmark", purpose=["DUO:0000042"])
        session.add(request)
        session.flush()
        session.add(AccessRequestDataset(request_id=request.id, dataset_id=controlled.id))
        session.add(Entitlement(subject=researcher, dataset_id=controlled.id, request_id=request.id, start=utcnow(),
                                end=utcnow() + timedelta(days=30), granted_by=DEMO_USERS["dac"]))
        session.commit()
        target = datasets.create_dataset(session, Caller.cli_operator(), DatasetCreate(
            title="Load benchmark ingestions", assembly=Assembly.GRCh38, security=SecurityLevel.PUBLIC,
            organisation_id=org.id))
        rows = session.execute(text("SELECT chrom, pos, ref, alt FROM catalogue_variant WHERE alt NOT LIKE '<%' "
                                    "AND ac > 0 ORDER BY dataset_id, chrom, pos")).all()
    rng = random.Random(7)
    queries = [f"/beacon/v2/g_variants?referenceName={c}&start={p - 1}&referenceBases={r}&alternateBases={a}"
               f"&requestedGranularity=boolean" for c, p, r, a in rng.sample(list(rows), min(60, len(rows)))]
    record = (f"/beacon/v2/datasets/{controlled.id}/g_variants?referenceName=21&start=0&end=2000000"
              "&requestedGranularity=record&limit=100")
    assert runtime.issuer is not None
    tokens = {label: runtime.issuer.issue(subject, email=subject) for label, subject in
              (("researcher", researcher), ("steward", steward))}
    # Each in an organisation of its own: an organisation's accounts share one privacy budget (one ledger row).
    others = [runtime.issuer.issue(f"user{i}@org{i}.example", email=f"user{i}@org{i}.example") for i in range(accounts)]
    runtime.engine.dispose()
    return Node(env, tokens, others or [tokens["researcher"]], controlled.id, target.id, cohort.name, queries, record)


@dataclass(slots=True)
class Tally:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))  # answered, not shed
    shed_latencies: list[float] = field(default_factory=list)  # how fast the 503s came
    statuses: dict[str, Counter[str]] = field(default_factory=lambda: defaultdict(Counter))
    measuring: bool = False
    in_flight: int = 0
    outstanding: int = 0  # requests sent and not yet answered when the measured window closed

    def note(self, route: str, status: str, seconds: float) -> None:
        if self.measuring:
            (self.shed_latencies if status == "503" else self.latencies[route]).append(seconds)
            self.statuses[route][status] += 1


async def _drive(base: str, node: Node, connections: int, seconds: float, *, ingest: bool = True) -> Tally:
    import httpx

    tally = Tally()
    researcher = {"Authorization": f"Bearer {node.tokens['researcher']}"}
    steward = {"Authorization": f"Bearer {node.tokens['steward']}"}
    routes, weights = list(MIX), list(MIX.values())
    terms = ["cohort", "population", "demo", "cardiomyopathy", "allele", "nothing-matches"]
    stop = asyncio.Event()

    async def timed(client: httpx.AsyncClient, route: str, method: str, url: str, **kwargs: Any) -> None:
        started = time.perf_counter()
        retry_after = 0.0
        tally.in_flight += 1
        try:
            response = await client.request(method, url, **kwargs)
            status = str(response.status_code)
            if response.status_code == 503:  # shed: wait as told (at most 1 s), as a well-behaved client does
                retry_after = min(float(response.headers.get("retry-after", "1")), 1.0)
        except httpx.TimeoutException:
            status = "timeout"
        except httpx.HTTPError as exc:
            status = type(exc).__name__
        finally:
            tally.in_flight -= 1
        tally.note(route, status, time.perf_counter() - started)
        if retry_after:
            await asyncio.sleep(retry_after)

    def client() -> httpx.AsyncClient:
        # One connection per loop, as wrk's: it is never left idle past the server's keep-alive timeout.
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        return httpx.AsyncClient(base_url=base, limits=limits, timeout=httpx.Timeout(60.0))

    async def loop(seed: int) -> None:
        async with client() as http:
            await requests(http, seed)

    async def requests(client: httpx.AsyncClient, seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            route = rng.choices(routes, weights)[0]
            if route == "beacon anon":
                await timed(client, route, "GET", rng.choice(node.queries))
            elif route == "beacon signed":
                await timed(client, route, "GET", rng.choice(node.queries),
                            headers={"Authorization": f"Bearer {rng.choice(node.accounts)}"})
            elif route == "beacon record":
                await timed(client, route, "GET", node.record_query, headers=researcher)
            elif route == "search":
                await timed(client, route, "GET", f"/api/datasets?q={rng.choice(terms)}")
            elif route == "me":
                await timed(client, route, "GET", "/api/me",
                            headers={"Authorization": f"Bearer {rng.choice(node.accounts)}"})
            else:
                await timed(client, route, "GET", "/healthz")

    async def stewarding() -> None:
        async with client() as http:
            await ingestions(http)

    async def ingestions(client: httpx.AsyncClient) -> None:
        while not stop.is_set():
            await timed(client, "steward ingest", "POST", f"/api/datasets/{node.target}/ingestions",
                        headers=steward, json={"files": [node.ingest_file]})
            try:
                await asyncio.wait_for(stop.wait(), STEWARD_EVERY)
            except TimeoutError:
                pass

    tasks = [asyncio.create_task(loop(i)) for i in range(connections)]
    if ingest:
        tasks.append(asyncio.create_task(stewarding()))
    await asyncio.sleep(WARM_UP_SECONDS)
    tally.measuring = True
    await asyncio.sleep(seconds)
    tally.measuring = False
    tally.outstanding = tally.in_flight
    stop.set()
    await asyncio.gather(*tasks)
    return tally


def _unloaded(base: str, node: Node, n: int = 20) -> dict[str, float]:
    """Median latency of each route alone (one request at a time): what a request costs the server."""
    import httpx

    signed = {"Authorization": f"Bearer {node.tokens['researcher']}"}
    requests = {"beacon anon": (node.queries[0], {}), "beacon signed": (node.queries[1], signed),
                "beacon record": (node.record_query, signed), "search": ("/api/datasets?q=cohort", {}),
                "me": ("/api/me", signed), "healthz": ("/healthz", {})}
    medians = {}
    with httpx.Client(base_url=base, timeout=60) as client:
        for route, (url, headers) in requests.items():
            times = []
            for _ in range(n):
                started = time.perf_counter()
                client.get(url, headers=headers).raise_for_status()
                times.append(time.perf_counter() - started)
            medians[route] = statistics.median(times)
    return medians


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


def _stop(server: subprocess.Popen[bytes]) -> None:
    """Stop the server and its workers (a worker stuck on a pool may outlive its parent's SIGTERM)."""
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(server.pid, signal.SIGKILL)  # whatever of the group is left
    except ProcessLookupError:
        pass
    server.wait()


def _report(tally: Tally, seconds: float, label: str) -> dict[str, Any]:
    print()
    print(f"{label}: {seconds:.0f} s measured")
    print("  (latencies of the answered requests; 503s, shed at once, apart; a client waits its Retry-After)")
    print(f"  {'route':<15} {'requests':>8} {'answered/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}  statuses")
    summary: dict[str, Any] = {}
    for route in [*MIX, "steward ingest"]:
        statuses = tally.statuses.get(route, Counter())
        if not statuses:
            continue
        times = sorted(tally.latencies.get(route, [])) or [float("nan")]
        p50, p99 = statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]
        shown = ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items()))
        answered = sum(statuses.values()) - statuses.get("503", 0)
        print(f"  {route:<15} {sum(statuses.values()):>8} {answered / seconds:>10.0f} {p50 * 1e3:>8.1f} "
              f"{p99 * 1e3:>8.1f} {times[-1] * 1e3:>8.1f}  {shown}")
        summary[route] = {"requests": sum(statuses.values()), "p50": p50, "p99": p99, "max": times[-1],
                          "statuses": dict(statuses)}
    if tally.shed_latencies:
        shed_times = sorted(tally.shed_latencies)
        print(f"  503s answered in: median {statistics.median(shed_times) * 1e3:.1f} ms, "
              f"max {shed_times[-1] * 1e3:.1f} ms")
    failures = sum(n for s in tally.statuses.values() for code, n in s.items()
                   if code != "503" and not (code.isdigit() and int(code) < 500))
    shed = sum(s.get("503", 0) for s in tally.statuses.values())
    slowest = max((max(v) for v in tally.latencies.values()), default=float("nan"))
    me = summary.get("me", {}).get("p99", float("nan")) * 1e3
    print(f"  responses >= 500 other than 503, and transport errors: {failures} (target 0); deliberate 503s: {shed}")
    print(f"  requests still unanswered when the window closed: {tally.outstanding} (not in the figures above)")
    print(f"  slowest request {slowest:.2f} s (target < {TARGET_MAX_S:.0f} s); /api/me p99 {me:.1f} ms "
          f"(target < {TARGET_ME_P99_MS:.0f} ms)")
    return summary


def _logged(log: Path) -> None:
    """The errors the server logged, by their exception's last line (JSON log lines, one per event)."""
    import json

    errors: Counter[str] = Counter()
    for line in log.read_text().splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            if "Error" in line:
                errors[line.strip()[:160]] += 1
            continue
        if isinstance(event, dict) and event.get("level") in ("error", "critical"):
            last = (event.get("exception") or event.get("message") or "").strip().splitlines()
            errors[(last[-1] if last else "?")[:160]] += 1
    for message, n in errors.most_common(5):
        print(f"  server log: {n} x {message}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=30, help="measured seconds of load")
    parser.add_argument("--connections", type=int, default=64, help="concurrent request loops (connections)")
    parser.add_argument("--database-url", default="",
                        help="a PostgreSQL server URL: a fresh database is made there (default: SQLite)")
    parser.add_argument("--ingest-variants", type=int, default=100_000,
                        help="variants of the cohort the steward ingests while the load runs")
    parser.add_argument("--accounts", type=int, default=16,
                        help="signed-in callers of the Beacon and /api/me, each of its own organisation (0: the "
                             "entitled researcher alone, whose privacy budget row then serialises them)")
    parser.add_argument("--no-ingest", action="store_true", help="no steward asking for ingestions")
    parser.add_argument("--workdir", type=Path, default=_HERE / "out")
    args = parser.parse_args(argv)
    args.workdir.mkdir(parents=True, exist_ok=True)
    examples = _examples(args.workdir)
    cohort = _ingest_cohort(args.workdir, args.ingest_variants)
    database_url, dropped = "", ""
    if args.database_url:
        database_url, dropped = _postgres_database(args.database_url)
    try:
        with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
            data_dir = Path(tmp) / "node"
            node = _node(data_dir, database_url, examples, cohort, args.accounts)
            port = _free_port()
            exe = str(Path(sys.executable).with_name("genomegate"))
            log = Path(tmp) / "server.log"
            with log.open("w") as log_file:
                # A session of its own: the server and its worker processes are stopped together.
                server = subprocess.Popen([exe, "serve", "--workers", "2", "--port", str(port)], env=node.env,
                                          stdout=subprocess.DEVNULL, stderr=log_file, start_new_session=True)
                base = f"http://127.0.0.1:{port}"
                try:
                    _wait(f"{base}/healthz")
                    alone = _unloaded(base, node)
                    print("unloaded, one request at a time (median of 20): " + ", ".join(
                        f"{route} {seconds * 1e3:.1f} ms" for route, seconds in alone.items()), flush=True)
                    print(f"driving {base} with {args.connections} connections for {args.seconds:.0f} s "
                          f"(+{WARM_UP_SECONDS} s warm-up) on {'PostgreSQL' if database_url else 'SQLite'}",
                          flush=True)
                    tally = asyncio.run(_drive(base, node, args.connections, args.seconds,
                                               ingest=not args.no_ingest))
                finally:
                    _stop(server)
            _report(tally, args.seconds, f"mixed load, {'PostgreSQL' if database_url else 'SQLite'}, "
                                         f"{args.connections} connections, serve --workers 2")
            _logged(log)
            shutil.copy(log, args.workdir / f"load-server-{'postgresql' if database_url else 'sqlite'}.log")
    finally:
        if dropped:
            _drop_postgres(args.database_url, dropped)


if __name__ == "__main__":
    main()
