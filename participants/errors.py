"""Errors of the participant side; each says what to do about it."""

from __future__ import annotations

from catalogue.errors import InvalidInput, NotFound

__all__ = ["BadLinkSheet", "NotAParticipant"]


class BadLinkSheet(InvalidInput):
    """The link sheet cannot be read: it needs a header naming the sample and participant columns, then one sample
    per line. Fix the line the message names and upload it again."""

    title = "Invalid link sheet"


class NotAParticipant(NotFound):
    """No sample is linked to the signed-in person (or the page is somebody else's). If you took part in a study
    held here, ask its data steward to link your samples; sign in with the account the study knows you by."""

    title = "Not found"
