"""Network Beacon benchmark: a network query's latency and throughput against the slowest node queried alone, with
three live nodes and with one node dead.

Run it from the repository root (by hand; not part of the test suite):

    .venv/bin/python benchmarks/network.py                       # starts three nodes on loopback, as the tests do
    .venv/bin/python benchmarks/network.py --rounds 5 --seconds 10
    .venv/bin/python benchmarks/network.py --network http://127.0.0.1:8001 --nodes http://127.0.0.1:8001 \\
        http://127.0.0.1:8002 http://127.0.0.1:8003               # nodes already running, peers already added

Started here, each node is a `genomegate serve` process (SQLite, its own data directory and keys; 1,000 variants of
a small simulated cohort, PUBLIC) and node a gets the others as peers. Each round measures, for every node alone
(`/beacon/v2/g_variants`) and then through node a's network Beacon (`/network/beacon/v2/g_variants`): latency one
query at a time (p50, p95) and throughput with --connections queries in flight (q/s; driven by wrk when installed,
as a Python client on the same two cores takes CPU from the nodes), on the same anonymous count queries over ranges
of chromosome 1. Then the last node is killed and the network is measured again. Figures are
the median over the rounds, with the rounds' range.

With nodes started here, each throughput run also reads the CPU time every node process used (/proc), per query
answered: on one machine the three nodes share its cores (and wrk's), so the network's q/s is bounded by the CPU all
three spend on a network query, whereas a deployment gives each node machines of its own. Printed too: what the
network node alone spends per network query against what a node spends per query of its own (the throughput
ratio if every node had cores of its own), and the bound this machine's cores put on the network's q/s.

Targets: p95 with a dead node within the deadline + 10%; p50 overhead over the slowest live node under 10 ms;
network throughput at least 0.5x that of the slowest node alone.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

# Run as a script, this folder would shadow the project's `ingest` package (benchmarks/ingest.py); the repository
# root (the tests' node harness) is wanted instead.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or os.curdir).resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import httpx  # noqa: E402

__all__ = ["main"]

TARGET_DEAD_P95 = 1.10  # x the deadline
TARGET_P50_OVERHEAD_MS = 10.0
TARGET_THROUGHPUT = 0.5


def _queries(n: int = 200) -> list[dict[str, str]]:
    return [{"referenceName": "1", "start": str(i * 5_000), "end": str(i * 5_000 + 50_000),
             "requestedGranularity": "count"} for i in range(n)]


def _ok(reply: httpx.Response) -> None:
    if reply.status_code != 200:
        raise SystemExit(f"{reply.request.url} answered {reply.status_code}: {reply.text[:500]}")


async def _latency(url: str, queries: list[dict[str, str]], count: int) -> list[float]:
    out = []
    async with httpx.AsyncClient(timeout=30) as client:
        for i in range(count):
            started = time.perf_counter()
            reply = await client.get(url, params=queries[i % len(queries)])
            out.append((time.perf_counter() - started) * 1000)
            _ok(reply)
    return out


async def _throughput(url: str, queries: list[dict[str, str]], connections: int, seconds: float) -> float:
    done = 0
    end = time.monotonic() + seconds

    async def one(seed: int) -> None:
        nonlocal done
        i = seed
        while time.monotonic() < end:
            _ok(await client.get(url, params=queries[i % len(queries)]))
            done += 1
            i += connections

    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=connections)) as client:
        await asyncio.gather(*(one(s) for s in range(connections)))
    return done / seconds


_WRK_SCRIPT = """
local paths = {%s}
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i %% #paths) + 1])
end
"""


def _throughput_wrk(url: str, queries: list[dict[str, str]], connections: int, seconds: float) -> float:
    """The same queries driven by wrk (C): the load generator's own CPU barely competes with the nodes'."""
    path = httpx.URL(url).raw_path.decode()
    paths = ", ".join(f'"{path}?{urlencode(q)}"' for q in queries)
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % paths)
    try:
        done = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script.name,
                               url], capture_output=True, text=True, check=True)
    finally:
        os.unlink(script.name)
    if "Non-2xx" in done.stdout:
        raise SystemExit(f"{url} answered errors under load:\n{done.stdout}")
    rate = re.search(r"Requests/sec:\s+([\d.]+)", done.stdout)
    if rate is None:
        raise SystemExit(f"wrk printed no rate:\n{done.stdout}{done.stderr}")
    return float(rate.group(1))


def _cpu_seconds(pids: list[int]) -> list[float]:
    """Each process's CPU time so far (user + system, all its threads), from /proc/<pid>/stat."""
    ticks = os.sysconf("SC_CLK_TCK")
    out = []
    for pid in pids:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        out.append((int(fields[11]) + int(fields[12])) / ticks)
    return out


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@dataclass(frozen=True)
class Run:
    p50: float
    p95: float
    rate: float
    cpu_ms: tuple[float, ...] = ()  # per query answered in the throughput run, of each node process (when known)


def _measure(url: str, args: argparse.Namespace, pids: list[int]) -> Run:
    queries = _queries()
    asyncio.run(_throughput(url, queries, args.connections, 1.0))  # warm
    latencies = asyncio.run(_latency(url, queries, args.latency_queries))
    live = [p for p in pids if Path(f"/proc/{p}").exists()]
    before = _cpu_seconds(live)
    started = time.monotonic()
    if args.client == "wrk":
        rate = _throughput_wrk(url, queries, args.connections, args.seconds)
    else:
        rate = asyncio.run(_throughput(url, queries, args.connections, args.seconds))
    answered = rate * (time.monotonic() - started)
    cpu = tuple((b - a) * 1000 / answered for a, b in zip(before, _cpu_seconds(live), strict=True))
    return Run(_pct(latencies, 0.5), _pct(latencies, 0.95), rate, cpu)


def _spread(values: list[float], unit: str, digits: int = 1) -> str:
    return f"{statistics.median(values):8.{digits}f} {unit} ({min(values):.{digits}f}-{max(values):.{digits}f})"


def _start_nodes(stack: ExitStack, folder: Path, deadline: float
                 ) -> tuple[list[str], list[int], Callable[[], None]]:
    from catalogue.models import SecurityLevel
    from ingest.synthetic import simulate_cohort, write_sample_sheet
    from tests.network.nodes import nodes

    made = stack.enter_context(nodes(folder, ["a", "b", "c"], network_deadline_seconds=deadline))
    for seed, node in enumerate(made):
        cohort = simulate_cohort(folder / f"{node.name}.vcf.gz", samples=20, variants_per_contig=1_000, seed=seed + 1)
        node.publish([cohort.path], samples=write_sample_sheet(folder / f"{node.name}.tsv", cohort),
                     security=SecurityLevel.PUBLIC)
        node.start()
    for peer in made[1:]:
        made[0].cli("network", "add", peer.url)
    return [n.url for n in made], [n.process.pid for n in made if n.process is not None], made[-1].kill


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=5.0, help="of each throughput run")
    parser.add_argument("--latency-queries", type=int, default=200, help="queries one at a time, per measurement")
    parser.add_argument("--connections", type=int, default=8, help="queries in flight in throughput runs")
    parser.add_argument("--deadline", type=float, default=2.0, help="the network node's deadline (nodes started here)")
    parser.add_argument("--client", choices=["wrk", "httpx"], default="wrk" if shutil.which("wrk") else "httpx",
                        help="throughput's load generator (default wrk when installed: a Python client on the same "
                             "2 cores takes CPU the network's three nodes need more than one node alone does)")
    parser.add_argument("--network", help="base URL of a running network node (with --nodes)")
    parser.add_argument("--nodes", nargs="*", default=[], help="base URLs of the running nodes (the network's first)")
    args = parser.parse_args(argv)

    with ExitStack() as stack:
        pids: list[int] = []
        if args.network:
            urls, kill = [args.network, *[u for u in args.nodes if u != args.network]], None
        else:
            folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="gg-network-bench-")))
            print("starting three nodes ...", flush=True)
            urls, pids, kill = _start_nodes(stack, folder, args.deadline)
        network = f"{urls[0]}/network/beacon/v2/g_variants"
        alone: dict[str, list[Run]] = {u: [] for u in urls}
        live: list[Run] = []
        for r in range(args.rounds):
            for i, url in enumerate(urls):
                alone[url].append(_measure(f"{url}/beacon/v2/g_variants", args, pids[i:i + 1]))
            live.append(_measure(network, args, pids))
            print(f"round {r + 1}: network p50 {live[-1].p50:.1f} ms, p95 {live[-1].p95:.1f} ms, "
                  f"{live[-1].rate:.0f} q/s", flush=True)
        dead: list[Run] = []
        if kill is not None:
            kill()
            for _ in range(args.rounds):
                dead.append(_measure(network, args, pids[:-1]))

    print("\n                         p50                  p95                  throughput")
    for url, runs in alone.items():
        print(f"{url:<24} {_spread([x.p50 for x in runs], 'ms')} {_spread([x.p95 for x in runs], 'ms')} "
              f"{_spread([x.rate for x in runs], 'q/s')}")
    print(f"{'network, 3 live':<24} {_spread([x.p50 for x in live], 'ms')} {_spread([x.p95 for x in live], 'ms')} "
          f"{_spread([x.rate for x in live], 'q/s')}")
    if dead:
        print(f"{'network, 1 dead':<24} {_spread([x.p50 for x in dead], 'ms')} {_spread([x.p95 for x in dead], 'ms')} "
              f"{_spread([x.rate for x in dead], 'q/s')}")
    slowest = max(urls, key=lambda u: statistics.median(x.p50 for x in alone[u]))
    overhead = [n.p50 - s.p50 for n, s in zip(live, alone[slowest], strict=True)]
    ratio = [n.rate / s.rate for n, s in zip(live, alone[slowest], strict=True)]
    print(f"\nslowest node alone: {slowest}")
    print(f"p50 overhead over it: {_spread(overhead, 'ms')}  (target < {TARGET_P50_OVERHEAD_MS:.0f} ms)")
    print(f"throughput ratio:     {_spread(ratio, 'x', 2)}  (target >= {TARGET_THROUGHPUT})")
    if dead:
        print(f"p95 with a dead node: {_spread([x.p95 for x in dead], 'ms')}  "
              f"(target <= {args.deadline * TARGET_DEAD_P95 * 1000:.0f} ms: the deadline + 10%)")
    if pids:
        _print_cpu(alone[slowest], live)


def _print_cpu(alone: list[Run], live: list[Run]) -> None:
    """CPU per query: of the slowest node alone, and of each node while the network is asked."""
    single = [x.cpu_ms[0] for x in alone]
    print("\nCPU per query answered (ms; the median over the rounds, with their range):")
    print(f"  a node alone, per query of its own:     {_spread(single, 'ms', 3)}")
    for i, name in enumerate("abc"):
        print(f"  node {name}, per network query{' (network)' if i == 0 else ''}: "
              f"{_spread([x.cpu_ms[i] for x in live], 'ms', 3)}")
    per_node = [s / x.cpu_ms[0] for s, x in zip(single, live, strict=True)]
    print(f"throughput ratio with cores of its own per node (a node's CPU per query / the network node's): "
          f"{_spread(per_node, 'x', 2)}")
    cores = os.cpu_count() or 1
    bound = [cores * 1000 / sum(x.cpu_ms) / a.rate for x, a in zip(live, alone, strict=True)]
    print(f"this machine's bound on the ratio ({cores} cores shared by all three nodes, the load generator not "
          f"counted): {_spread(bound, 'x', 2)}")


if __name__ == "__main__":
    main()
