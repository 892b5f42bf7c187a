"""Every kind of background job, registered by importing each area's tasks module (the server and workers alike)."""

from __future__ import annotations

__all__ = ["register_all"]


def register_all() -> None:
    """Import every module that registers kinds of job, so that this process knows them all."""
    import access.tasks  # noqa: F401
    import beacon.privacy.tasks  # noqa: F401
    import ingest.opt_outs  # noqa: F401
    import ingest.tasks  # noqa: F401
    import jobs.reaper  # noqa: F401
    import network.tasks  # noqa: F401
    import network.witness.tasks  # noqa: F401
    import participants.tasks  # noqa: F401
