"""Errors of the job ledger and of kinds."""

from __future__ import annotations

from catalogue.errors import Conflict, DomainError, NotFound

__all__ = ["GiveUp", "JobBusy", "JobNotFound", "NotRetryable", "UnknownKind"]


class JobNotFound(NotFound):
    """No job has this id: list them with `genomegate jobs list` or GET /api/jobs."""


class NotRetryable(Conflict):
    """Only a failed job can be retried; a queued or running one is still on its way, a succeeded one is done."""


class UnknownKind(DomainError):
    """No kind of this name is registered in this process: the worker may run an older release than the server
    that submitted the job. Upgrade the worker, then retry the job."""


class GiveUp(DomainError):
    """Raised by a kind whose failure another attempt cannot mend (bad input): the job fails at once."""


class JobBusy(Conflict):
    """The job is not queued: a worker has it, or it ended; it cannot be run here too."""
