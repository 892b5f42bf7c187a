"""The event loop is never blocked: slow issuer keys, an exhausted connection pool, a write waiting for another's
lock and too many requests at once leave /healthz answering, and give 503 with Retry-After rather than 500s
(the real app served by uvicorn, on SQLite and PostgreSQL); the JWKS cache refetches after expiry and on an
unknown kid, and fetches once for many."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio.to_thread
import httpx
import pytest
from fastapi.testclient import TestClient
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine, text
from sqlmodel import Session

from catalogue.database import make_engine
from catalogue.jwks import FETCH_TIMEOUT, JwksCache
from catalogue.models import Role
from catalogue.runtime import Runtime
from catalogue.settings import TrustedIssuer
from catalogue.tokens import TokenVerifier
from genomegate.app import create_app
from genomegate.shedding import is_heavy
from tests.factories import grant, make_dataset, make_organisation
from tests.serving import free_port, serving

ISSUER = "https://idp.slow.example"
AUDIENCE = "genomegate"
BOUND = 2.0  # seconds: "at once" on a noisy shared machine, against blockers that hold for 10 s


@dataclass
class JwksServer:
    """A real JWKS endpoint on loopback: serves `keys`, counts fetches, and can be made slow."""

    keys: list[RSAKey]
    delay: float = 0.0
    fetches: int = 0
    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                server.fetches += 1
                server.started.set()
                if server.delay:
                    server.release.wait(server.delay)  # ends early when the test is over
                body = json.dumps({"keys": [k.as_dict(private=False) for k in server.keys]}).encode()
                try:
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except OSError:
                    pass  # the client gave up waiting (its timeout)

            def log_message(self, *_args: Any) -> None:
                pass

        return Handler


def _key(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@contextmanager
def jwks_server(keys: list[RSAKey], delay: float = 0.0) -> Iterator[JwksServer]:
    state = JwksServer(keys=keys, delay=delay)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), state.handler())
    httpd.daemon_threads = True
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/jwks"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _token(key: RSAKey, subject: str = "ada@slow.example") -> str:
    now = int(time.time())
    return jwt.encode({"alg": "RS256", "kid": key.kid}, {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now,
                                                           "exp": now + 600, "jti": uuid.uuid4().hex}, key)


def _node(runtime: Runtime, jwks_url: str | None = None, engine: Engine | None = None, **settings: Any) -> Runtime:
    """This node with some settings changed, trusting ISSUER at `jwks_url`, optionally on another engine."""
    if jwks_url:
        settings["trusted_issuers"] = [TrustedIssuer(issuer=ISSUER, audience=AUDIENCE, jwks_url=jwks_url)]
    changed = runtime.settings.model_copy(update=settings)
    return Runtime(settings=changed, engine=engine or runtime.engine, issuer=runtime.issuer,
                   verifier=TokenVerifier(changed, runtime.issuer))


@contextmanager
def served(node: Runtime) -> Iterator[str]:
    port = free_port()
    with serving(create_app(runtime=node), port) as url:
        yield url


def _timed_get(url: str, **kwargs: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = httpx.get(url, timeout=BOUND * 5, **kwargs)
    return response, time.monotonic() - started


@pytest.mark.serial  # a latency bound: measured alone, after the parallel run
def test_healthz_and_other_requests_answer_while_an_issuers_keys_are_slow(runtime: Runtime) -> None:
    with jwks_server([_key("k1")], delay=10.0) as idp, served(_node(runtime, idp.url)) as base, \
            ThreadPoolExecutor(4) as pool:
        signed_in = [pool.submit(httpx.get, f"{base}/api/me", timeout=30,
                                 headers={"Authorization": f"Bearer {_token(idp.keys[0])}"}) for _ in range(2)]
        assert idp.started.wait(BOUND * 5), "the node never asked for the issuer's keys"
        fetching_since = time.monotonic()
        health, took = _timed_get(f"{base}/healthz")
        # The fetch cannot end before its timeout (the issuer holds it for 10 s): an answer within that time was
        # given while the fetch was in flight, whatever else this shared machine was doing meanwhile.
        answered = time.monotonic() - fetching_since
        assert health.status_code == 200 and answered < FETCH_TIMEOUT, \
            f"/healthz took {took:.2f} s while the keys were fetched"
        datasets, took = _timed_get(f"{base}/api/datasets")
        assert datasets.status_code == 200 and took < BOUND, f"/api/datasets took {took:.2f} s"
        beacon, took = _timed_get(f"{base}/beacon/v2/g_variants", params={
            "referenceName": "1", "start": "100", "referenceBases": "A", "alternateBases": "G"})
        assert beacon.status_code == 200 and took < BOUND, f"a Beacon query took {took:.2f} s"
        # The fetch times out (3 s) long before the endpoint would answer: refused cleanly, one fetch for both.
        for future in signed_in:
            answer = future.result(timeout=20)
            assert answer.status_code == 401
            assert f"keys of issuer {ISSUER} are unavailable" in answer.json()["detail"]
        assert idp.fetches == 1


@pytest.mark.serial
def test_a_pool_held_by_others_gives_503_with_retry_after_and_healthz_still_answers(
        runtime: Runtime, auth: Callable[[str], dict[str, str]]) -> None:
    engine = make_engine(runtime.engine.url.render_as_string(hide_password=False), pool_size=2, pool_timeout=0.5)
    try:
        with served(_node(runtime, engine=engine)) as base:
            held = [engine.connect() for _ in range(2)]  # every connection of the node's pool, for as long as we like
            try:
                me, took = _timed_get(f"{base}/api/me", headers=auth("ada@example.org"))
                assert me.status_code == 503 and took < BOUND
                assert me.headers["retry-after"] == "1"
                assert me.headers["content-type"] == "application/problem+json"
                assert "every database connection of this server is in use" in me.json()["detail"]
                health, took = _timed_get(f"{base}/healthz")
                assert health.status_code == 200 and took < BOUND
                beacon, took = _timed_get(f"{base}/beacon/v2/g_variants", headers=auth("ada@example.org"), params={
                    "referenceName": "1", "start": "100", "referenceBases": "A", "alternateBases": "G"})
                assert beacon.status_code == 503 and took < BOUND and beacon.headers["retry-after"] == "1"
                assert beacon.json()["error"]["errorCode"] == 503  # the Beacon's own error envelope
            finally:
                for connection in held:
                    connection.close()
            me, _ = _timed_get(f"{base}/api/me", headers=auth("ada@example.org"))
            assert me.status_code == 200 and me.json()["subject"] == "ada@example.org"
    finally:
        engine.dispose()


def test_concurrent_signed_in_requests_beyond_the_pool_get_200_or_a_quick_503(
        runtime: Runtime, auth: Callable[[str], dict[str, str]]) -> None:
    engine = make_engine(runtime.engine.url.render_as_string(hide_password=False), pool_size=2, pool_timeout=0.5)
    headers = auth("ada@example.org")
    try:
        with served(_node(runtime, engine=engine, max_in_flight=8)) as base, ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(lambda _: _timed_get(f"{base}/api/me", headers=headers), range(96)))
    finally:
        engine.dispose()
    statuses = {r.status_code for r, _ in answers}
    assert statuses <= {200, 503}, statuses
    assert 200 in statuses
    assert all(r.headers["retry-after"] == "1" for r, _ in answers if r.status_code == 503)
    slowest = max(took for _, took in answers)
    assert slowest < BOUND * 5, f"a request took {slowest:.2f} s"


@pytest.mark.serial  # a latency bound: measured alone, after the parallel run
def test_requests_beyond_the_in_flight_limit_are_shed_at_once_and_healthz_never_is(runtime: Runtime) -> None:
    with jwks_server([_key("k1")], delay=10.0) as idp, \
            served(_node(runtime, idp.url, max_in_flight=1)) as base, ThreadPoolExecutor(1) as pool:
        # One request in flight for as long as the issuer's keys take (the fetch times out after 3 s).
        blocker = pool.submit(httpx.get, f"{base}/api/me", timeout=30,
                              headers={"Authorization": f"Bearer {_token(idp.keys[0])}"})
        assert idp.started.wait(BOUND * 5)
        shed, took = _timed_get(f"{base}/api/datasets")
        assert shed.status_code == 503 and took < BOUND
        assert shed.headers["retry-after"] == "1" and shed.headers["content-type"] == "application/problem+json"
        assert "GENOMEGATE_MAX_IN_FLIGHT" in shed.json()["detail"]
        beacon, took = _timed_get(f"{base}/beacon/v2/info")
        assert beacon.status_code == 503 and beacon.json()["error"]["errorCode"] == 503
        htsget, took = _timed_get(f"{base}/htsget/variants/GGD000001")  # each route's own error format
        assert htsget.status_code == 503 and htsget.headers["retry-after"] == "1"
        assert htsget.json()["htsget"]["error"] == "ServiceUnavailable"
        health, took = _timed_get(f"{base}/healthz")
        assert health.status_code == 200 and took < BOUND
        assert blocker.result(timeout=20).status_code == 401
        assert _timed_get(f"{base}/api/datasets")[0].status_code == 200  # the slot is free again


@pytest.mark.serial  # a latency bound: measured alone, after the parallel run
def test_heavy_requests_beyond_their_limit_are_shed_while_cheap_ones_still_answer(
        runtime: Runtime, auth: Callable[[str], dict[str, str]]) -> None:
    query = {"referenceName": "1", "start": "100", "referenceBases": "A", "alternateBases": "G"}
    with jwks_server([_key("k1")], delay=10.0) as idp, \
            served(_node(runtime, idp.url, max_in_flight=8, max_heavy_in_flight=1)) as base, \
            ThreadPoolExecutor(1) as pool:
        # One signed-in Beacon query (heavy) in flight for as long as its issuer's keys take (3 s timeout).
        blocker = pool.submit(httpx.get, f"{base}/beacon/v2/g_variants", params=query, timeout=30,
                              headers={"Authorization": f"Bearer {_token(idp.keys[0])}"})
        assert idp.started.wait(BOUND * 5)
        shed, took = _timed_get(f"{base}/beacon/v2/g_variants", params=query, headers=auth("ada@example.org"))
        assert shed.status_code == 503 and took < BOUND and shed.headers["retry-after"] == "1"
        assert shed.json()["error"]["errorCode"] == 503
        assert "GENOMEGATE_MAX_HEAVY_IN_FLIGHT" in shed.json()["error"]["errorMessage"]
        me, took = _timed_get(f"{base}/api/me", headers=auth("ada@example.org"))  # cheap: admitted
        assert me.status_code == 200 and took < BOUND and me.json()["subject"] == "ada@example.org"
        anonymous, took = _timed_get(f"{base}/beacon/v2/g_variants", params=query)  # cheap: admitted
        assert anonymous.status_code == 200 and took < BOUND
        assert blocker.result(timeout=20).status_code == 401
        again, _ = _timed_get(f"{base}/beacon/v2/g_variants", params=query, headers=auth("ada@example.org"))
        assert again.status_code == 200  # the heavy slot is free again


def _scope(method: str, path: str, query: bytes = b"", signed_in: bool = False) -> dict[str, Any]:
    headers = [(b"authorization", b"Bearer x")] if signed_in else []
    return {"type": "http", "method": method, "path": path, "query_string": query, "headers": headers}


def test_heavy_requests_are_told_from_method_path_and_headers() -> None:
    assert is_heavy(_scope("GET", "/beacon/v2/g_variants", signed_in=True))
    assert is_heavy(_scope("POST", "/beacon/v2/g_variants"))
    assert is_heavy(_scope("GET", "/beacon/v2/g_variants", b"filters=NCIT:C20197"))
    assert is_heavy(_scope("POST", "/api/datasets/ds1/ingestions", signed_in=True))
    assert not is_heavy(_scope("GET", "/beacon/v2/g_variants", b"referenceName=1&start=100"))
    assert not is_heavy(_scope("GET", "/api/me", signed_in=True))
    assert not is_heavy(_scope("GET", "/api/datasets/ds1/ingestions", signed_in=True))
    assert not is_heavy(_scope("GET", "/api/datasets", b"q=cohort"))


def test_the_thread_pool_gets_the_configured_threads_at_startup(runtime: Runtime) -> None:
    with TestClient(create_app(runtime=_node(runtime, worker_threads=7))) as client:
        assert client.portal is not None
        assert client.portal.call(lambda: anyio.to_thread.current_default_thread_limiter().total_tokens) == 7


def test_the_jwks_cache_refetches_after_expiry_and_on_an_unknown_kid() -> None:
    first, second = _key("k1"), _key("k2")
    with jwks_server([first]) as idp:
        cache = JwksCache(idp.url, ttl=0.3, unknown_kid_every=0.3)
        assert [k.kid for k in cache.keys("k1").keys] == ["k1"] and idp.fetches == 1
        cache.keys("k1")
        cache.keys(None)
        assert idp.fetches == 1  # fresh: from the cache
        time.sleep(0.35)
        cache.keys("k1")
        assert idp.fetches == 2  # expired: fetched again
        idp.keys = [first, second]  # the issuer rotates in a new key
        assert [k.kid for k in cache.keys("k2").keys] == ["k1"] and idp.fetches == 2  # a refetch only every 0.3 s
        time.sleep(0.35)
        assert sorted(str(k.kid) for k in cache.keys("k2").keys) == ["k1", "k2"] and idp.fetches == 3
        assert idp.fetches == cache.fetches


def test_a_token_with_a_new_kid_verifies_after_the_refetch(runtime: Runtime) -> None:
    first, second = _key("k1"), _key("k2")
    with jwks_server([first]) as idp:
        verifier = _node(runtime, idp.url).verifier
        assert verifier.verify(_token(first)).subject == "ada@slow.example"
        idp.keys = [second]
        # Over 30 s after the first fetch the unknown kid would trigger a refetch; here the cache is told so.
        cache = next(k.cache for k in verifier._issuers.values() if k.cache is not None)  # noqa: SLF001
        cache.unknown_kid_every = 0.0
        assert verifier.verify(_token(second, "bob@slow.example")).subject == "bob@slow.example"
        assert idp.fetches == 2


def test_concurrent_verifications_fetch_the_keys_once(runtime: Runtime) -> None:
    key = _key("k1")
    with jwks_server([key], delay=0.5) as idp:
        verifier = _node(runtime, idp.url).verifier
        tokens = [_token(key, f"user{i}@slow.example") for i in range(12)]
        barrier = threading.Barrier(len(tokens))

        def verify(token: str) -> str:
            barrier.wait()
            return verifier.verify(token).subject

        with ThreadPoolExecutor(len(tokens)) as pool:
            subjects = list(pool.map(verify, tokens))
    assert subjects == [f"user{i}@slow.example" for i in range(12)]
    assert idp.fetches == 1


@pytest.mark.serial  # a latency bound: measured alone, after the parallel run
def test_stale_keys_are_used_while_one_caller_refetches_them() -> None:
    key = _key("k1")
    with jwks_server([key]) as idp:
        cache = JwksCache(idp.url, ttl=0.2)
        cache.keys("k1")
        idp.delay = 10.0  # the issuer becomes slow
        idp.started.clear()
        time.sleep(0.25)
        with ThreadPoolExecutor(1) as pool:
            refetching = pool.submit(cache.keys, "k1")  # expired: this caller fetches (and waits, up to 3 s)
            assert idp.started.wait(BOUND * 5)
            started = time.monotonic()
            assert [k.kid for k in cache.keys("k1").keys] == ["k1"]  # the others keep verifying meanwhile
            assert time.monotonic() - started < BOUND
            assert [k.kid for k in refetching.result(timeout=20).keys] == ["k1"]  # the failed fetch kept them
        assert idp.fetches == 2


# The lock is waited for as long as a connection unless told otherwise; a lock_timeout shorter than a long
# pool_timeout (10 s, which would fail the bound) is what a request's time budget uses.
@pytest.mark.serial  # a latency bound: measured alone, after the parallel run
@pytest.mark.parametrize(("pool_timeout", "lock_timeout"), [(0.5, None), (10.0, 0.3)])
def test_a_write_waiting_for_anothers_lock_gives_503_with_retry_after(
        runtime: Runtime, session: Session, auth: Callable[[str], dict[str, str]], pool_timeout: float,
        lock_timeout: float | None) -> None:
    org = make_organisation(session)
    dataset = make_dataset(session, organisation_id=org.id)
    grant(session, "root@example.org", Role.admin)
    engine = make_engine(runtime.engine.url.render_as_string(hide_password=False), pool_size=4,
                         pool_timeout=pool_timeout, lock_timeout=lock_timeout)
    try:
        with served(_node(runtime, engine=engine)) as base:
            with runtime.engine.connect() as other:  # another writer: an ingestion, a long transaction
                other.execute(text("UPDATE catalogue_dataset SET title = 'Locked' WHERE id = :id"), {"id": dataset.id})
                started = time.monotonic()
                busy = httpx.patch(f"{base}/api/datasets/{dataset.id}", json={"title": "Renamed"},
                                   headers=auth("root@example.org"), timeout=BOUND * 5)
                took = time.monotonic() - started
                assert busy.status_code == 503 and took < BOUND, (busy.status_code, busy.text, took)
                assert busy.headers["retry-after"] == "1"
                assert busy.headers["content-type"] == "application/problem+json"
                health, took = _timed_get(f"{base}/healthz")
                assert health.status_code == 200 and took < BOUND
                other.rollback()
            done = httpx.patch(f"{base}/api/datasets/{dataset.id}", json={"title": "Renamed"},
                               headers=auth("root@example.org"), timeout=BOUND * 5)
            assert done.status_code == 200 and done.json()["title"] == "Renamed"
    finally:
        engine.dispose()
