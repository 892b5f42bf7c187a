"""What a participant's page shows: their datasets, the approvals covering them, and each use of their data, proved."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session, col, or_, select

from access.checkpoints import SignedCheckpoint
from access.models import AuditEvent, Entitlement
from catalogue.duo import duo_term
from catalogue.errors import InvalidInput, NotFound
from catalogue.models import Dac, Dataset, DatasetFile, Organisation, as_utc
from catalogue.services.opt_outs import excluded_for_release, opt_out_states
from participants.genotypes import file_samples
from participants.links import Participant
from participants.permits import Permit, permits
from participants.proofs import LineProof, Prover

__all__ = [
    "APPLIED_ACTION", "BEACON_ACTION", "MAX_USES", "RELEASE_ACTIONS", "Condition", "Decision", "Holding", "MyData",
    "OptOutView", "Use", "line_proof", "my_data", "own_files",
]

RELEASE_ACTIONS = ("release.ticket", "release.block", "release.download")
BEACON_ACTION = "beacon.record_query"
APPLIED_ACTION = "dataset.opt_outs_applied"  # the opt-out job's run that applied what was asked
MAX_USES = 1_000  # the newest lines shown; the API pages are bounded by it too


@dataclass(frozen=True, slots=True)
class Condition:
    curie: str
    label: str
    plain: str


@dataclass(frozen=True, slots=True)
class OptOutView:
    """The participant's opt-out of one dataset, over their samples in it."""

    opted_out: bool  # what they asked for last
    in_effect: bool  # applied by the scheduled job
    pending: bool  # asked, not yet applied
    since: datetime | None
    first_asked: datetime | None = None  # their first opt-out or opt-in request here, if any


@dataclass(frozen=True, slots=True)
class Holding:
    """A dataset holding the participant's genome."""

    dataset_id: str
    title: str
    organisation: str
    dac_id: str | None
    dac_name: str | None
    dac_contact: str | None
    conditions: tuple[Condition, ...]
    samples: tuple[str, ...]
    opt_out: OptOutView


@dataclass(frozen=True, slots=True)
class Decision:
    """An approval covering one of the participant's datasets, the audit line that granted it, and whether
    releases under it still include the participant after their opt-out (Art. 71: permits granted before it)."""

    permit: Permit
    line_id: int | None
    proof: LineProof | None
    unaffected_by_opt_out: bool


@dataclass(frozen=True, slots=True)
class Use:
    """One audit line about the participant's data: a release of a file holding it, a record-level Beacon answer
    showing their genotypes, or the participant's own action."""

    line_id: int
    at: datetime
    kind: str  # release, beacon, own, applied (the opt-out job applied what was asked)
    action: str
    dataset_id: str | None
    actor: str
    approval: str | None  # the request whose entitlement it happened under
    summary: str  # in English, for the API; pages word it from the fields below
    file: str | None  # the file released or downloaded
    region: str | None  # the regions of a ticket or block
    samples: tuple[str, ...]  # the participant's samples the line is about
    proof: LineProof | None


@dataclass(frozen=True, slots=True)
class MyData:
    datasets: tuple[Holding, ...]
    decisions: tuple[Decision, ...]
    uses: tuple[Use, ...]
    checkpoint: SignedCheckpoint | None


def _conditions(dataset: Dataset) -> tuple[Condition, ...]:
    found = []
    for curie in dataset.duo:
        try:
            term = duo_term(curie)
        except InvalidInput:
            found.append(Condition(curie, curie, ""))
            continue
        found.append(Condition(term.id, term.label, term.plain))
    return tuple(found)


def _opt_out(session: Session, dataset_id: str, samples: Sequence[str]) -> OptOutView:
    states = opt_out_states(session, dataset_id, samples)
    since = [s.since for s in states if s.since is not None]
    asked = [e.requested_at for s in states for e in s.history]
    return OptOutView(opted_out=any(s.opted_out for s in states), in_effect=any(s.in_effect for s in states),
                      pending=any(s.pending for s in states), since=min(since) if since else None,
                      first_asked=min(asked) if asked else None)


def _holdings(session: Session, participant: Participant) -> list[Holding]:
    holdings = []
    for dataset_id in participant.datasets:
        dataset = session.get(Dataset, dataset_id)
        if dataset is None:
            continue
        organisation = session.get(Organisation, dataset.organisation_id)
        dac = session.get(Dac, dataset.dac_id) if dataset.dac_id else None
        samples = participant.samples_of(dataset_id)
        holdings.append(Holding(
            dataset_id=dataset.id, title=dataset.title, organisation=organisation.name if organisation else "",
            dac_id=dataset.dac_id, dac_name=dac.name if dac else None, dac_contact=dac.contact_email if dac else None,
            conditions=_conditions(dataset), samples=tuple(samples), opt_out=_opt_out(session, dataset.id, samples)))
    return holdings


def own_files(session: Session, participant: Participant) -> list[tuple[DatasetFile, str]]:
    """Each file of the participant's datasets that holds one of their samples, with that sample."""
    found: list[tuple[DatasetFile, str]] = []
    for dataset_id in participant.datasets:
        mine = participant.samples_of(dataset_id)
        for file in session.exec(select(DatasetFile).where(DatasetFile.dataset_id == dataset_id)
                                 .order_by(col(DatasetFile.id))):
            try:
                held = file_samples(file.uri)
            except (OSError, ValueError):  # a file gone from the store holds nothing to show
                continue
            found.extend((file, s) for s in mine if s in held)
    return found


def _approval(entitlements: Sequence[Entitlement], actor: str, dataset_id: str | None,
              at: datetime) -> Entitlement | None:
    for e in entitlements:
        if e.subject == actor and e.dataset_id == dataset_id and as_utc(e.start) <= at <= as_utc(e.end) and (
                e.revoked_at is None or as_utc(e.revoked_at) >= at):
            return e
    return None


def _included(session: Session, dataset_id: str, samples: Sequence[str], granted_at: datetime | None) -> bool:
    """Whether a release under a permit granted at `granted_at` still holds one of the samples."""
    if granted_at is None:
        return True
    left_out = excluded_for_release(session, dataset_id, granted_at)
    return any(s not in left_out for s in samples)


def _summary(event: AuditEvent, samples: Sequence[str]) -> str:
    d = event.details
    if event.action == "release.ticket":
        what = "the whole file" if d.get("whole_file") else ", ".join(d.get("regions") or []) or "its header"
        return f"htsget ticket for file {d.get('file')} ({what})"
    if event.action == "release.block":
        return f"htsget block of file {d.get('file')}" + (f", {d['region']}" if d.get("region") else "")
    if event.action == "release.download":
        return f"Crypt4GH download of file {d.get('file')}"
    if event.action == BEACON_ACTION:
        return f"Beacon answer showing the genotypes of {', '.join(samples)}"
    if event.action == APPLIED_ACTION:
        return "the opt-out job applied the opt-outs and returns asked for"
    return event.action


def _text(value: object) -> str | None:
    return str(value) if value is not None else None


def _region(event: AuditEvent) -> str | None:
    d = event.details
    if d.get("regions"):
        return ", ".join(str(r) for r in d["regions"])
    return _text(d.get("region"))


def _uses(session: Session, participant: Participant, prover: Prover, entitlements: Sequence[Entitlement],
          asked: dict[str, datetime]) -> list[Use]:
    datasets = participant.datasets
    files: dict[str, list[str]] = {}
    for file, sample in own_files(session, participant):
        files.setdefault(file.id, []).append(sample)
    query = (select(AuditEvent)
             .where(or_(col(AuditEvent.actor) == participant.actor,
                        col(AuditEvent.dataset_id).in_(datasets)
                        & col(AuditEvent.action).in_([*RELEASE_ACTIONS, BEACON_ACTION]),
                        col(AuditEvent.dataset_id).in_(list(asked)) & (AuditEvent.action == APPLIED_ACTION)))
             .order_by(col(AuditEvent.id).desc()).limit(MAX_USES * 5))
    uses: list[Use] = []
    for event in session.exec(query):
        at = as_utc(event.at)
        approval = _approval(entitlements, event.actor, event.dataset_id, at)
        if event.actor == participant.actor:
            kind, mine = "own", participant.samples_of(event.dataset_id or "")
        elif event.action == APPLIED_ACTION:
            if at < asked[event.dataset_id or ""]:
                continue
            kind, mine = "applied", participant.samples_of(event.dataset_id or "")
        elif event.action in RELEASE_ACTIONS:
            kind, mine = "release", files.get(str(event.details.get("file")), [])
            if not mine or not _included(session, event.dataset_id or "", mine,
                                         as_utc(approval.start) if approval else None):
                continue
        else:
            tags = event.details.get("samples", [])
            shown = {participant.tags[t] for t in tags if t in participant.tags} if isinstance(tags, list) else set()
            if isinstance(individual := event.details.get("individual"), str):
                shown.add(individual)  # a line about one individual names it
            kind, mine = "beacon", [s for s in participant.samples_of(event.dataset_id or "") if s in shown]
            if not mine:
                continue
        uses.append(Use(line_id=event.id or 0, at=at, kind=kind, action=event.action, dataset_id=event.dataset_id,
                        actor=event.actor, approval=approval.request_id if approval else None,
                        summary=_summary(event, mine), file=_text(event.details.get("file")),
                        region=_region(event), samples=tuple(mine), proof=prover.prove(event)))
        if len(uses) >= MAX_USES:
            break
    return uses


def _decisions(session: Session, participant: Participant, prover: Prover,
               holdings: Sequence[Holding]) -> list[Decision]:
    found = permits(session, participant.datasets)
    grants = {e.entitlement_id: e for e in session.exec(
        select(AuditEvent).where(AuditEvent.action == "entitlement.grant",
                                 col(AuditEvent.entitlement_id).in_([p.entitlement_id for p in found])))}
    opted = {h.dataset_id: h.opt_out.in_effect for h in holdings}
    decisions = []
    for permit in found:
        line = grants.get(permit.entitlement_id)
        unaffected = opted.get(permit.dataset_id, False) and _included(
            session, permit.dataset_id, participant.samples_of(permit.dataset_id), permit.granted_at)
        decisions.append(Decision(permit=permit, line_id=line.id if line else None,
                                  proof=prover.prove(line) if line else None, unaffected_by_opt_out=unaffected))
    return decisions


def line_proof(session: Session, participant: Participant, line: int) -> LineProof:
    """The proof of one line of the participant's page: NotFound for a line not on it, or not yet covered by a
    signed checkpoint (a worker signs one every few minutes)."""
    data = my_data(session, participant)
    proofs = [u.proof for u in data.uses if u.line_id == line] + [d.proof for d in data.decisions if d.line_id == line]
    if not proofs:
        raise NotFound(f"line {line} is not on your page", field="line")
    if proofs[0] is None:
        raise NotFound(f"line {line} is not yet covered by a signed checkpoint; try again in a few minutes",
                       field="line")
    return proofs[0]


def my_data(session: Session, participant: Participant) -> MyData:
    """Everything the participant's page shows, each audit line with its proof against the latest checkpoint."""
    prover = Prover(session)
    holdings = _holdings(session, participant)
    asked = {h.dataset_id: h.opt_out.first_asked for h in holdings if h.opt_out.first_asked is not None}
    entitlements = list(session.exec(select(Entitlement).where(
        col(Entitlement.dataset_id).in_(participant.datasets))))
    return MyData(datasets=tuple(holdings), decisions=tuple(_decisions(session, participant, prover, holdings)),
                  uses=tuple(_uses(session, participant, prover, entitlements, asked)),
                  checkpoint=prover.checkpoint)
