"""Access dependencies: the caller together with the datasets GA4GH visas sent with the request grant."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request

from access.holders import named_holder, visa_issuer
from access.services.requests import RemoteResolver, known_remote
from access.visas import VisaVerifier, remote_visa_issuers
from catalogue.deps import CallerDep, SessionDep
from catalogue.identity import Caller, Principal
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

    Visas are bound to the token's subject. Without a token (a network Beacon forwarding only the passport),
    the caller is the one subject the visas name, as known to the issuer of the first visa that verifies
    (`access.holders`); with no visa verifying, the caller stays anonymous.
    Plain `def`: a visa's keys may be fetched, and the datasets whose DAC sits at another node are read (their
    visas are accepted from that DAC's issuer only), so it runs on the thread pool."""
    header = request.headers.get(PASSPORT_HEADER)
    if not header:
        return caller
    visas = [v.strip() for v in header.split(",") if v.strip()]
    subject = caller.subject
    if subject is None:
        named = named_holder(visas)
        if named is None:
            request.state.rejected_visas = [{"visa": "*", "reason": "without a bearer token the visas must all "
                                                                   "name one subject"}]
            return caller
        subject = named.subject
    check = visa_verifier(request).check(visas, subject, remote=remote_visa_issuers(session))
    request.state.rejected_visas = check.rejected
    granted = replace(caller, visa_grants=check.datasets, visa_expiries=check.expires)
    if caller.subject is None:
        refused = {r["visa"] for r in check.rejected}
        verified = [v for i, v in enumerate(visas) if str(i) not in refused and "*" not in refused]
        issuer = visa_issuer(verified[0]) if verified else None
        if issuer is None:
            return caller
        request.state.subject = subject  # for the access log
        return replace(granted, principal=Principal(subject=subject, issuer=issuer))
    return granted


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
