"""Typed FastAPI dependencies: the runtime, a database session, and the caller (anonymous or signed in).

Those that touch the database or the network (a session's close, a token check that may fetch an issuer's
keys, a roles query) are plain `def`: FastAPI runs them on the thread pool, never on the event loop.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from sqlmodel import Session

from catalogue.database import session_scope
from catalogue.errors import Unauthenticated
from catalogue.identity import Caller
from catalogue.runtime import Runtime
from catalogue.services.roles import caller_for
from catalogue.settings import Settings

__all__ = ["CallerDep", "ReadSessionDep", "RuntimeDep", "SessionDep", "SettingsDep", "SignedInDep"]


async def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def get_settings(runtime: RuntimeDep) -> Settings:
    return runtime.settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


def get_session(runtime: RuntimeDep) -> Iterator[Session]:
    with session_scope(runtime.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_read_session(runtime: RuntimeDep, session: SessionDep) -> Iterator[Session]:
    """A session on the read replica's engine (read-only connections) for the Beacon's reads; without a
    replica, the request's own session (one connection, taken only when used)."""
    if runtime.read_engine is None:
        yield session
        return
    with session_scope(runtime.read_engine) as reads:
        yield reads


ReadSessionDep = Annotated[Session, Depends(get_read_session)]


def get_caller(request: Request, runtime: RuntimeDep, session: SessionDep) -> Caller:
    """Anonymous without an Authorization header; 401 for a bad token; else the principal and its roles."""
    # Read off the ASGI scope (names are lower-cased there): every request asks, most of them anonymous.
    header = next((value.decode("latin-1") for name, value in request.scope["headers"] if name == b"authorization"),
                  None)
    client = request.scope.get("client")
    address = client[0] if client else None
    if header is None:
        return Caller(address=address)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    principal = runtime.verifier.verify(token.strip())
    request.state.subject = principal.subject  # for the access log
    return replace(caller_for(session, principal), address=address)


async def get_signed_in(caller: Annotated[Caller, Depends(get_caller)]) -> Caller:
    if not caller.authenticated:
        raise Unauthenticated("this needs a signed-in caller: send Authorization: Bearer <token>")
    return caller


CallerDep = Annotated[Caller, Depends(get_caller)]
SignedInDep = Annotated[Caller, Depends(get_signed_in)]
