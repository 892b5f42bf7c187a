"""Errors of the access workflow; each says what the caller can do about it."""

from __future__ import annotations

from catalogue.errors import Conflict, Forbidden, InvalidInput

__all__ = ["IncompatibleUse", "InvalidTransition", "NotYourRequest", "Recused", "StaleRequest", "VisaRejected"]


class InvalidTransition(Conflict):
    """The command is not allowed in the request's current state; the message lists what is allowed."""


class StaleRequest(Conflict):
    """Someone changed the request at the same moment (another decision won). Reload it and look again."""


class NotYourRequest(Forbidden):
    """Only the applicant may do this to a request. Ask the applicant."""


class Recused(Forbidden):
    """A DAC member cannot review or decide a request in which they are an applicant; another member must."""


class IncompatibleUse(InvalidInput):
    """The research purpose is incompatible with a dataset's data use conditions (see the reasons)."""


class VisaRejected(InvalidInput):
    """A GA4GH visa was not accepted; the message says why (issuer, signature, expiry, conditions...)."""
