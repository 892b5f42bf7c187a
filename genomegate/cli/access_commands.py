"""CLI commands of the access workflow for DACs and operators: requests, entitlements, audit, notifications."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.table import Table
from sqlmodel import Session, select

from access.audit import stored_leaves, verify_chain
from access.checkpoints import (
    AuditSigner,
    CheckpointFile,
    SignedCheckpoint,
    audit_key_path,
    latest_checkpoint,
    make_checkpoint,
    node_signer,
    signed,
    verify_log,
)
from access.models import AuditCheckpoint, Command, RequestState
from access.notifications import deliver_outbox
from access.services import entitlements, remote_dacs, requests, review
from catalogue.identity import Caller, Principal
from catalogue.models import RemoteDacSet
from catalogue.services.remote_dacs import remote_dac_public
from catalogue.services.roles import caller_for
from genomegate.cli.common import (
    OPERATOR,
    Exit,
    JsonOpt,
    app,
    dataset_app,
    emit,
    err,
    friendly,
    operator_session,
    out,
)
from network.witness.verify import WitnessFinding, check_witnesses

__all__ = ["audit_app", "entitlements_app", "notifications_app", "requests_app"]

requests_app = typer.Typer(help="Access requests: list, show, decide.", no_args_is_help=True)
entitlements_app = typer.Typer(help="Entitlements: list, revoke, remind.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
notifications_app = typer.Typer(help="The notification outbox.", no_args_is_help=True)
for sub, name in ((requests_app, "requests"), (entitlements_app, "entitlements"), (audit_app, "audit"),
                  (notifications_app, "notifications")):
    app.add_typer(sub, name=name)

AsOpt = Annotated[str | None, typer.Option("--as", help="act as this subject (a DAC member), with their roles")]


def _acting(session: Session, subject: str | None) -> Caller:
    """The operator, or the named person with the roles the database gives them (rules apply to them)."""
    return caller_for(session, Principal(subject=subject, issuer="cli")) if subject else OPERATOR


@requests_app.command("list")
@friendly
def requests_list(state: RequestState | None = None, as_json: JsonOpt = False) -> None:
    """List every access request (the operator sees all)."""
    with operator_session() as (session, _):
        rows = [requests.request_public(session, r)
                for r in requests.list_requests(session, OPERATOR, scope="all", state=state)]
    emit(rows, ["id", "state", "applicant", "dac_id", "datasets", "project_title"], as_json, "Access requests")


@requests_app.command("show")
@friendly
def requests_show(request_id: str, as_json: JsonOpt = False) -> None:
    """Show one request with its DUO verdict and history."""
    with operator_session() as (session, _):
        request = requests.request_public(session, requests.get_request(session, OPERATOR, request_id))
        events = review.history(session, OPERATOR, request_id)
    if as_json:
        print(request.model_dump_json(indent=2))
        return
    out.print(f"[bold]{request.id}[/bold] {request.project_title} — {request.state} (DAC {request.dac_id})")
    out.print(f"applicant {request.applicant}; datasets {', '.join(request.datasets)}; purpose "
              f"{', '.join(request.purpose)}")
    if request.duo_verdict:
        out.print(f"DUO check: {request.duo_verdict['result']}: {'; '.join(request.duo_verdict['reasons'])}")
    for event in events:
        out.print(f"  {event.created_at:%Y-%m-%d %H:%M} {event.actor}: {event.kind} {event.message}".rstrip())


@requests_app.command("decide")
@friendly
def requests_decide(
    request_id: str,
    decision: Annotated[str, typer.Argument(help="approve, reject or return")],
    member: AsOpt = None,
    reason: Annotated[str, typer.Option(help="required to reject or return")] = "",
    end: Annotated[datetime | None, typer.Option(help="end of access when approving")] = None,
) -> None:
    """Decide a request as a member of its DAC (`--as`); the DAC's rules and recusal apply."""
    if member is None:
        raise Exit("decisions are made by DAC members: give --as MEMBER")
    try:
        command = Command(decision)
    except ValueError:
        raise Exit(f"{decision!r} is not a decision: approve, reject or return") from None
    with operator_session() as (session, rt):
        request = review.decide(session, _acting(session, member), request_id, command, reason=reason,
                                access_end=end, default_days=rt.settings.access_days)
    out.print(f"{request.id} is {request.state}")


_REMOTE_DAC_OPTIONS = {"node_url": "--node", "dac_id": "--dac", "visa_issuer": "--issuer", "jku": "--jku"}


@dataset_app.command("remote-dac")
@friendly
def dataset_remote_dac(
    dataset_id: str,
    node: Annotated[str | None, typer.Option(help="the DAC's node: its GenomeGate base URL")] = None,
    dac: Annotated[str | None, typer.Option(help="the DAC's id at that node")] = None,
    issuer: Annotated[str | None, typer.Option(help="the `iss` of its visas (default: the node's URL)")] = None,
    jku: Annotated[str | None, typer.Option(help="the `jku` of its visas (default: the node's JWKS)")] = None,
    clear: Annotated[bool, typer.Option("--clear", help="decide access here again")] = False,
    as_json: JsonOpt = False,
) -> None:
    """Show, set (--node, --dac) or clear (--clear) the DAC at another node that decides access to a CONTROLLED
    dataset held here: its visas are then accepted for this dataset only from that DAC's issuer and jku."""
    with operator_session() as (session, _):
        if clear:
            remote_dacs.clear_remote_dac(session, OPERATOR, dataset_id)
            out.print(f"access to {dataset_id} is decided here again")
            return
        if (node is None) != (dac is None):
            raise Exit("give both --node and --dac (or neither, to show the current one)")
        if node is not None and dac is not None:
            try:
                data = RemoteDacSet(node_url=node, dac_id=dac, visa_issuer=issuer, jku=jku)
            except ValidationError as exc:
                first = exc.errors()[0]
                option = _REMOTE_DAC_OPTIONS.get(str(first["loc"][0]), str(first["loc"][0]))
                raise Exit(f"{option}: {first['msg'].removeprefix('Value error, ')}") from None
            row = remote_dacs.set_remote_dac(session, OPERATOR, dataset_id, data)
        else:
            row = remote_dacs.get_remote_dac(session, OPERATOR, dataset_id)
        public = remote_dac_public(row)
    if as_json:
        print(public.model_dump_json(indent=2))
        return
    table = Table(show_header=False, title=f"Access to {public.dataset_id} is decided at another node")
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for label, value in (("DAC", public.dac_url), ("visa issuer", public.visa_issuer), ("jku", public.jku),
                         ("set by", f"{public.set_by} at {public.set_at:%Y-%m-%d %H:%M} UTC")):
        table.add_row(label, value)
    out.print(table)


@entitlements_app.command("list")
@friendly
def entitlements_list(dataset: str | None = None, subject: str | None = None, as_json: JsonOpt = False) -> None:
    """List entitlements (all of them, or of a dataset or subject)."""
    with operator_session() as (session, _):
        rows = [entitlements.entitlement_public(e)
                for e in entitlements.list_entitlements(session, OPERATOR, scope="dac", dataset_id=dataset)
                if subject is None or e.subject == subject]
    emit(rows, ["id", "subject", "dataset_id", "request_id", "end", "active", "revoke_reason"], as_json,
         "Entitlements")


@entitlements_app.command("revoke")
@friendly
def entitlements_revoke(entitlement_id: int, reason: Annotated[str, typer.Option()], member: AsOpt = None) -> None:
    """Revoke an entitlement at once (as the operator, or `--as` a member of the dataset's DAC)."""
    with operator_session() as (session, _):
        entitlement = entitlements.revoke_entitlement(session, _acting(session, member), entitlement_id, reason)
    out.print(f"entitlement {entitlement.id} of {entitlement.subject} to {entitlement.dataset_id} is revoked")


@entitlements_app.command("remind")
@friendly
def entitlements_remind(days: Annotated[int | None, typer.Option(help="window; default the setting")] = None) -> None:
    """Queue reminders for entitlements that end soon, then send the outbox."""
    with operator_session() as (session, rt):
        queued = entitlements.remind_expiring(session, days=days or rt.settings.reminder_days)
        delivery = deliver_outbox(session, rt.settings)
    out.print(f"{queued} reminder(s) queued; {delivery.sent} sent, {delivery.pending} waiting in the outbox")


@audit_app.command("checkpoint")
@friendly
def audit_checkpoint(
    out_file: Annotated[Path | None, typer.Option("--out", help="also write the signed checkpoint here")] = None,
    leaves: Annotated[bool, typer.Option(help="write the covered lines' hashes too (64 bytes a line), so that "
                                              "`audit verify --checkpoint` can name a line that changed")] = True,
    as_json: JsonOpt = False,
) -> None:
    """Sign a checkpoint of the audit log (its size and Merkle root); refused if the log no longer extends the last."""
    with operator_session() as (session, rt):
        row = make_checkpoint(session, node_signer(rt.settings.data_dir), origin=rt.settings.public_base_url,
                              recheck=True)
        made = row is not None
        row = row or latest_checkpoint(session)
        if row is None:
            raise Exit("the audit log is empty: there is nothing to checkpoint")
        checkpoint = CheckpointFile(**signed(row).model_dump(),
                                    leaves=[h.hex() for h in stored_leaves(session, row.size)] if leaves else None)
    if out_file is not None:
        out_file.write_text(checkpoint.model_dump_json(indent=2, exclude_none=True) + "\n")
    if as_json:
        print(json.dumps({**checkpoint.model_dump(exclude={"leaves"}), "new": made,
                          "file": str(out_file) if out_file else None}, indent=2))
        return
    state = "signed" if made else "unchanged (no lines since the last), latest"
    out.print(f"checkpoint {state}: size {checkpoint.size}, root {checkpoint.root}", highlight=False)
    if out_file is not None:
        out.print(f"written to {out_file}", highlight=False)


def _read_checkpoint(path: Path) -> CheckpointFile:
    try:
        return CheckpointFile.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise Exit(f"cannot read {path}: {exc.strerror}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        raise Exit(f"{path} is not a checkpoint file ({where}: {first['msg']})") from None


@audit_app.command("verify")
@friendly
def audit_verify(
    checkpoint_file: Annotated[Path | None, typer.Option("--checkpoint", help="a checkpoint file written by "
                                                         "`audit checkpoint --out`; default the latest stored")] = None,
    witnesses: Annotated[bool, typer.Option("--witnesses", help="also ask each GenomeGate peer what it "
                                            "countersigned of this log, and check the log still matches it")] = False,
) -> None:
    """Check the hash chain, and that the log still holds what a signed checkpoint covers (and, with --witnesses,
    what the peers countersigned); exit 1 on any failure, 2 when no witness could be asked."""
    given = _read_checkpoint(checkpoint_file) if checkpoint_file else None
    with operator_session() as (session, rt):
        report = verify_chain(session)
        checkpoint: SignedCheckpoint | None = given
        source = str(checkpoint_file)
        if checkpoint is None and (row := latest_checkpoint(session)) is not None:
            checkpoint = signed(row)
            source = f"the latest stored checkpoint (size {row.size}, made {checkpoint.time})"
        result = None
        if checkpoint is not None:
            key_path = audit_key_path(rt.settings.data_dir)
            if not key_path.exists():
                raise Exit(f"the node's audit key {key_path} is missing: checkpoint signatures cannot be checked")
            earlier = [signed(r) for r in session.exec(select(AuditCheckpoint))]
            result = verify_log(session, checkpoint, AuditSigner.load_or_create(key_path).public,
                                given.leaves if given else None, earlier)
        findings = check_witnesses(session, rt.settings) if witnesses else None
    failed = not report.ok
    if report.ok:
        out.print(f"audit log intact: {report.checked} lines verified")
    else:
        err.print(f"[red]audit log broken[/red] at line {report.broken_at}: {report.reason} "
                  f"({report.checked} lines before it verified)", highlight=False)
    if result is None:
        out.print("no checkpoint to check against yet (make one with `genomegate audit checkpoint`)")
    elif result.ok:
        out.print(f"checkpoint verified against {source}: the log holds the {result.size} lines it covers "
                  f"(it has {result.log_size})", highlight=False)
    else:
        failed = True
        for problem in result.problems:
            err.print(f"[red]checkpoint failed[/red] ({source}): {problem}", highlight=False)
    if findings is not None:
        failed = _report_witnesses(findings) or failed
    if failed:
        raise typer.Exit(1)
    if findings is not None and not any(f.error is None for f in findings):
        raise typer.Exit(2)


def _report_witnesses(findings: list[WitnessFinding]) -> bool:
    """One line per witness, one per problem it found; whether any found a mismatch."""
    if not findings:
        err.print("[yellow]no witnesses[/yellow]: this node has no GenomeGate peers to ask (add them with "
                  "`genomegate network add URL`)", highlight=False)
    mismatch = False
    for f in findings:
        if f.error is not None:
            err.print(f"[yellow]witness {f.peer_id} ({f.witness}) could not be asked[/yellow]: {f.error}",
                      highlight=False)
        elif not f.checked:
            out.print(f"witness {f.peer_id} ({f.witness}) has countersigned nothing of this log yet", highlight=False)
        elif f.ok:
            out.print(f"witness {f.peer_id} ({f.witness}): the log matches all {f.checked} countersignatures checked "
                      f"(of {f.total}; the latest covers {f.latest} lines; {f.key})", highlight=False)
        else:
            mismatch = True
            still = f"the largest that still matches covers {f.matching} lines" if f.matching else "none still matches"
            err.print(f"[red]witness {f.peer_id} ({f.witness}) disagrees[/red] ({f.checked} countersignatures "
                      f"checked, {still}; {f.key}):", highlight=False)
            for problem in f.problems:
                err.print(f"  witness {f.peer_id}: {problem}", highlight=False)
    return mismatch


@notifications_app.command("send")
@friendly
def notifications_send() -> None:
    """Deliver queued notifications by SMTP (GENOMEGATE_SMTP_HOST)."""
    with operator_session() as (session, rt):
        delivery = deliver_outbox(session, rt.settings)
    out.print(f"{delivery.sent} sent, {delivery.failed} failed, {delivery.pending} waiting")
