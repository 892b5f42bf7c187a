"""The per-process runtime every request reaches through dependencies: settings, engine, token services."""

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
    engine: Engine
    issuer: LocalIssuer | None
    verifier: TokenVerifier


def build_runtime(settings: Settings) -> Runtime:
    """Create the engine and the token services for `settings` (no connection is opened yet)."""
    issuer = None
    if settings.local_issuer:
        issuer = LocalIssuer(settings.data_dir / "keys" / "signing-key.json",
                             issuer=settings.issuer_url, audience=settings.token_audience)
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size, pool_timeout=settings.db_pool_timeout,
                         lock_timeout=settings.db_lock_timeout)
    return Runtime(settings=settings, engine=engine, issuer=issuer,
                   verifier=TokenVerifier(settings, issuer))
