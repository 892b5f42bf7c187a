"""CLI commands of the access workflow for DACs and operators: requests, entitlements, audit, notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from sqlmodel import Session

from access.audit import verify_chain
from access.models import Command, RequestState
from access.notifications import deliver_outbox
from access.services import entitlements, requests, review
from catalogue.identity import Caller, Principal
from catalogue.services.roles import caller_for
from genomegate.cli.common import OPERATOR, Exit, JsonOpt, app, emit, err, friendly, operator_session, out

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


@audit_app.command("verify")
@friendly
def audit_verify() -> None:
    """Check the audit log's hash chain; exit 1 and name the first broken line if any was altered or removed."""
    with operator_session() as (session, _):
        report = verify_chain(session)
    if not report.ok:
        err.print(f"[red]audit log broken[/red] at line {report.broken_at}: {report.reason} "
                  f"({report.checked} lines before it verified)", highlight=False)
        raise typer.Exit(1)
    out.print(f"audit log intact: {report.checked} lines verified")


@notifications_app.command("send")
@friendly
def notifications_send() -> None:
    """Deliver queued notifications by SMTP (GENOMEGATE_SMTP_HOST)."""
    with operator_session() as (session, rt):
        delivery = deliver_outbox(session, rt.settings)
    out.print(f"{delivery.sent} sent, {delivery.failed} failed, {delivery.pending} waiting")
