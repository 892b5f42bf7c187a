"""CLI commands of the witness: `genomegate network witness status|alarms|acknowledge|observe|trust`."""

from __future__ import annotations

from typing import Annotated

import typer
from pydantic import ValidationError

from genomegate.cli.common import OPERATOR, Exit, JsonOpt, emit, err, friendly, operator_session, out
from genomegate.cli.network_commands import network_app
from network.witness import status as witness_status
from network.witness.models import AlarmAcknowledgement
from network.witness.observe import Outcome, observe_peers, trust_key

__all__ = ["witness_app"]

witness_app = typer.Typer(help="Witnessing: this node countersigns its peers' audit checkpoints.",
                          no_args_is_help=True)
network_app.add_typer(witness_app, name="witness")


def _alarm_lines(limit: int) -> None:
    with operator_session() as (session, _):
        found = witness_status.alarms(session, limit=limit, open_only=True)
    for alarm in found:
        err.print(f"[red]ALARM[/red] {alarm.id}: {alarm.origin} (peer {alarm.peer_id}, {alarm.kind.value}, seen "
                  f"{alarm.times}x, last {alarm.last_seen:%Y-%m-%d %H:%M:%S}): {alarm.message}", highlight=False)


@witness_app.command("status")
@friendly
def status(as_json: JsonOpt = False) -> None:
    """The peers' logs this node witnesses (pinned key, latest countersigned size, open alarms), then the open
    alarms."""
    with operator_session() as (session, _):
        rows = witness_status.watched_logs(session)
    emit(rows, ["origin", "peer_id", "key_id", "size", "countersigned_at", "checked_at", "alarms", "last_error"],
         as_json, title="Witnessed audit logs")
    if not as_json:
        _alarm_lines(20)


@witness_app.command("alarms")
@friendly
def alarms(limit: Annotated[int, typer.Option(min=1, max=100)] = 20, as_json: JsonOpt = False) -> None:
    """Peers' checkpoints this node refused to countersign, and why, the most recently seen first."""
    with operator_session() as (session, _):
        rows = witness_status.alarms(session, limit=limit)
    emit(rows, ["id", "origin", "peer_id", "kind", "size", "times", "last_seen", "message", "acknowledged_by"],
         as_json, title="Witness alarms")


@witness_app.command("acknowledge")
@friendly
def acknowledge(alarm_id: Annotated[int, typer.Argument(min=1, max=2**31 - 1)],
                note: Annotated[str, typer.Option("--note", help="what you found or did (up to 1,000 characters)")]
                ) -> None:
    """Acknowledge an alarm with what you found or did; it stays listed as evidence, out of `status`."""
    try:
        body = AlarmAcknowledgement.model_validate({"note": note})
    except ValidationError as exc:
        raise Exit(f"--note: {exc.errors()[0]['msg']}") from None
    with operator_session() as (session, _):
        done = witness_status.acknowledge(session, OPERATOR, alarm_id, body)
    out.print(f"alarm {done.id} ({done.origin}, {done.kind.value}) acknowledged", highlight=False)


@witness_app.command("observe")
@friendly
def observe() -> None:
    """Look at every GenomeGate peer's latest checkpoint now (what the periodic job does), backed-off ones too."""
    with operator_session() as (_, rt):
        seen = observe_peers(rt.engine, rt.settings, force=True)
    if not seen:
        out.print("no GenomeGate peers to witness")
    for o in seen:
        line = f"{o.peer_id} ({o.origin}): {o.outcome}" + (f" at {o.size} lines" if o.size else "")
        line += f": {o.detail}" if o.detail else ""
        (err if o.outcome in (Outcome.alarm, Outcome.unreachable) else out).print(line, highlight=False)


@witness_app.command("trust")
@friendly
def trust(peer_id: str) -> None:
    """Pin the audit key a peer serves now (after checking it with its operators): ends a key-change alarm."""
    with operator_session() as (session, rt):
        old, new = trust_key(session, OPERATOR, peer_id, rt.settings)
    out.print(f"peer {peer_id}: audit key {new} pinned (was {old}); its next checkpoint must still extend the last "
              "one witnessed", highlight=False)
