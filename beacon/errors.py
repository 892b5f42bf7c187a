"""Beacon errors: each names the request parameter at fault and maps to a Beacon error response."""

from __future__ import annotations

from catalogue.errors import InvalidInput

__all__ = ["InvalidParameter", "UnsupportedParameter"]


class InvalidParameter(InvalidInput):
    """A Beacon request parameter is malformed or contradicts another. Correct the named parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}", field=field)


class UnsupportedParameter(InvalidParameter):
    """The parameter is valid Beacon v2 but this Beacon does not answer it yet. Leave it out."""
