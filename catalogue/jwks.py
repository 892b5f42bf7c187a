"""A JWKS fetched over HTTP and cached for a time: one fetch at a time, and nobody waits who has keys to use."""

from __future__ import annotations

import threading
import time

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

__all__ = ["FETCH_TIMEOUT", "JwksCache", "JwksUnavailable"]

FETCH_TIMEOUT = 3.0  # seconds: connect, read, write and pool each
TTL = 600.0  # seconds a fetched key set is used before it is fetched again
UNKNOWN_KID_EVERY = 30.0  # at most one refetch this often for a `kid` the cached set lacks
RETRY_EMPTY = 5.0  # while no keys were ever fetched: at most one attempt this often


class JwksUnavailable(Exception):
    """No key set of `url` could be fetched (yet): the server did not answer in time, or not with a JWKS."""


class JwksCache:
    """The key set at `url`, fetched on first use and again after `ttl` seconds, or when a token names a `kid`
    the cached set lacks (at most every `unknown_kid_every` seconds).

    Thread-safe, and no lock is held across the fetch: one caller fetches (single flight); the others use
    the keys they have meanwhile (stale ones too), and only callers without any keys (the first use, or an
    unknown `kid`) wait for that fetch, at most its timeout. Call it from the thread pool, never the event loop.
    """

    def __init__(self, url: str, *, ttl: float = TTL, unknown_kid_every: float = UNKNOWN_KID_EVERY,
                 timeout: float = FETCH_TIMEOUT) -> None:
        self.url, self.ttl, self.unknown_kid_every, self.timeout = url, ttl, unknown_kid_every, timeout
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")  # when the cached keys were fetched
        self._tried_at = float("-inf")  # when a fetch last started
        self._lock = threading.Lock()  # guards the fields above and `_flight`; never held across a fetch
        self._flight: threading.Event | None = None  # set when the fetch in progress ends
        self.fetches = 0  # fetches started (for operators and tests)

    def keys(self, kid: str | None = None) -> KeySet:
        """Keys to verify a token whose header names `kid`; JwksUnavailable when there are none at all."""
        while True:  # a second round only after waiting for another caller's fetch
            now = time.monotonic()
            with self._lock:
                keys, flight = self._keys, self._flight
                known = keys is not None and (kid is None or any(k.kid == kid for k in keys.keys))
                fresh = now - self._fetched_at < self.ttl
                if keys is not None and known and fresh:
                    return keys
                if keys is None:
                    interval = RETRY_EMPTY
                elif not fresh and self._tried_at <= self._fetched_at:  # expired, not tried since: fetch now
                    interval = 0.0
                else:  # a kid the keys lack, or a failed attempt since they expired
                    interval = self.unknown_kid_every
                due = now - self._tried_at >= interval
                lead = flight is None and due
                if lead:
                    flight = self._flight = threading.Event()
                    self._tried_at = now
                    self.fetches += 1
            if lead:
                assert flight is not None
                self._fetch(flight)
                with self._lock:  # what the fetch left, whatever it was (one attempt per call)
                    if self._keys is None:
                        raise JwksUnavailable(f"no keys could be fetched from {self.url}")
                    return self._keys
            if keys is not None and (known or flight is None):
                # Stale keys while another thread fetches them again, or a kid they lack within the refetch
                # interval: verification with them then succeeds or fails cleanly.
                return keys
            if flight is None:
                raise JwksUnavailable(f"no keys could be fetched from {self.url}; retried at most every "
                                      f"{RETRY_EMPTY:.0f} s")
            if not flight.wait(self.timeout * 4 + 1):  # each phase of a fetch is bounded by `timeout`
                raise JwksUnavailable(f"the keys at {self.url} did not arrive in time")
            with self._lock:
                if self._keys is keys:  # the fetch waited for failed, or brought nothing new
                    if keys is None:
                        raise JwksUnavailable(f"no keys could be fetched from {self.url}")
                    return keys

    def _fetch(self, flight: threading.Event) -> None:
        fetched: KeySet | None = None
        try:
            response = httpx.get(self.url, timeout=self.timeout)
            response.raise_for_status()
            fetched = KeySet.import_key_set(response.json())
        except (httpx.HTTPError, ValueError, JoseError, TypeError):
            pass  # keep the keys we had; verification fails cleanly if none match
        finally:
            with self._lock:
                if fetched is not None:
                    self._keys, self._fetched_at = fetched, time.monotonic()
                self._flight = None
            flight.set()
