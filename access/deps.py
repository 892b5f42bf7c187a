"""Access dependencies: the caller together with the datasets GA4GH visas sent with the request grant."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from access.services.requests import RemoteResolver, known_remote
from access.visas import VisaVerifier, remote_visa_issuers
from catalogue.deps import CallerDep, SessionDep
from catalogue.identity import Caller
from catalogue.runtime import Runtime

__all__ = [
    "PASSPORT_HEADER", "PassportCallerDep", "RemoteResolverDep", "rejected_visas", "remote_resolver", "visa_verifier",
    "with_visas",
]

PASSPORT_HEADER = "X-GA4GH-Passport"


def visa_verifier(request: Request) -> VisaVerifier:
    """One verifier per app, so that keys fetched from trusted issuers are cached."""
    verifier: VisaVerifier | None = getattr(request.app.state, "visa_verifier", None)
    if verifier is None:
        runtime: Runtime = request.app.state.runtime
        verifier = request.app.state.visa_verifier = VisaVerifier(runtime.settings, runtime.issuer)
    return verifier


def with_visas(request: Request, caller: CallerDep, session: SessionDep) -> Caller:
    """The caller, with the datasets granted by the visas in the X-GA4GH-Passport header (comma-separated
    visa JWTs); the ignored ones are kept for the response to report (`rejected_visas`).
    Plain `def`: a visa's keys may be fetched, and the datasets whose DAC sits at another node are read (their
    visas are accepted from that DAC's issuer only), so it runs on the thread pool."""
    if caller.subject is None:  # visas are bound to a signed-in subject: an anonymous caller's are not read
        return caller
    header = request.headers.get(PASSPORT_HEADER)
    if not header:
        return caller
    check = visa_verifier(request).check([v.strip() for v in header.split(",") if v.strip()], caller.subject,
                                         remote=remote_visa_issuers(session))
    request.state.rejected_visas = check.rejected
    return replace(caller, visa_grants=check.datasets, visa_expiries=check.expires)


def rejected_visas(request: Request) -> list[dict[str, str]]:
    # The scope's state dict itself: a missing attribute of `request.state` costs an exception.
    return list(request.scope.get("state", {}).get("rejected_visas") or [])


PassportCallerDep = Annotated[Caller, Depends(with_visas)]


def remote_resolver(request: Request) -> RemoteResolver:
    """How this app finds datasets held at other nodes: the federated catalogue when the app was given one
    (`app.state.remote_datasets`, set by the composition root), else only those requests here named before."""
    resolver: RemoteResolver | None = getattr(request.app.state, "remote_datasets", None)
    return resolver or known_remote


RemoteResolverDep = Annotated[RemoteResolver, Depends(remote_resolver)]
