"""What a participant does: download their own genotypes, opt out of datasets and back in; each audited as them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlmodel import Session

from access import audit
from catalogue.errors import InvalidInput, NotFound
from catalogue.models import DatasetFile, utcnow
from catalogue.services.opt_outs import request_opt_in, request_opt_out
from participants.links import Participant
from participants.mydata import own_files

__all__ = ["MAX_DATASETS", "OwnDownload", "choose_datasets", "download_own", "opt_in", "opt_out"]

MAX_DATASETS = 200


@dataclass(frozen=True, slots=True)
class OwnDownload:
    file: DatasetFile
    sample_id: str

    @property
    def filename(self) -> str:
        stem = self.file.name.split(".")[0] or self.file.id
        return f"{stem}.{self.sample_id}.vcf"


def download_own(session: Session, participant: Participant, *, file_id: str,
                 sample_id: str | None = None) -> OwnDownload:
    """The participant's column of one file (audited, then committed, before any byte leaves). A file holding
    several of their samples needs `sample_id`; another's file or sample is NotFound, as if it did not exist."""
    held = [(f, s) for f, s in own_files(session, participant) if f.id == file_id]
    if not held:
        raise NotFound(f"none of your samples is in a file {file_id}", field="file_id")
    if sample_id is None and len(held) > 1:
        raise InvalidInput(f"file {file_id} holds {len(held)} of your samples: name one as sample",
                           field="sample")
    chosen = held[0] if sample_id is None else next(((f, s) for f, s in held if s == sample_id), None)
    if chosen is None:
        raise NotFound(f"file {file_id} holds no sample {sample_id[:50] if sample_id else ''} of yours",
                       field="sample")
    file, sample = chosen
    audit.append(session, actor=participant.actor, action="participants.own_genotypes", dataset_id=file.dataset_id,
                 details={"file": file.id, "sample": sample, "format": "VCF"})
    session.commit()
    return OwnDownload(file, sample)


def choose_datasets(participant: Participant, datasets: Sequence[str] | None) -> list[str]:
    """The datasets an opt-out names (all of the participant's when None); another's is NotFound."""
    if datasets is None:
        return participant.datasets
    if len(datasets) > MAX_DATASETS:
        raise InvalidInput(f"at most {MAX_DATASETS} datasets at once", field="datasets")
    unknown = [d for d in datasets if d not in participant.datasets]
    if unknown:
        raise NotFound(f"none of your samples is in a dataset {unknown[0][:50]}", field="datasets")
    if not datasets:
        raise InvalidInput("name at least one dataset, or none at all for every one", field="datasets")
    return list(dict.fromkeys(datasets))


def _change(session: Session, participant: Participant, datasets: Sequence[str] | None, *, out: bool) -> list[str]:
    chosen = choose_datasets(participant, datasets)
    now = utcnow()
    for dataset_id in chosen:
        samples = participant.samples_of(dataset_id)
        audit.append(session, actor=participant.actor, action="participants.opt_out" if out else "participants.opt_in",
                     dataset_id=dataset_id, details={"samples": len(samples)})
        # the opt-out service commits (the audit line with it)
        (request_opt_out if out else request_opt_in)(session, dataset_id, samples, at=now)
    return chosen


def opt_out(session: Session, participant: Participant, datasets: Sequence[str] | None = None) -> list[str]:
    """Ask for the participant's samples of these datasets (all, by default) to be left out of secondary use from
    the scheduled job's next run; permits granted before it takes effect are unaffected (EHDS Art. 71)."""
    return _change(session, participant, datasets, out=True)


def opt_in(session: Session, participant: Participant, datasets: Sequence[str] | None = None) -> list[str]:
    """Undo an opt-out of these datasets (all, by default) from the job's next run."""
    return _change(session, participant, datasets, out=False)
