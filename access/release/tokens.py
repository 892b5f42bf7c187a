"""Block tokens: short-lived HMAC-signed grants naming the caller, dataset, file, part and region of one URL."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from dataclasses import asdict, dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from joserfc.jws import extract_compact

from access.release.errors import TokenRefused

__all__ = ["AUDIENCE", "BlockGrant", "is_block_token", "read_block_token", "sign_block_token"]

AUDIENCE = "genomegate:htsget-block"
_TYP = "gg-block+jwt"
_ALG = "HS256"


@dataclass(frozen=True, slots=True)
class BlockGrant:
    """What one block URL may serve, to whom, until when (epoch seconds)."""

    subject: str
    dataset_id: str
    file_id: str
    part: str  # "header" | "body" | "file"
    contig: str | None = None  # the file's own contig name, for a body
    start: int | None = None
    end: int | None = None
    expires_at: int = 0
    visa_jti: str | None = None  # set when a GA4GH visa, not an entitlement, granted the ticket
    grounds: str = "entitlement"  # access.release.policy.Grounds: what each block checks again
    convert: str | None = None  # the format a header or body is converted to, when not the file's own
    variant: str | None = None  # sha256 of the copy without opted-out samples it serves (access.release.derived)


def _key(secret: str) -> OctKey:
    # A key of its own, derived from the node secret, so a block token is never valid as anything else.
    return OctKey.import_key(hmac.new(secret.encode(), b"genomegate htsget block token v1", hashlib.sha256).digest())


def sign_block_token(secret: str, grant: BlockGrant, *, now: int) -> str:
    claims = {"aud": AUDIENCE, "iat": now, "jti": uuid.uuid4().hex, **asdict(grant)}
    claims["exp"] = claims.pop("expires_at")
    claims["sub"] = claims.pop("subject")
    return jwt.encode({"alg": _ALG, "typ": _TYP}, claims, _key(secret))


def is_block_token(token: str) -> bool:
    """Whether a bearer token is shaped like a block token (cheap; proves nothing)."""
    try:
        header = extract_compact(token.encode()).headers()
    except (JoseError, ValueError, UnicodeDecodeError):
        return False
    return header.get("typ") == _TYP


def _old_grounds(claims: dict[str, object]) -> str:
    # tokens signed before grounds were named: granted by a visa, else by an entitlement
    return "visa" if claims.get("visa_jti") else "entitlement"


def read_block_token(secret: str, token: str, *, now: int) -> BlockGrant:
    """The grant a token carries; TokenRefused when it is malformed, forged, for another audience or expired."""
    try:
        claims = jwt.decode(token, _key(secret), algorithms=[_ALG]).claims
    except (JoseError, ValueError, UnicodeDecodeError, json.JSONDecodeError):
        raise TokenRefused("the block token is malformed or its signature is wrong; ask for a new ticket") from None
    if claims.get("aud") != AUDIENCE:
        raise TokenRefused("this token is not a block token")
    expires = claims.get("exp")
    if not isinstance(expires, int) or expires <= now:
        raise TokenRefused("the block token has expired; ask for a new ticket")
    try:
        return BlockGrant(subject=str(claims["sub"]), dataset_id=str(claims["dataset_id"]),
                          file_id=str(claims["file_id"]), part=str(claims["part"]), contig=claims.get("contig"),
                          start=claims.get("start"), end=claims.get("end"), expires_at=expires,
                          visa_jti=claims.get("visa_jti"), grounds=str(claims.get("grounds") or _old_grounds(claims)),
                          convert=claims.get("convert"), variant=claims.get("variant"))
    except KeyError:
        raise TokenRefused("the block token lacks a claim") from None
