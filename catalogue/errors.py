"""The error base every area subclasses; each class's docstring says how to fix the problem."""

from __future__ import annotations

__all__ = [
    "Conflict",
    "DomainError",
    "Forbidden",
    "InvalidInput",
    "NotFound",
    "RateLimited",
    "Unauthenticated",
]


class DomainError(Exception):
    """Base of every error GenomeGate reports to a person; its message is safe to show them.

    `field` names the input at fault, when there is one (a request field, a file, a CLI option).
    """

    title = "Request failed"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(DomainError):
    """The input breaks a rule; the message names the field and the rule. Correct it and retry."""

    title = "Invalid input"


class NotFound(DomainError):
    """Nothing has that identifier (or the caller may not know it exists). Check the identifier."""

    title = "Not found"


class Conflict(DomainError):
    """The request clashes with the current state (a duplicate, a stale state). Re-read, then retry."""

    title = "Conflict"


class Unauthenticated(DomainError):
    """No valid bearer token came with the request. Sign in (or get a token) and send it."""

    title = "Authentication required"


class Forbidden(DomainError):
    """The caller is known but lacks the role this needs. Ask an administrator for the role."""

    title = "Forbidden"


class RateLimited(DomainError):
    """The caller has used up what it may ask for now. Wait `retry_after` seconds (when given), or ask less."""

    title = "Too many requests"

    def __init__(self, message: str, *, retry_after: int | None = None, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after
