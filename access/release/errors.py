"""Errors of data release, and their htsget error names; each says what the caller can do about it."""

from __future__ import annotations

from catalogue.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, Unauthenticated

__all__ = [
    "HTSGET_ERRORS",
    "InvalidRange",
    "NoKey",
    "NotEntitled",
    "StoredFileChanged",
    "TokenRefused",
    "UnsupportedFormat",
    "WrongToken",
    "htsget_error",
]


class UnsupportedFormat(InvalidInput):
    """The file is not kept in the requested format (no conversion is done). Ask for the format named."""


class InvalidRange(InvalidInput):
    """start is after end, or the range lies outside what a 32-bit position can name. Give 0 <= start <= end."""


class NotEntitled(Forbidden):
    """No active entitlement (or accepted visa) covers this dataset. Request access; renew an expired one."""


class TokenRefused(Unauthenticated):
    """A block URL's token is missing, malformed, forged or expired. Ask for a new ticket."""


class WrongToken(Forbidden):
    """The block token was issued for another caller, dataset, file or region. Use the ticket's own URLs."""


class NoKey(NotFound):
    """No Crypt4GH public key is registered for you (or not the one named). Register one at /api/access/keys."""


class StoredFileChanged(Conflict):
    """A stored file no longer has the sha256 the catalogue holds for it. Restore it from a backup, then retry."""


# htsget 1.3 error names and statuses, looked up along the error's class hierarchy.
HTSGET_ERRORS: dict[type[DomainError], tuple[int, str]] = {
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
