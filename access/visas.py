"""GA4GH Passport visas: issue this node's, and accept other issuers' by the clearinghouse rules."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from sqlmodel import Session, col, select

from access import audit
from access.models import AccessRequest, RequestState
from access.rights import active_entitlements
from access.services.requests import request_datasets
from catalogue.identity import Caller
from catalogue.jwks import JwksCache, JwksUnavailable
from catalogue.models import Dataset
from catalogue.services.roles import require_authenticated
from catalogue.settings import Settings
from catalogue.tokens import LocalIssuer

__all__ = ["MAX_VISAS", "MAX_VISA_BYTES", "PassportCheck", "VisaVerifier", "issue_passport"]

MAX_VISAS = 100
MAX_VISA_BYTES = 16_384
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


def _epoch(value: datetime) -> int:
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def issue_passport(session: Session, caller: Caller, issuer: LocalIssuer, settings: Settings) -> list[str]:
    """The caller's visas: one ControlledAccessGrants per active entitlement (short-lived, never past its end)
    and one AcceptedTermsAndPolicies per data access agreement accepted in an approved request."""
    subject = require_authenticated(caller)
    base, now = settings.public_base_url, int(time.time())
    jku = f"{base}/.well-known/jwks.json"
    visas: list[str] = []

    def sign(visa: dict[str, Any], exp: int, dataset_id: str | None, request_id: str | None) -> None:
        jti = uuid.uuid4().hex
        claims = {"iss": issuer.issuer, "sub": subject, "iat": now, "exp": exp, "jti": jti, "ga4gh_visa_v1": visa}
        visas.append(issuer.sign(claims, jku=jku))
        audit.append(session, actor=subject, action="visa.issue", dataset_id=dataset_id, request_id=request_id,
                     visa_jti=jti, details={"type": visa["type"], "exp": exp})

    for entitlement in active_entitlements(session, subject):
        dataset = session.get(Dataset, entitlement.dataset_id)
        sign({"type": "ControlledAccessGrants", "asserted": _epoch(entitlement.start),
              "value": f"{base}/api/datasets/{entitlement.dataset_id}",
              "source": f"{base}/api/dacs/{dataset.dac_id if dataset else ''}", "by": "dac"},
             min(now + settings.visa_lifetime, _epoch(entitlement.end)), entitlement.dataset_id, entitlement.request_id)
    approved = session.exec(select(AccessRequest).where(
        AccessRequest.applicant == subject, AccessRequest.state == RequestState.approved.value)
        .order_by(col(AccessRequest.id))).all()
    for request in approved:
        for dataset_id in request_datasets(session, request.id):
            version = request.accepted_agreements.get(dataset_id)
            if version:
                asserted = _epoch(request.submitted_at or request.created_at)
                sign({"type": "AcceptedTermsAndPolicies", "asserted": asserted,
                      "value": f"{base}/api/datasets/{dataset_id}#agreement-{version}", "source": base, "by": "self"},
                     now + settings.visa_lifetime, dataset_id, request.id)
    session.commit()
    return visas


@dataclass(slots=True)
class PassportCheck:
    """Which datasets a passport's visas grant, and why the others were ignored."""

    datasets: dict[str, str] = field(default_factory=dict)  # dataset id -> visa jti
    rejected: list[dict[str, str]] = field(default_factory=list)


class VisaVerifier:
    """Checks visas: the (iss, jku) pair is allow-listed before any key is fetched; `by` present; no
    `conditions`; `asserted` not in the future; signature, expiry and subject verified.
    A jku's keys may be fetched: use it from the thread pool."""

    def __init__(self, settings: Settings, local: LocalIssuer | None) -> None:
        self._base = settings.public_base_url
        # (iss, jku) -> fixed keys, or the jku's keys fetched and cached for a time (no lock held across a fetch)
        self._trusted: dict[tuple[str, str], KeySet | JwksCache] = {}
        if local is not None:
            self._trusted[(local.issuer, f"{self._base}/.well-known/jwks.json")] = KeySet.import_key_set(local.jwks())
        for entry in settings.trusted_visa_issuers:
            self._trusted[(entry.iss, entry.jku)] = (
                KeySet.import_key_set(json.loads(entry.jwks_file.read_text())) if entry.jwks_file
                else JwksCache(entry.jku))

    def _keys(self, iss: str, jku: str, kid: str | None) -> KeySet:
        source = self._trusted[(iss, jku)]
        return source.keys(kid) if isinstance(source, JwksCache) else source

    def check(self, passport: list[str], subject: str) -> PassportCheck:
        result = PassportCheck()
        if len(passport) > MAX_VISAS:
            result.rejected.append({"visa": "*", "reason": f"more than {MAX_VISAS} visas; none was read"})
            return result
        for index, token in enumerate(passport):
            try:
                dataset_id, jti = self._one(token, subject)
            except _Refused as refused:
                result.rejected.append({"visa": str(index), "reason": str(refused)})
                continue
            if dataset_id:
                result.datasets[dataset_id] = jti
        return result

    def _one(self, token: str, subject: str) -> tuple[str | None, str]:
        if len(token) > MAX_VISA_BYTES:
            raise _Refused(f"larger than {MAX_VISA_BYTES} bytes")
        try:
            compact = extract_compact(token.encode())
            header, unverified = compact.headers(), json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeDecodeError):
            raise _Refused("not a well-formed JWT") from None
        iss, jku = unverified.get("iss"), header.get("jku")
        if not isinstance(iss, str) or not isinstance(jku, str) or (iss, jku) not in self._trusted:
            raise _Refused(f"issuer {iss!r} with jku {jku!r} is not trusted here")
        try:
            kid = header.get("kid")
            keys = self._keys(iss, jku, kid if isinstance(kid, str) else None)
            claims = jwt.decode(token, keys, algorithms=_ALGORITHMS).claims
            jwt.JWTClaimsRegistry(leeway=30, exp={"essential": True}, iss={"essential": True, "value": iss},
                                  sub={"essential": True, "value": subject}).validate(claims)
        except (JoseError, JwksUnavailable, ValueError) as exc:
            reason = exc.description if isinstance(exc, JoseError) and exc.description else type(exc).__name__
            raise _Refused(f"refused: {reason}") from None
        visa = claims.get("ga4gh_visa_v1")
        if not isinstance(visa, dict):
            raise _Refused("no ga4gh_visa_v1 claim")
        if "conditions" in visa:
            raise _Refused("visas with conditions are not evaluated here")
        if not visa.get("by"):
            raise _Refused("the visa does not say by whom it was asserted (by)")
        asserted = visa.get("asserted")
        if not isinstance(asserted, int) or asserted > time.time() + 30:
            raise _Refused("asserted is missing or lies in the future")
        jti = str(claims.get("jti", ""))
        if visa.get("type") != "ControlledAccessGrants":
            return None, jti
        value = str(visa.get("value", ""))
        dataset_id = value.removeprefix(f"{self._base}/api/datasets/")
        if "/" in dataset_id or not dataset_id:
            raise _Refused(f"{value} names no dataset of this node")
        return dataset_id, jti


class _Refused(Exception):
    pass
