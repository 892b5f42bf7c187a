"""The network area's background work, as kinds of job: the peers' health checks and catalogue harvests."""

from __future__ import annotations

from jobs import registry
from jobs.context import JobContext
from network.harvest import harvest_peers
from network.health import check_peers

__all__ = ["check_health", "harvest_catalogues"]


@registry.periodic("network.health.check", every=lambda settings: settings.network_health_every_seconds)
def check_health(ctx: JobContext) -> dict[str, int]:
    """Ask each peer that is due for its service-info; back off those that keep failing."""
    report = check_peers(ctx.engine, ctx.settings)
    return {"checked": report.checked, "healthy": report.healthy, "skipped": report.skipped}


@registry.periodic("network.catalogue.harvest", every=lambda settings: settings.network_harvest_every_seconds)
def harvest_catalogues(ctx: JobContext) -> dict[str, int]:
    """Harvest every GenomeGate peer's DCAT-AP catalogue; a peer whose catalogue fails keeps its last harvest."""
    outcomes = harvest_peers(ctx.engine, ctx.settings)
    return {"peers": len(outcomes), "harvested": sum(1 for o in outcomes if o.ok),
            "datasets": sum(o.datasets for o in outcomes)}
