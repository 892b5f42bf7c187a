"""Link sheets: a steward links a dataset's samples to participants (kept as keyed hashes), a newer sheet supersedes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from access import audit
from catalogue.errors import Conflict, Forbidden, NotFound, Unauthenticated
from catalogue.identity import Caller
from catalogue.models import Dataset, Sample, utcnow
from catalogue.sample_tags import sample_tag
from catalogue.services.roles import require_authenticated
from participants.errors import BadLinkSheet, NotAParticipant
from participants.keys import actor_of, participant_hash
from participants.models import LinkSheet, LinkSheetPublic, ParticipantLink
from participants.sheets import parse_sheet

__all__ = ["Participant", "linked_samples", "list_sheets", "participant_for", "upload_sheet"]

_NOT_LINKED = ("no sample held here is linked to you; if you took part in a study whose data are held here, ask "
               "its data steward to link your samples, and sign in with the account the study knows you by")


def _stewarded(session: Session, caller: Caller, dataset_id: str) -> Dataset:
    require_authenticated(caller)
    dataset = session.get(Dataset, dataset_id)
    if dataset is None:
        raise NotFound(f"no dataset {dataset_id}", field="dataset_id")
    if not caller.stewards(dataset.organisation_id):
        raise Forbidden(f"only stewards of {dataset.organisation_id} link the samples of {dataset_id}",
                        field="dataset_id")
    return dataset


def _public(sheet: LinkSheet) -> LinkSheetPublic:
    return LinkSheetPublic(id=sheet.id or 0, dataset_id=sheet.dataset_id, version=sheet.version, links=sheet.links,
                           sha256=sheet.sha256, uploaded_by=sheet.uploaded_by, uploaded_at=sheet.uploaded_at,
                           superseded_at=sheet.superseded_at, in_force=sheet.superseded_at is None)


def upload_sheet(session: Session, caller: Caller, *, dataset_id: str, content: bytes, key: str) -> LinkSheetPublic:
    """Store a new link sheet for a dataset (stewards of its organisation): every sample must be one of the
    dataset's; identifiers are kept only as keyed hashes. The sheet before it is kept as history, superseded.
    Audited (who, version, how many links, the sheet's checksum; never an identifier)."""
    dataset = _stewarded(session, caller, dataset_id)
    rows = parse_sheet(content)
    known = set(session.exec(select(Sample.sample_id).where(Sample.dataset_id == dataset.id)))
    unknown = [r.sample_id for r in rows if r.sample_id not in known]
    if unknown:
        raise BadLinkSheet(f"{len(unknown)} samples are not in dataset {dataset.id}, e.g. {unknown[0][:50]}",
                           field="sheet")
    now = utcnow()
    session.commit()  # end the reads: what follows sees the latest committed sheets
    # One upload per dataset at a time: PostgreSQL waits on the dataset's row lock, SQLite on its write lock (taken
    # by the update); the next upload then supersedes this one's sheet.
    session.exec(select(Dataset.id).where(Dataset.id == dataset.id).with_for_update()).one()
    current = session.exec(select(LinkSheet.id).where(LinkSheet.dataset_id == dataset.id,
                                                      col(LinkSheet.superseded_at).is_(None))).first()
    session.execute(update(LinkSheet).where(col(LinkSheet.dataset_id) == dataset.id,
                                            col(LinkSheet.superseded_at).is_(None)).values(superseded_at=now)
                    .execution_options(synchronize_session=False))
    last = session.exec(select(LinkSheet.version).where(LinkSheet.dataset_id == dataset.id)
                        .order_by(col(LinkSheet.version).desc()).limit(1)).first()
    sheet = LinkSheet(dataset_id=dataset.id, version=(last or 0) + 1, links=len(rows),
                      sha256=hashlib.sha256(content).hexdigest(), uploaded_by=caller.subject or "operator",
                      uploaded_at=now)
    try:
        with session.begin_nested():
            session.add(sheet)
    except IntegrityError:
        session.rollback()
        raise Conflict(f"another link sheet of {dataset.id} was stored meanwhile; upload yours again",
                       field="sheet") from None
    assert sheet.id is not None
    session.add_all([ParticipantLink(sheet_id=sheet.id, sample_id=r.sample_id, dataset_id=dataset.id,
                                     participant_hash=participant_hash(key, r.identifier)) for r in rows])
    audit.append(session, actor=caller.subject or "operator", action="participants.link_sheet",
                 dataset_id=dataset.id, details={"sheet": sheet.id, "version": sheet.version, "links": len(rows),
                                                 "sha256": sheet.sha256,
                                                 "supersedes": current})
    session.commit()
    return _public(sheet)


def list_sheets(session: Session, caller: Caller, dataset_id: str) -> list[LinkSheetPublic]:
    """A dataset's link sheets, newest first (stewards of its organisation)."""
    dataset = _stewarded(session, caller, dataset_id)
    sheets = session.exec(select(LinkSheet).where(LinkSheet.dataset_id == dataset.id)
                          .order_by(col(LinkSheet.version).desc()))
    return [_public(s) for s in sheets]


def linked_samples(session: Session, digest: str) -> list[tuple[str, str]]:
    """(dataset id, sample id) of every sample the sheets in force link to this keyed hash."""
    query = (select(ParticipantLink.dataset_id, ParticipantLink.sample_id)
             .join(LinkSheet, col(LinkSheet.id) == col(ParticipantLink.sheet_id))
             .where(ParticipantLink.participant_hash == digest, col(LinkSheet.superseded_at).is_(None))
             .order_by(col(ParticipantLink.dataset_id), col(ParticipantLink.sample_id)))
    return [(d, s) for d, s in session.exec(query)]


@dataclass(frozen=True, slots=True)
class Participant:
    """A signed-in person whom link sheets link to samples: named by the keyed hash only."""

    digest: str
    samples: tuple[tuple[str, str], ...]  # (dataset id, sample id)
    tags: dict[str, str] = field(default_factory=dict, repr=False)  # audit lines' sample tag -> own sample id

    @property
    def actor(self) -> str:
        return actor_of(self.digest)

    @property
    def datasets(self) -> list[str]:
        return sorted({d for d, _ in self.samples})

    def samples_of(self, dataset_id: str) -> list[str]:
        return [s for d, s in self.samples if d == dataset_id]

    def holds(self, dataset_ids: Sequence[str]) -> bool:
        return any(d in dataset_ids for d, _ in self.samples)


def participant_for(session: Session, caller: Caller, key: str) -> Participant:
    """The participant the caller is: 401 when anonymous, NotAParticipant (404) when nothing links to them.

    Roles give nothing here: a steward or an admin sees only their own samples, like anyone else.
    """
    if caller.principal is None:
        raise Unauthenticated("sign in to see your data")
    identifier = caller.principal.participant_id
    if not identifier or not (samples := linked_samples(session, digest := participant_hash(key, identifier))):
        raise NotAParticipant(_NOT_LINKED)
    return Participant(digest, tuple(samples), {sample_tag(key, d, s): s for d, s in samples})
