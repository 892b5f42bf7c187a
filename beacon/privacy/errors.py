"""Refusals of the privacy budget: they depend only on public frequencies and what the account asked before."""

from __future__ import annotations

from datetime import datetime

from catalogue.errors import Forbidden, RateLimited

__all__ = ["BudgetExhausted", "TooRevealing"]


class BudgetExhausted(RateLimited):
    """The account's (or its organisation's) membership-inference budget for the dataset is spent.

    Every new question about the dataset is refused until the budget renews (`renews_at`, `retry_after`
    seconds; never when renewal is off). Questions asked before are still answered. For more, request access
    to the dataset: record-level rights are not budgeted.
    """

    title = "Privacy budget spent"

    def __init__(self, message: str, *, renews_at: datetime | None = None, retry_after: int | None = None) -> None:
        super().__init__(message, retry_after=retry_after)
        self.renews_at = renews_at


class TooRevealing(Forbidden):
    """The question alone could reveal whether one person is in the cohort (an allele no public panel shows
    to be common). It is never answered without record-level rights: request access to the dataset."""

    title = "Question too revealing"
