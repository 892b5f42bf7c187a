"""The witness's background work, as a kind of job: looking at the peers' audit checkpoints."""

from __future__ import annotations

from jobs import registry
from jobs.context import JobContext
from network.witness.observe import Outcome, observe_peers

__all__ = ["observe"]


@registry.periodic("network.witness.observe", every=lambda settings: settings.witness_every_seconds)
def observe(ctx: JobContext) -> dict[str, int]:
    """Countersign each GenomeGate peer's latest audit checkpoint that extends the last witnessed; alarm otherwise."""
    seen = observe_peers(ctx.engine, ctx.settings)
    return {outcome.value: sum(1 for o in seen if o.outcome == outcome) for outcome in Outcome}
