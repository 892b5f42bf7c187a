"""CLI commands of opt-outs: `genomegate opt-outs status DATASET` and `genomegate opt-outs apply`."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from pydantic import BaseModel

from genomegate.cli.common import JsonOpt, app, emit, friendly, operator_session, out

__all__ = ["opt_outs_app"]

opt_outs_app = typer.Typer(help="Samples opted out of secondary use (EHDS Art. 71), and applying them.",
                           no_args_is_help=True)
app.add_typer(opt_outs_app, name="opt-outs")


class _Row(BaseModel):
    sample_id: str
    asked: str
    in_effect: bool
    pending: bool
    since: datetime | None
    requested_at: datetime | None
    applied_at: datetime | None


@opt_outs_app.command("status")
@friendly
def status(dataset: Annotated[str, typer.Argument(help="the dataset id")], as_json: JsonOpt = False) -> None:
    """Every sample of the dataset with an opt-out request: what was asked, what is in effect, what is pending."""
    from catalogue.services import opt_outs

    with operator_session() as (session, _rt):
        states = opt_outs.opt_out_states(session, dataset, opt_outs.requested_samples(session, dataset))
    if not states and not as_json:
        out.print(f"no sample of {dataset} has asked to opt out")
        return
    rows = [_Row(sample_id=s.sample_id, asked="opt out" if s.opted_out else "opt in", in_effect=s.in_effect,
                 pending=s.pending, since=s.since, requested_at=s.requested_at, applied_at=s.applied_at)
            for s in states]
    emit(rows, list(_Row.model_fields), as_json, title=f"Opt-outs of {dataset}")


@opt_outs_app.command("apply")
@friendly
def apply() -> None:
    """Start the recounts that apply pending opt-outs and opt-ins now (a worker runs them), without waiting for
    the schedule (GENOMEGATE_OPT_OUT_APPLY_EVERY_SECONDS)."""
    from ingest.opt_outs import start_recounts

    with operator_session() as (session, _rt):
        started = start_recounts(session)
    out.print(f"recounting: {', '.join(started)} (a worker applies them; `genomegate ingestions show ID`)"
              if started else "nothing to apply (or a dataset's ingestion is still running)")
