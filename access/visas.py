"""GA4GH Passport visas: issue this node's, and accept other issuers' by the clearinghouse rules."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import extract_compact
from sqlmodel import Session, col, select

from access import audit
from access.models import AccessRequest, RequestState, is_remote
from access.rights import active_entitlements
from access.services.requests import request_datasets
from catalogue.identity import Caller
from catalogue.jwks import JwksCache, JwksUnavailable
from catalogue.models import Dataset
from catalogue.services.remote_dacs import remote_dacs
from catalogue.services.roles import require_authenticated
from catalogue.settings import Settings
from catalogue.tokens import LocalIssuer

__all__ = [
    "MAX_VISAS", "MAX_VISA_BYTES", "PassportCheck", "VisaVerifier", "issue_passport", "remote_visa_issuers",
]

MAX_VISAS = 100
MAX_VISA_BYTES = 16_384
_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]


def _epoch(value: datetime) -> int:
    return int((value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp())


def _dataset_url(base: str, dataset_ref: str) -> str:
    """A dataset's URL: a remote dataset's reference is its URL at the node holding it."""
    return dataset_ref if is_remote(dataset_ref) else f"{base}/api/datasets/{dataset_ref}"


def issue_passport(session: Session, caller: Caller, issuer: LocalIssuer, settings: Settings) -> list[str]:
    """The caller's visas: one ControlledAccessGrants per active entitlement (short-lived, never past its end)
    and one AcceptedTermsAndPolicies per data access agreement accepted in an approved request.

    An entitlement to a dataset held at another node (its DAC sits here) gives a visa naming the dataset's URL
    there, living `federated_visa_lifetime` only: that node cannot ask this one whether access was revoked since,
    so the visa's expiry is how soon a revocation here reaches it."""
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
        ref = entitlement.dataset_id
        if is_remote(ref):
            request = session.get(AccessRequest, entitlement.request_id)
            dac_id, lifetime = (request.dac_id if request else ""), settings.federated_visa_lifetime
        else:
            dataset = session.get(Dataset, ref)
            dac_id, lifetime = ((dataset.dac_id or "") if dataset else ""), settings.visa_lifetime
        sign({"type": "ControlledAccessGrants", "asserted": _epoch(entitlement.start),
              "value": _dataset_url(base, ref), "source": f"{base}/api/dacs/{dac_id}", "by": "dac"},
             min(now + lifetime, _epoch(entitlement.end)), ref, entitlement.request_id)
    approved = session.exec(select(AccessRequest).where(
        AccessRequest.applicant == subject, AccessRequest.state == RequestState.approved.value)
        .order_by(col(AccessRequest.id))).all()
    for request in approved:
        for dataset_id in request_datasets(session, request.id):
            version = request.accepted_agreements.get(dataset_id)
            if version:
                asserted = _epoch(request.submitted_at or request.created_at)
                lifetime = settings.federated_visa_lifetime if is_remote(dataset_id) else settings.visa_lifetime
                sign({"type": "AcceptedTermsAndPolicies", "asserted": asserted,
                      "value": f"{_dataset_url(base, dataset_id)}#agreement-{version}", "source": base, "by": "self"},
                     now + lifetime, dataset_id, request.id)
    session.commit()
    return visas


def remote_visa_issuers(session: Session) -> dict[str, tuple[str, str]]:
    """Datasets held here whose DAC sits at another node -> the (iss, jku) of that DAC's visas."""
    return {d: (r.visa_issuer, r.jku) for d, r in remote_dacs(session).items()}


@dataclass(slots=True)
class PassportCheck:
    """Which datasets a passport's visas grant, and why the others were ignored."""

    datasets: dict[str, str] = field(default_factory=dict)  # dataset id -> visa jti
    expires: dict[str, int] = field(default_factory=dict)  # dataset id -> the granting visa's exp
    rejected: list[dict[str, str]] = field(default_factory=list)


class VisaVerifier:
    """Checks visas: the (iss, jku) pair is allow-listed before any key is fetched; `by` present; no
    `conditions`; `asserted` not in the future; signature, expiry and subject verified.

    Two allow-lists: this node's issuer and `trusted_visa_issuers` grant any dataset without a DAC at another
    node; a dataset whose access a DAC at another node decides (`remote`, dataset id -> (iss, jku)) is granted
    only by that DAC's pair, and that pair grants nothing else (unless it is also trusted globally). A remote
    DAC's visa must be short-lived (exp - iat at most `remote_visa_max_lifetime`), so that a revocation there
    reaches this node soon. A jku's keys may be fetched: use it from the thread pool."""

    def __init__(self, settings: Settings, local: LocalIssuer | None) -> None:
        self._base = settings.public_base_url
        self._leeway = settings.visa_leeway_seconds
        self._remote_max = settings.remote_visa_max_lifetime
        # (iss, jku) -> fixed keys, or the jku's keys fetched and cached for a time (no lock held across a fetch)
        self._trusted: dict[tuple[str, str], KeySet | JwksCache] = {}
        self._remote_keys: dict[tuple[str, str], JwksCache] = {}  # remote DACs' jkus, cached once first used
        if local is not None:
            self._trusted[(local.issuer, f"{self._base}/.well-known/jwks.json")] = KeySet.import_key_set(local.jwks())
        for entry in settings.trusted_visa_issuers:
            self._trusted[(entry.iss, entry.jku)] = (
                KeySet.import_key_set(json.loads(entry.jwks_file.read_text())) if entry.jwks_file
                else JwksCache(entry.jku))

    def _keys(self, iss: str, jku: str, kid: str | None) -> KeySet:
        source = self._trusted.get((iss, jku))
        if source is None:
            source = self._remote_keys.setdefault((iss, jku), JwksCache(jku))
        return source.keys(kid) if isinstance(source, JwksCache) else source

    def check(self, passport: list[str], subject: str, *,
              remote: Mapping[str, tuple[str, str]] | None = None) -> PassportCheck:
        """The datasets the passport's visas grant `subject`; `remote` maps each dataset whose DAC sits at another
        node to the (iss, jku) of that DAC's visas."""
        result = PassportCheck()
        if len(passport) > MAX_VISAS:
            result.rejected.append({"visa": "*", "reason": f"more than {MAX_VISAS} visas; none was read"})
            return result
        remote = remote or {}
        for index, token in enumerate(passport):
            try:
                dataset_id, jti, exp = self._one(token, subject, remote)
            except _Refused as refused:
                result.rejected.append({"visa": str(index), "reason": str(refused)})
                continue
            if dataset_id:
                result.datasets[dataset_id] = jti
                result.expires[dataset_id] = exp
        return result

    def _dataset(self, visa: Any) -> str | None:
        """The dataset of this node a ControlledAccessGrants visa names (None for other visa types)."""
        if not isinstance(visa, dict) or visa.get("type") != "ControlledAccessGrants":
            return None
        value = str(visa.get("value", ""))
        dataset_id = value.removeprefix(f"{self._base}/api/datasets/")
        if "/" in dataset_id or not dataset_id:
            raise _Refused(f"{value} names no dataset of this node")
        return dataset_id

    def _allowed(self, iss: Any, jku: Any, visa: Any, remote: Mapping[str, tuple[str, str]]) -> tuple[str, str]:
        """Refuse an (iss, jku) pair before any key is fetched: not allow-listed at all, or not for this dataset."""
        pair = (iss, jku)
        globally = pair in self._trusted
        if not isinstance(iss, str) or not isinstance(jku, str) or not (globally or pair in remote.values()):
            raise _Refused(f"issuer {iss!r} with jku {jku!r} is not trusted here")
        dataset_id = self._dataset(visa)
        if dataset_id is not None and dataset_id in remote and remote[dataset_id] != pair:
            raise _Refused(f"access to {dataset_id} is decided by the DAC at another node: its visas are accepted "
                           f"from {remote[dataset_id][0]} only")
        if dataset_id is not None and dataset_id not in remote and not globally:
            raise _Refused(f"issuer {iss!r} is trusted only for the datasets its DAC decides, not for {dataset_id}")
        return pair

    def _one(self, token: str, subject: str,
             remote: Mapping[str, tuple[str, str]]) -> tuple[str | None, str, int]:
        if len(token) > MAX_VISA_BYTES:
            raise _Refused(f"larger than {MAX_VISA_BYTES} bytes")
        try:
            compact = extract_compact(token.encode())
            header, unverified = compact.headers(), json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeDecodeError):
            raise _Refused("not a well-formed JWT") from None
        if not isinstance(unverified, dict):
            raise _Refused("not a well-formed JWT")
        iss, jku = self._allowed(unverified.get("iss"), header.get("jku"), unverified.get("ga4gh_visa_v1"), remote)
        try:
            kid = header.get("kid")
            keys = self._keys(iss, jku, kid if isinstance(kid, str) else None)
            claims = jwt.decode(token, keys, algorithms=_ALGORITHMS).claims
            jwt.JWTClaimsRegistry(leeway=self._leeway, exp={"essential": True}, iss={"essential": True, "value": iss},
                                  sub={"essential": True, "value": subject}).validate(claims)
        except (JoseError, JwksUnavailable, ValueError) as exc:
            reason = exc.description if isinstance(exc, JoseError) and exc.description else type(exc).__name__
            raise _Refused(f"refused: {reason}") from None
        if (iss, jku) not in self._trusted:  # a remote DAC's visa: short-lived, or a revocation would take too long
            iat, exp = claims.get("iat"), claims.get("exp")
            if not isinstance(iat, int) or not isinstance(exp, int) or exp - iat > self._remote_max:
                raise _Refused(f"a remote DAC's visa must say when it was issued (iat) and live at most "
                               f"{self._remote_max} s")
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
        return self._dataset(visa), str(claims.get("jti", "")), int(claims["exp"])


class _Refused(Exception):
    pass
