"""CLI commands of the network: `genomegate network add|list|remove|status|check|harvest`."""

from __future__ import annotations

from typing import Annotated

import typer

from catalogue.models import utcnow
from genomegate.cli.common import OPERATOR, JsonOpt, app, emit, err, friendly, operator_session, out
from network import harvest, health, peers, remote
from network.harvest_models import HarvestResultPublic, PeerHarvestPublic
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
    """The peers' health as last checked (state, latency, consecutive failures, when a backed-off one is retried)
    and their catalogues' last harvests (datasets held, when it last worked, the last attempt's error)."""
    with operator_session() as (session, _):
        rows = remote.peer_statuses(session)
        alarms = witness_status.alarms(session, limit=witness_status.MAX_PAGE, open_only=True)
    if as_json:
        emit(rows, [], True)
        return
    now = utcnow()
    emit(rows, ["id", "state", "latency_ms", "failures", "checked_at", "ok_at", "retry_at", "last_error"], False,
         title=f"Peers' health at {now:%Y-%m-%d %H:%M:%S} UTC")
    harvests = [r.harvest or PeerHarvestPublic(peer_id=r.id, attempted_at=None, succeeded_at=None, datasets=0,
                                               failures=0, last_error=None)
                for r in rows if r.node_url]
    emit(harvests, ["peer_id", "datasets", "succeeded_at", "attempted_at", "failures", "last_error"], False,
         title="Peers' catalogues as last harvested")
    if alarms:
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


@network_app.command("harvest")
@friendly
def harvest_(peer_id: Annotated[str | None, typer.Argument(help="the peer to harvest (default: every GenomeGate "
                                                           "peer)")] = None,
             as_json: JsonOpt = False) -> None:
    """Harvest the peers' DCAT-AP catalogues now; a catalogue that fails keeps the peer's last good harvest."""
    with operator_session() as (_, rt):
        outcomes = harvest.harvest_peers(rt.engine, rt.settings, [peer_id] if peer_id else None)
    rows = [HarvestResultPublic(peer_id=o.peer_id, ok=o.ok, datasets=o.datasets, error=o.error) for o in outcomes]
    emit(rows, ["peer_id", "ok", "datasets", "error"], as_json, title="Harvest")
    if not outcomes and not as_json:
        out.print("no GenomeGate peer to harvest (add one with `genomegate network add URL`)")
    if any(not o.ok for o in outcomes):
        raise typer.Exit(1)
