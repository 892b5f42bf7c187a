"""The network Beacon's fan-out: one query asked of this node and of every peer whose circuit is not open, all at
once, under ONE deadline; what arrived by then is the answer.

Peers are asked over HTTP with one pooled aiohttp session: no cookies kept, no redirects followed, no proxy or
netrc taken from the environment. (aiohttp, not httpx as elsewhere: this is the network's hot path, and httpx's
connection pool cost the fan-out a third of its throughput; benchmarks/network.py.)

This node is asked in-process, through the ASGI interface of its own Beacon app: the very code path an HTTP
request takes (parsing, the privacy gate, the audit, the error envelopes) without a socket, a second pass through
load shedding, or the node having to reach its own public URL. The Beacon does its database work as over HTTP (on
the thread pool, but for anonymous SQLite reads on the loop's own read-only connection, beacon.api.VariantQueries);
at the deadline the wait for any node, this one included, is abandoned (a local query still running on a thread
finishes there and its answer is dropped). A query naming datasets goes to
the nodes holding them, each asked for those it holds (network/routing.py).

Database work (the nodes and their datasets, the visas this node issues, the audit line, the breakers afterwards)
runs on the thread pool, never on the loop. The audit line of a forwarded query is written while the nodes are
asked (lines of concurrent queries share one commit) and the answer is returned only once it is on record.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from fastapi import FastAPI
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool
from starlette.types import Message

from access import audit
from access.visas import issue_passport
from beacon import api as beacon_api
from beacon.models import BeaconRequest
from beacon.responses import API_VERSION
from catalogue.database import session_scope
from catalogue.identity import Caller
from catalogue.models import utcnow
from catalogue.runtime import Runtime
from catalogue.services.lookup import published_datasets
from network import breaker, health
from network.combine import NetworkAnswer, Node, NodeOutcome, NodeReply, NodeStatus, backed_off, judge, not_holding
from network.forwarding import Identity, headers_for
from network.harvest_models import PeerHarvest, RemoteDataset
from network.models import Forwarding, Peer, PeerState
from network.peers import list_peers
from network.routing import DATASET_IDS, Call, held, narrowed

__all__ = ["MAX_ANSWER_BYTES", "Call", "Judge", "Network", "Target", "audit_line"]

log = logging.getLogger("genomegate.network")

Judge = Callable[[Node, NodeReply], NodeOutcome]
MAX_ANSWER_BYTES = 16 << 20  # a node's answer read at most; more is an erroring node
PEERS_SECONDS = 1.0  # how long the peers read from the database are used before they are read again
# How long the audit writer waits for more lines when other queries are under way: at ~600 network queries/s a
# commit per 1-2 lines cost about a quarter of the throughput (556-606 q/s with the audit, 742-779 without);
# lingering 1 ms gave 645-657 q/s (benchmarks/network.py's queries, driven by wrk).
AUDIT_LINGER_SECONDS = 0.001


@dataclass(frozen=True, slots=True)
class Target:
    """A node to ask and what of the caller it gets (`forward` None: this node, the caller as presented)."""

    node: Node
    forward: Forwarding | None
    asked: bool = True
    retry_at: Any = None
    was_healthy: bool = True
    holds: frozenset[str] | None = None  # the dataset ids it holds (None: not known, e.g. never harvested)


class Network:
    """The network Beacon's machinery for one app: this node's Beacon app and the HTTP client for the peers."""

    def __init__(self, runtime: Runtime, local: FastAPI) -> None:
        self.runtime = runtime
        self.local = local
        self._client: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._audit_loop: asyncio.AbstractEventLoop | None = None
        self._pending: list[tuple[audit.Line, asyncio.Future[None]]] = []
        self._writing = False
        self._writer: asyncio.Future[None] | None = None
        self._asking = 0  # network queries under way (on this loop)
        self._background: set[asyncio.Future[None]] = set()
        self._nodes: tuple[float, Nodes] = (-PEERS_SECONDS - 1, Nodes(frozenset(), []))

    @property
    def settings(self) -> Any:
        return self.runtime.settings

    @property
    def network_id(self) -> str:
        return f"{self.settings.beacon_id}.network"

    def _http(self) -> aiohttp.ClientSession:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:  # a session belongs to the loop it was made on
            self._client = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(), trust_env=False, auto_decompress=True,
                connector=aiohttp.TCPConnector(limit=200, limit_per_host=100, ttl_dns_cache=60),
                headers={"User-Agent": f"GenomeGate network Beacon ({self.network_id})"})
            self._loop = loop
        return self._client

    async def aclose(self) -> None:
        if self._client is not None and self._loop is asyncio.get_running_loop():
            await self._client.close()
        self._client = None

    def this_node(self) -> Node:
        base = self.settings.public_base_url.rstrip("/")
        return Node(self.settings.beacon_id, self.settings.node_name, f"{base}/beacon/v2")

    # --- before the fan-out: on the thread pool -------------------------------------------------------------------

    def read_nodes(self) -> Nodes:
        """This node's published datasets, and the peers as the database has them: where they are, what they
        take, their health, and the datasets their last good catalogue harvest listed."""
        with session_scope(self.runtime.engine) as session:
            harvested: dict[str, set[str]] = {}
            for peer_id, dataset_id in session.execute(select(RemoteDataset.peer_id, RemoteDataset.dataset_id)):
                harvested.setdefault(peer_id, set()).add(dataset_id)
            good = set(session.exec(select(PeerHarvest.peer_id).where(col(PeerHarvest.succeeded_at).is_not(None))))
            return Nodes(frozenset(d.id for d in published_datasets(session)), [
                PeerEntry(Node(p.beacon_id, p.name, p.beacon_url, p.id), Forwarding(p.forward), health.health_of(p),
                          frozenset(harvested.get(p.id, ())) if p.id in good else None)
                for p in list_peers(session)])

    async def targets(self) -> list[Target]:
        """The nodes to ask: this node first, then each peer (backed-off ones marked not asked). The nodes are read
        at most every PEERS_SECONDS (on the thread pool): a peer added, removed or backed off, or a dataset
        published or harvested, counts within that."""
        stamp, nodes = self._nodes
        if time.monotonic() - stamp > PEERS_SECONDS:
            nodes = await run_in_threadpool(self.read_nodes)
            self._nodes = (time.monotonic(), nodes)
        now = utcnow()
        return [Target(self.this_node(), None, holds=nodes.local)] + [
            Target(p.node, p.forward, breaker.asked(p.health, now), p.health.retry_at,
                   was_healthy=p.health.state is PeerState.healthy and p.health.failures == 0, holds=p.holds)
            for p in nodes.peers]

    def passport_of(self, caller: Caller, identity: Identity) -> Identity:
        """The identity with the visas this node issues for the caller (for peers that take passports)."""
        if caller.subject is None or self.runtime.issuer is None:
            return identity
        with session_scope(self.runtime.engine) as session:
            return identity.with_visas(issue_passport(session, caller, self.runtime.issuer, self.settings))

    # --- the audit: group commit ------------------------------------------------------------------------------

    async def audited(self, line: audit.Line) -> None:
        """Return once the line is committed. Lines arriving while a commit is under way wait for the next one and
        share its transaction: the hash chain takes one writer at a time, and one commit per query would make
        every network query wait in line for the database (SQLite answered 503 busy under load). While other
        network queries are under way, the writer lingers AUDIT_LINGER_SECONDS first so that more lines share a
        commit (the line is written while the nodes are asked, so its wait is mostly hidden); a lone query's line is
        written at once."""
        loop = asyncio.get_running_loop()
        if self._audit_loop is not loop:
            self._audit_loop, self._pending, self._writing = loop, [], False
        done: asyncio.Future[None] = loop.create_future()
        self._pending.append((line, done))
        if not self._writing:
            self._writing = True
            self._writer = asyncio.ensure_future(self._write_pending())
        await done

    async def _write_pending(self) -> None:
        try:
            while self._pending:
                if self._asking > len(self._pending):  # busy: lines of queries arriving meanwhile join this commit
                    await asyncio.sleep(AUDIT_LINGER_SECONDS)
                batch, self._pending = self._pending, []
                try:
                    await run_in_threadpool(self._append, [line for line, _ in batch])
                except Exception as exc:  # noqa: BLE001 - each waiting query answers the error (a 503 if busy)
                    for _, done in batch:
                        if not done.done():
                            done.set_exception(exc)
                else:
                    for _, done in batch:
                        if not done.done():
                            done.set_result(None)
        finally:
            self._writing = False

    def _append(self, lines: list[audit.Line]) -> None:
        with session_scope(self.runtime.engine) as session:
            audit.append_lines(session, lines)
            session.commit()

    # --- the fan-out --------------------------------------------------------------------------------------------

    async def ask(self, caller: Caller, identity: Identity, request: BeaconRequest, call: Call, *,
                  deadline: float, started: float, judging: Judge = judge) -> NetworkAnswer:
        """Ask every node at once; `deadline` seconds after `started` (time.monotonic) the answer is what arrived,
        each node's reply read by `judging` (`judge_terms` for filtering terms)."""
        self._asking += 1
        try:
            return await self._ask(caller, identity, request, call, deadline=deadline, started=started,
                                   judging=judging)
        finally:
            self._asking -= 1

    async def _ask(self, caller: Caller, identity: Identity, request: BeaconRequest, call: Call, *,
                   deadline: float, started: float, judging: Judge) -> NetworkAnswer:
        targets = await self.targets()
        wanted = [str(i) for i in request.params.get(DATASET_IDS) or ()]
        calls = {i: _routed(call, wanted, t.holds) for i, t in enumerate(targets) if t.asked}
        asked_peers = [t for i, t in enumerate(targets) if i > 0 and calls.get(i) is not None]
        forwarded = identity
        if caller.subject is not None and any(t.forward is Forwarding.passport for t in asked_peers):
            forwarded = await run_in_threadpool(self.passport_of, caller, identity)
        # written while the nodes are asked (a commit would otherwise add its time to every answer); the answer
        # is returned only once the line is on record
        on_record = asyncio.ensure_future(self.audited(audit_line(caller, request, call, asked_peers))) \
            if asked_peers else None
        end = started + deadline
        tasks = {i: asyncio.ensure_future(
            self._ask_local(identity, routed, end) if targets[i].forward is None
            else self._ask_peer(targets[i].node, headers_for(targets[i].forward, forwarded), routed, end))
            for i, routed in calls.items() if routed is not None}
        if tasks:
            await asyncio.wait(tasks.values(), timeout=max(0.0, end - time.monotonic()))
        outcomes: list[NodeOutcome] = []
        for i, target in enumerate(targets):
            task = tasks.get(i)
            if task is None:
                outcomes.append(backed_off(target.node, target.retry_at) if not target.asked
                                else not_holding(target.node))
                continue
            if not task.done():
                task.cancel()
                reply = NodeReply(latency_ms=_since(started), timed_out=True)
            elif task.exception() is not None:  # a bug of ours, not the node's: logged, reported as erroring
                log.error("asking %s failed", target.node.beacon_id, exc_info=task.exception())
                reply = NodeReply(_since(started), failure="the network Beacon failed to ask it; the error was logged")
            else:
                reply = task.result()
            outcomes.append(judging(target.node, reply))
        if on_record is not None:
            await on_record  # an audit that cannot be written fails the query (a 503 when the database is busy)
        answer = NetworkAnswer(request, tuple(outcomes), deadline * 1000, self.network_id,
                               elapsed_ms=(time.monotonic() - started) * 1000)
        answer.to_record.update(self.to_record(answer, targets))
        return answer

    async def _ask_peer(self, node: Node, identity_headers: dict[str, str], call: Call, end: float) -> NodeReply:
        headers = {"Accept": "application/json", **identity_headers}
        if call.content_type:
            headers["Content-Type"] = call.content_type
        url = f"{node.url}{call.path}" + (f"?{call.query}" if call.query else "")
        started = time.monotonic()
        try:
            async with self._http().request(
                    call.method, url, data=call.body or None, headers=headers, allow_redirects=False,
                    timeout=aiohttp.ClientTimeout(total=max(0.001, end - started))) as response:
                body = bytearray()
                async for chunk in response.content.iter_chunked(1 << 16):
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        return _too_large(started)
                return NodeReply(_since(started), response.status, bytes(body))
        except TimeoutError:
            return NodeReply(_since(started), timed_out=True)
        except aiohttp.ClientError as exc:
            return NodeReply(_since(started), failure=f"could not be reached ({type(exc).__name__})")

    async def _ask_local(self, identity: Identity, call: Call, end: float) -> NodeReply:
        """This node's Beacon app called in-process through ASGI (the request's scope built here, its response
        collected), as an HTTP client's in-process transport would, without its per-request machinery; a
        g_variants query goes straight to its endpoint, as over HTTP (beacon.api.BeaconShortcuts)."""
        headers = {"accept": "application/json", "host": "this-node",
                   **{k.lower(): v for k, v in headers_for(None, identity).items()}}
        if call.content_type:
            headers["content-type"] = call.content_type
        if call.body:
            headers["content-length"] = str(len(call.body))
        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": call.method,
                 "scheme": "http", "path": call.path, "raw_path": call.path.encode(), "root_path": "",
                 "query_string": call.query.encode(), "server": ("this-node", 80),
                 "client": (identity.address or "127.0.0.1", 0),
                 "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]}
        started = time.monotonic()
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # a disconnect is never reported: the call is cancelled instead
            sent = True
            return {"type": "http.request", "body": call.body, "more_body": False}

        if call.path == "/g_variants":  # the busiest query: as beacon_api.BeaconShortcuts answers it over HTTP
            response = await beacon_api.answer_directly(self.local, beacon_api.g_variants, scope, receive)
            status, body = response.status_code, bytes(response.body)
        else:
            reply = _LocalReply()
            try:
                await self.local(scope, receive, reply.send)
            except Exception:  # noqa: BLE001 - what the app did not turn into a response is a 500, as over HTTP
                log.exception("this node's Beacon failed a network query")
                reply.status = 500
            status, body = reply.status, bytes(reply.body)
        if len(body) > MAX_ANSWER_BYTES:  # as a peer's answer is read
            return _too_large(started)
        return NodeReply(_since(started), status, body)

    # --- after the answer: on the thread pool -----------------------------------------------------------------

    def to_record(self, answer: NetworkAnswer, targets: Sequence[Target]) -> dict[str, NodeOutcome]:
        """The outcomes each asked peer's circuit breaker must hear of: failures, and successes of peers not healthy
        before (a peer that answered and was healthy already is left alone: nothing to write on the common path).
        A timeout counts against a peer only under the node's own deadline (a caller asking for less must not
        back peers off)."""
        full = answer.deadline_ms >= self.settings.network_deadline_seconds * 1000
        return {t.node.peer_id: o for t, o in zip(targets, answer.outcomes, strict=True)
                if t.node.peer_id is not None and o.status not in (NodeStatus.backed_off, NodeStatus.skipped)
                and (full or o.status is not NodeStatus.timed_out) and not (o.healthy and t.was_healthy)}

    def report(self, answer: NetworkAnswer) -> None:
        """Record the answer's outcomes on the thread pool, without the response (or the caller) waiting."""
        if answer.to_record:
            task = asyncio.ensure_future(run_in_threadpool(self.record, answer.to_record))
            self._background.add(task)
            task.add_done_callback(self._background.discard)

    def record(self, seen: dict[str, NodeOutcome]) -> None:
        """Move the peers' breakers by their outcomes (on the thread pool)."""
        if not seen:
            return
        with session_scope(self.runtime.engine) as session:
            changed = False
            for peer_id, outcome in seen.items():
                peer = session.get(Peer, peer_id)
                if peer is None or (outcome.healthy and peer.state == PeerState.healthy and peer.failures == 0):
                    continue
                seen_as = health.Outcome(outcome.healthy, outcome.latency_ms or 0.0,
                                         None if outcome.healthy else outcome.message)
                health.record(session, peer, seen_as, self.settings)
                changed = True
            if changed:
                session.commit()


class _LocalReply:
    """A response as this node's Beacon app sends it through ASGI: its status and its body, bounded."""

    def __init__(self) -> None:
        self.status = 500
        self.body = bytearray()

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        elif message["type"] == "http.response.body" and len(self.body) <= MAX_ANSWER_BYTES:  # more: not kept
            self.body += message.get("body", b"")


@dataclass(frozen=True, slots=True)
class PeerEntry:
    node: Node
    forward: Forwarding
    health: breaker.Health
    holds: frozenset[str] | None  # None: never harvested


@dataclass(frozen=True, slots=True)
class Nodes:
    """What the fan-out reads of the database (at most every PEERS_SECONDS): this node's datasets and its peers."""

    local: frozenset[str]
    peers: list[PeerEntry]


def _routed(call: Call, wanted: list[str], holds: frozenset[str] | None) -> Call | None:
    """The call a node gets: unchanged without datasetIds; else for the datasets it holds only, or None (not
    asked) when it holds none of them."""
    if not wanted:
        return call
    ids = held(wanted, holds)
    if ids is None or list(ids) == wanted:
        return call
    return narrowed(call, ids) if ids else None


def _since(started: float) -> float:
    return (time.monotonic() - started) * 1000


def _too_large(started: float) -> NodeReply:
    return NodeReply(_since(started), failure=f"its answer is larger than {MAX_ANSWER_BYTES:,} bytes")


def audit_line(caller: Caller, request: BeaconRequest, call: Call, asked: Sequence[Target]) -> audit.Line:
    """The audit line of a forwarded query: who asked, which peers were sent what, and the query (never a token)."""
    summary = request.summary(API_VERSION)
    return audit.Line(caller.subject or "anonymous", "network.beacon.query", client=caller.address, details={
        "endpoint": call.path, "method": call.method,
        "peers": [{"beaconId": t.node.beacon_id, "peer": t.node.peer_id,
                   "forward": t.forward.value if t.forward else None} for t in asked],
        "query": {k: summary[k] for k in ("requestParameters", "filters", "requestedGranularity", "pagination")
                  if k in summary}})
