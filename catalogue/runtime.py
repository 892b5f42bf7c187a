"""The per-process runtime every request reaches through dependencies: settings, engines, token services."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from catalogue.database import make_engine
from catalogue.settings import Settings
from catalogue.tokens import LocalIssuer, TokenVerifier

__all__ = ["Runtime", "build_runtime"]


@dataclass(frozen=True, slots=True)
class Runtime:
    settings: Settings
    engine: Engine  # the primary: every write, and every read that is not the Beacon's
    issuer: LocalIssuer | None
    verifier: TokenVerifier
    read_engine: Engine | None = None  # a read-only replica's (settings.database_read_url), if there is one

    @property
    def reader(self) -> Engine:
        """Where the Beacon's reads go: the replica when there is one, else the primary."""
        return self.read_engine or self.engine


def build_runtime(settings: Settings) -> Runtime:
    """Create the engine and the token services for `settings` (no connection is opened yet)."""
    issuer = None
    if settings.local_issuer:
        issuer = LocalIssuer(settings.data_dir / "keys" / "signing-key.json",
                             issuer=settings.issuer_url, audience=settings.token_audience)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout,
                         lock_timeout=settings.db_lock_timeout)
    reader = None
    if settings.database_read_url:
        reader = make_engine(settings.database_read_url, pool_size=settings.db_pool_size,
                             pool_timeout=settings.db_pool_timeout, lock_timeout=settings.db_lock_timeout,
                             read_only=True)
    return Runtime(settings=settings, engine=engine, issuer=issuer,
                   verifier=TokenVerifier(settings, issuer), read_engine=reader)
