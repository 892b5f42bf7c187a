"""Release copies of stored files without opted-out samples: what `bcftools view -s ^SAMPLE` writes, made by htslib.

A release under a permit granted after an opt-out took effect leaves the sample out (EHDS Art. 71); one under a
permit granted before is unchanged (catalogue.services.opt_outs.excluded_for_release). Such a release serves a
derived copy of the stored file, made once per (file, set of samples left out) by bcftools (bundled with pysam),
indexed, and kept beside the stored file (`<store>/<sha>/without/<digest>/`) with a small JSON of what it is; its
own checksums are those of the derived bytes. Release then slices it as it slices any stored file. The opt-out job
makes the copy new permits need once it applied opt-outs (`make_for_dataset`); a copy missing when asked for
(another set, or one cleared away) is made then, on the release's worker thread.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pysam
from pysam import bcftools
from sqlmodel import Session

from access.release.errors import TokenRefused
from access.release.policy import Grounds
from access.rights import active_entitlements
from catalogue.models import DatasetFile, as_utc, utcnow
from catalogue.services.datasets import dataset_files
from catalogue.services.opt_outs import excluded_for_release, excluded_now

__all__ = ["Derived", "derived_copy", "for_variant", "granted_at", "make_for_dataset", "released_file"]

_INFO = "derived.json"


@dataclass(frozen=True, slots=True)
class Derived:
    """A stored file without some samples: where it is, and its own size and checksums."""

    path: Path
    index_path: Path
    samples_left_out: tuple[str, ...]
    size: int
    md5: str
    sha256: str

    @property
    def variant(self) -> str:
        return _digest(self.samples_left_out)


def _checksums(path: Path) -> tuple[int, str, str]:
    md5, sha256, size = hashlib.md5(), hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            size += len(chunk)
            md5.update(chunk)
            sha256.update(chunk)
    return size, md5.hexdigest(), sha256.hexdigest()


def _digest(samples: tuple[str, ...]) -> str:
    return hashlib.sha256("\n".join(samples).encode()).hexdigest()[:32]


def _folder(file: DatasetFile, variant: str) -> Path:
    return Path(file.uri).parent / "without" / variant


def _load(folder: Path) -> Derived | None:
    try:
        info = json.loads((folder / _INFO).read_text())
    except (OSError, ValueError):
        return None
    derived = Derived(folder / info["name"], folder / info["index"], tuple(info["samples"]), info["size"],
                      info["md5"], info["sha256"])
    return derived if derived.path.is_file() and derived.index_path.is_file() else None


def derived_copy(file: DatasetFile, left_out: frozenset[str]) -> Derived | None:
    """The file without the samples of `left_out` it holds, made now if it was not made before; None when it holds
    none of them (the file itself is served)."""
    source = Path(file.uri)
    with pysam.VariantFile(str(source)) as handle:
        held = tuple(sorted(left_out.intersection(handle.header.samples)))
    if not held:
        return None
    folder = _folder(file, _digest(held))
    found = _load(folder)
    if found is not None:
        return found
    folder.mkdir(parents=True, exist_ok=True)
    bcf = file.format.upper() == "BCF"
    name = source.name
    temporary = folder / f".{uuid.uuid4().hex}.{'bcf' if bcf else 'vcf.gz'}"
    try:
        # --no-version: no command line (with this node's paths) in the header; records as `view -s ^S` writes
        bcftools.view("--no-version", "-s", "^" + ",".join(held), "-O", "b" if bcf else "z",
                            "-o", str(temporary), str(source), catch_stdout=False)
        bcftools.index("--csi", "-f", "-o", f"{temporary}.csi", str(temporary), catch_stdout=False)
        size, md5, sha256 = _checksums(temporary)
        os.replace(f"{temporary}.csi", folder / f"{name}.csi")
        os.replace(temporary, folder / name)
    finally:
        for leftover in (temporary, Path(f"{temporary}.csi")):
            leftover.unlink(missing_ok=True)
    info = {"name": name, "index": f"{name}.csi", "samples": list(held), "size": size, "md5": md5,
            "sha256": sha256, "of": file.sha256}
    staged = folder / f".{uuid.uuid4().hex}.json"
    staged.write_text(json.dumps(info))
    os.replace(staged, folder / _INFO)  # last: a folder with its JSON is complete
    return Derived(folder / name, folder / f"{name}.csi", held, size, md5, sha256)


def _as_file(file: DatasetFile, derived: Derived) -> DatasetFile:
    """The catalogue's file as release serves it: the same id and name, the derived bytes (never stored)."""
    return DatasetFile(id=file.id, dataset_id=file.dataset_id, name=file.name, uri=str(derived.path),
                       format=file.format, size=derived.size, md5=derived.md5, sha256=derived.sha256,
                       index_uri=str(derived.index_path))


def granted_at(session: Session, grounds: Grounds, subject: str | None, dataset_id: str, *,
               now: datetime | None = None) -> datetime:
    """When the permit a release is made under was issued: the earliest active entitlement of the subject to the
    dataset; a dataset open to all (or a visa, which this node did not issue) counts as a permit issued now."""
    now = now or utcnow()
    if grounds is Grounds.ENTITLEMENT and subject is not None:
        starts = [as_utc(e.start) for e in active_entitlements(session, subject, now=now) if e.dataset_id == dataset_id]
        if starts:
            return min(starts)
    return now


def released_file(session: Session, file: DatasetFile, grounds: Grounds, subject: str | None) -> DatasetFile:
    """What a release of `file` under these grounds serves: the file, or its copy without the samples whose opt-out
    took effect before the permit was issued. Its `sha256` names the variant (`for_variant` finds it again)."""
    left_out = excluded_for_release(session, file.dataset_id, granted_at(session, grounds, subject, file.dataset_id))
    derived = derived_copy(file, left_out) if left_out else None
    return file if derived is None else _as_file(file, derived)


def for_variant(file: DatasetFile, sha256: str) -> DatasetFile:
    """The file (or derived copy) whose bytes have this sha256, as a ticket planned it; TokenRefused when that
    copy is gone (ask for a new ticket)."""
    if sha256 == file.sha256:
        return file
    folder = Path(file.uri).parent / "without"
    for candidate in sorted(folder.iterdir()) if folder.is_dir() else []:
        found = _load(candidate)
        if found is not None and found.sha256 == sha256:
            return _as_file(file, found)
    raise TokenRefused("the copy this ticket was made for is gone; ask for a new ticket")


def make_for_dataset(session: Session, dataset_id: str) -> int:
    """Make the copies of the dataset's files that permits issued from now on get (the opt-out job runs this once
    it applied opt-outs); returns how many copies exist for them."""
    left_out = excluded_now(session, dataset_id)
    if not left_out:
        return 0
    return sum(1 for f in dataset_files(session, dataset_id)
               if f.format.upper() in ("VCF", "BCF") and derived_copy(f, left_out) is not None)
