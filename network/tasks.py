"""The network area's background work, as kinds of job: the peers' health checks."""

from __future__ import annotations

from jobs import registry
from jobs.context import JobContext
from network.health import check_peers

__all__ = ["check_health"]


@registry.periodic("network.health.check", every=lambda settings: settings.network_health_every_seconds)
def check_health(ctx: JobContext) -> dict[str, int]:
    """Ask each peer that is due for its service-info; back off those that keep failing."""
    report = check_peers(ctx.engine, ctx.settings)
    return {"checked": report.checked, "healthy": report.healthy, "skipped": report.skipped}
