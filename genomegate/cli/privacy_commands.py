"""CLI command of the Beacon's privacy budgets: `genomegate privacy status`."""

from __future__ import annotations

from typing import Annotated

import typer

from genomegate.cli.common import OPERATOR, JsonOpt, app, emit, friendly, operator_session, out

__all__ = ["privacy_app"]

privacy_app = typer.Typer(help="The Beacon's membership-inference budgets.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")


@privacy_app.command("status")
@friendly
def privacy_status(
    subject: Annotated[str | None, typer.Option(help="one account (its subject or holder key)")] = None,
    dataset: Annotated[str | None, typer.Option(help="one dataset id")] = None,
    alerts: Annotated[bool, typer.Option("--alerts", help="only holders flagged as a possible attack")] = False,
    limit: Annotated[int, typer.Option(help="at most this many rows")] = 100,
    as_json: JsonOpt = False,
) -> None:
    """Budgets per account, organisation and address and dataset: spent, locked, refused, alerts."""
    from beacon.privacy.services import Policy
    from beacon.privacy.status import budget_status

    with operator_session() as (session, rt):
        rows = budget_status(session, OPERATOR, Policy.from_settings(rt.settings), holder=subject,
                             dataset_id=dataset, alerts_only=alerts, limit=limit)
    if not rows and not as_json:
        out.print("no budget has been charged yet" if not (subject or dataset or alerts) else "no matching budget")
        return
    emit(rows, ["holder", "dataset_id", "spent", "budget", "answered", "refused", "rare", "locked_at", "alerted_at"],
         as_json, title="Beacon privacy budgets (nats)")
