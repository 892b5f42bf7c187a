"""Errors of data release, and their htsget error names; each says what the caller can do about it."""

from __future__ import annotations

from catalogue.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, RateLimited, Unauthenticated

__all__ = [
    "HTSGET_ERRORS",
    "InvalidRange",
    "NoKey",
    "NotEntitled",
    "StoredFileChanged",
    "TokenRefused",
    "UnsupportedFormat",
    "WrongMethod",
    "WrongToken",
    "htsget_error",
]


class UnsupportedFormat(InvalidInput):
    """The format asked is not one served (VCF, BCF), or this file cannot be converted to it. Ask its own format."""


class InvalidRange(InvalidInput):
    """start is after end, or the range lies outside what a 32-bit position can name. Give 0 <= start <= end."""


class NotEntitled(Forbidden):
    """No active entitlement (or accepted visa) covers this dataset. Request access; renew an expired one."""


class TokenRefused(Unauthenticated):
    """A block URL's token is missing, malformed, forged or expired. Ask for a new ticket."""


class WrongToken(Forbidden):
    """The block token was issued for another caller, dataset, file or region. Use the ticket's own URLs."""


class WrongMethod(InvalidInput):
    """This /htsget path does not take this HTTP method. Use the one the message names."""


class NoKey(NotFound):
    """No Crypt4GH public key is registered for you (or not the one named). Register one at /api/access/keys."""


class StoredFileChanged(Conflict):
    """A stored file no longer has the sha256 the catalogue holds for it. Restore it from a backup, then retry."""


# htsget 1.3 error names and statuses, looked up along the error's class hierarchy. htsget names no error for
# a rate limit or a wrong method: "TooManyRequests" is this node's own name, in the htsget shape (with
# Retry-After), as "ServiceUnavailable" is for a busy server; a wrong method is InvalidInput, with status 405.
HTSGET_ERRORS: dict[type[DomainError], tuple[int, str]] = {
    RateLimited: (429, "TooManyRequests"),
    WrongMethod: (405, "InvalidInput"),
    Unauthenticated: (401, "InvalidAuthentication"),
    Forbidden: (403, "PermissionDenied"),
    NotFound: (404, "NotFound"),
    UnsupportedFormat: (400, "UnsupportedFormat"),
    InvalidRange: (400, "InvalidRange"),
    InvalidInput: (400, "InvalidInput"),
}


def htsget_error(error: DomainError) -> tuple[int, str]:
    """(status, htsget error name) of a domain error; 400 InvalidInput when nothing closer is mapped."""
    for cls in type(error).__mro__:
        if cls in HTSGET_ERRORS:
            return HTSGET_ERRORS[cls]
    return 400, "InvalidInput"
