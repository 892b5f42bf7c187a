"""CLI commands of the network: `genomegate network add|list|remove|status|check`."""

from __future__ import annotations

from typing import Annotated

import typer

from catalogue.models import utcnow
from genomegate.cli.common import OPERATOR, JsonOpt, app, emit, err, friendly, operator_session, out
from network import health, peers
from network.models import Forwarding, PeerCreate
from network.witness import status as witness_status

__all__ = ["network_app"]

network_app = typer.Typer(help="Peers: the nodes this one answers with as one network.", no_args_is_help=True)
app.add_typer(network_app, name="network")


@network_app.command("add")
@friendly
def add(url: Annotated[str, typer.Argument(help="the peer's Beacon v2 root or GenomeGate base URL")],
        name: Annotated[str | None, typer.Option(help="a name for people (default: the peer's own)")] = None,
        forward: Annotated[Forwarding, typer.Option(help="what of a caller's identity queries forwarded to the peer "
                                                    "carry: none, bearer (the token; only to a peer trusting the "
                                                    "same issuer) or passport (the caller's visas)")]
        = Forwarding.none) -> None:
    """Add a peer after reading its service-info (refused unless it is a Beacon v2)."""
    with operator_session() as (session, rt):
        peer = peers.join(session, OPERATOR, PeerCreate(url=url, name=name, forward=forward), rt.settings)
        out.print(f"added peer [bold]{peer.id}[/bold]: {peer.name} ({peer.beacon_id}, Beacon {peer.api_version}) "
                  f"at {peer.beacon_url}; forwards {peer.forward}", highlight=False)


@network_app.command("list")
@friendly
def list_(as_json: JsonOpt = False) -> None:
    """The peers and what is forwarded to each."""
    with operator_session() as (session, _):
        emit([peers.peer_public(p) for p in peers.list_peers(session)],
             ["id", "name", "beacon_id", "beacon_url", "forward", "added_at"], as_json, title="Peers")


@network_app.command("remove")
@friendly
def remove(peer_id: str) -> None:
    """Remove a peer: it is no longer asked, harvested or listed."""
    with operator_session() as (session, _):
        peers.remove_peer(session, OPERATOR, peer_id)
        out.print(f"removed peer {peer_id}")


@network_app.command("status")
@friendly
def status(as_json: JsonOpt = False) -> None:
    """The peers' health as last checked: state, latency, consecutive failures, when a backed-off one is retried."""
    with operator_session() as (session, _):
        rows = [peers.peer_public(p) for p in peers.list_peers(session)]
        alarms = witness_status.alarms(session, limit=witness_status.MAX_PAGE)
    emit(rows, ["id", "state", "latency_ms", "failures", "checked_at", "ok_at", "retry_at", "last_error"], as_json,
         title=f"Peers' health at {utcnow():%Y-%m-%d %H:%M:%S} UTC")
    if alarms and not as_json:
        logs = sorted({a.origin for a in alarms})
        err.print(f"[red]witness alarms[/red] about {', '.join(logs)}: a peer's audit checkpoint was refused; see "
                  "`genomegate network witness status`", highlight=False)


@network_app.command("check")
@friendly
def check() -> None:
    """Check every peer's health now (backed-off ones too), then show the status."""
    with operator_session() as (_, rt):
        report = health.check_peers(rt.engine, rt.settings, force=True)
    out.print(f"checked {report.checked} peer(s): {report.healthy} healthy")
    status(as_json=False)
