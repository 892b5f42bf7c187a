"""The access area's background work, as kinds of job: audit checkpoints, mail, expiry reminders and expiries."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from access.checkpointer import checkpoint_once
from access.notifications import DELIVER, deliver_outbox
from access.release.derived import make_for_dataset
from access.services.entitlements import record_expiries, remind_expiring
from catalogue.database import session_scope
from jobs import registry
from jobs.context import JobContext

__all__ = ["DERIVE", "checkpoint", "deliver", "derive", "expire", "remind"]

DERIVE = "release.derive"


@registry.periodic("audit.checkpoint", every=lambda settings: settings.audit_checkpoint_seconds)
def checkpoint(ctx: JobContext) -> dict[str, int | None]:
    """Sign a checkpoint of the audit log when lines were added since the last."""
    size = checkpoint_once(ctx.engine, ctx.settings.data_dir, ctx.settings.public_base_url)
    return {"size": size}


@registry.periodic(DELIVER, every=lambda settings: settings.notifications_every_seconds)
def deliver(ctx: JobContext) -> dict[str, int]:
    """Send the outbox by SMTP (also submitted by every action that queues mail)."""
    with session_scope(ctx.engine) as session:
        delivery = deliver_outbox(session, ctx.settings)
    return {"sent": delivery.sent, "failed": delivery.failed, "pending": delivery.pending}


@registry.periodic("access.entitlements.remind", every=lambda settings: settings.reminders_every_seconds)
def remind(ctx: JobContext) -> dict[str, int]:
    """Queue a reminder to each holder whose access ends within `reminder_days` (each is reminded once)."""
    with session_scope(ctx.engine) as session:
        return {"reminded": remind_expiring(session, days=ctx.settings.reminder_days)}


@registry.periodic("access.entitlements.expire", every=lambda settings: settings.expiries_every_seconds)
def expire(ctx: JobContext) -> dict[str, int]:
    """Record each entitlement that ended: an audit line and a notice to its holder, once."""
    with session_scope(ctx.engine) as session:
        return {"recorded": record_expiries(session)}


@registry.task(DERIVE)
def derive(ctx: JobContext, payload: Mapping[str, Any]) -> dict[str, int]:
    """Make the release copies without opted-out samples that permits issued from now on get (after the opt-out
    job applied opt-outs to the dataset)."""
    dataset = payload.get("dataset")
    if not isinstance(dataset, str):
        return {"copies": 0}
    with session_scope(ctx.engine) as session:
        return {"copies": make_for_dataset(session, dataset)}
