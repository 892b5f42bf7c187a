"""Bearer tokens: the built-in local issuer (keys in the data dir) and verification against trusted issuers."""

from __future__ import annotations

import json
import os
import re
import time
import uuid
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, KeySetSerialization, RSAKey
from joserfc.jws import extract_compact

from catalogue.errors import InvalidInput, Unauthenticated
from catalogue.identity import Principal
from catalogue.jwks import JwksCache, JwksUnavailable
from catalogue.settings import Settings, TrustedIssuer

__all__ = ["LocalIssuer", "TokenVerifier", "parse_duration"]

_ALGORITHMS = ["RS256", "RS384", "RS512", "ES256", "ES384", "PS256"]
_LEEWAY = 30  # seconds of clock skew tolerated on exp/nbf


def parse_duration(text: str) -> timedelta:
    """`90s`, `15m`, `8h`, `30d` -> timedelta; InvalidInput for anything else."""
    match = re.fullmatch(r"\s*(\d+)\s*([smhd])\s*", text)
    if not match or int(match.group(1)) == 0:
        raise InvalidInput(f"duration {text!r} is not like 90s, 15m, 8h or 30d", field="expires")
    unit = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[match.group(2)]
    return timedelta(**{unit: int(match.group(1))})


class LocalIssuer:
    """Signs tokens with an RSA key kept in the data dir; its public keys are served as a JWKS."""

    def __init__(self, key_path: Path, *, issuer: str, audience: str) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = self._load_or_create(key_path)

    @staticmethod
    def _load_or_create(path: Path) -> RSAKey:
        if path.exists():
            return RSAKey.import_key(json.loads(path.read_text()))
        path.parent.mkdir(parents=True, exist_ok=True)
        key = RSAKey.generate_key(2048, parameters={"kid": uuid.uuid4().hex[:16], "use": "sig", "alg": "RS256"})
        # Written to a private temporary file and renamed, so that two processes racing here
        # both end up reading one key rather than a half-written file.
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(key.as_dict(private=True), out)
        try:
            os.link(tmp, path)
        except FileExistsError:
            tmp.unlink()
            return RSAKey.import_key(json.loads(path.read_text()))
        tmp.unlink()
        return key

    @property
    def kid(self) -> str:
        return str(self._key.kid)

    def jwks(self) -> KeySetSerialization:
        return {"keys": [self._key.as_dict(private=False)]}

    def sign(self, claims: Mapping[str, Any], *, typ: str = "JWT", jku: str | None = None) -> str:
        """Sign arbitrary claims with the node key (used for tokens, visas and download tickets)."""
        header: dict[str, Any] = {"alg": "RS256", "kid": self.kid, "typ": typ}
        if jku:
            header["jku"] = jku
        return jwt.encode(header, dict(claims), self._key)

    def issue(self, subject: str, *, name: str | None = None, email: str | None = None,
              affiliation: str | None = None, expires: timedelta = timedelta(hours=8)) -> str:
        """A bearer token for `subject` that this node's server accepts."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer, "aud": self.audience, "sub": subject,
            "iat": now, "nbf": now, "exp": now + int(expires.total_seconds()), "jti": uuid.uuid4().hex,
        }
        if name:
            claims["name"] = name
        if email:
            claims["email"] = email
        if affiliation:
            claims["schac_home_organization"] = affiliation
        return self.sign(claims)


class _IssuerKeys:
    """The keys of one trusted issuer: fixed (a file, the local issuer), or a JWKS URL's, cached (`JwksCache`)."""

    def __init__(self, issuer: str, audience: str, *, keys: KeySet | None = None,
                 jwks_url: str | None = None) -> None:
        self.issuer, self.audience, self.jwks_url = issuer, audience, jwks_url
        self._keys = keys
        self.cache = JwksCache(jwks_url) if jwks_url else None

    def keyset(self, kid: str | None) -> KeySet:
        if self.cache is not None:
            try:
                return self.cache.keys(kid)
            except JwksUnavailable:
                raise Unauthenticated(f"keys of issuer {self.issuer} are unavailable") from None
        if self._keys is None:
            raise Unauthenticated(f"keys of issuer {self.issuer} are unavailable")
        return self._keys


class TokenVerifier:
    """Verifies bearer tokens: signature against the issuer's keys, then iss, aud, exp and nbf."""

    def __init__(self, settings: Settings, local: LocalIssuer | None) -> None:
        self._issuers: dict[str, _IssuerKeys] = {}
        self._participant_claim = settings.participant_claim
        if local is not None:
            self._issuers[local.issuer] = _IssuerKeys(
                local.issuer, local.audience, keys=KeySet.import_key_set(local.jwks()))
        for trusted in settings.trusted_issuers:
            self._issuers[trusted.issuer] = self._trusted(trusted)

    @staticmethod
    def _trusted(trusted: TrustedIssuer) -> _IssuerKeys:
        if trusted.jwks_file is not None:
            keys = KeySet.import_key_set(json.loads(trusted.jwks_file.read_text()))
            return _IssuerKeys(trusted.issuer, trusted.audience, keys=keys)
        return _IssuerKeys(trusted.issuer, trusted.audience, jwks_url=trusted.jwks_url)

    def verify(self, token: str) -> Principal:
        """The principal a valid token names; Unauthenticated (with a reason) for anything else.

        May fetch an issuer's keys (at most `catalogue.jwks.FETCH_TIMEOUT` per phase): call it from the thread pool.
        """
        try:
            compact = extract_compact(token.encode())
            header, unverified = compact.headers(), json.loads(compact.payload)
        except (JoseError, ValueError, UnicodeDecodeError):
            raise Unauthenticated("the bearer token is not a well-formed JWT") from None
        if not isinstance(unverified, dict) or not isinstance(unverified.get("iss"), str):
            raise Unauthenticated("the bearer token has no issuer") from None
        source = self._issuers.get(unverified["iss"])
        if source is None:
            raise Unauthenticated("the token's issuer is not trusted here")
        try:
            verified = jwt.decode(token, source.keyset(header.get("kid")), algorithms=_ALGORITHMS)
            registry = jwt.JWTClaimsRegistry(
                leeway=_LEEWAY,
                iss={"essential": True, "value": source.issuer},
                aud={"essential": True, "value": source.audience},
                exp={"essential": True},
                sub={"essential": True},
            )
            registry.validate(verified.claims)
        except JoseError as exc:
            raise Unauthenticated(f"the bearer token was refused: {exc.description or exc.error}") from None
        claims = verified.claims
        return Principal(
            subject=str(claims["sub"]), issuer=source.issuer,
            name=claims.get("name"), email=claims.get("email"),
            affiliation=_text(claims.get("schac_home_organization")),
            participant_id=_text(claims.get(self._participant_claim)),
        )


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
