"""Whole-file downloads encrypted with Crypt4GH to the caller's key, and the node's encrypted copies at rest."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sqlmodel import Session

from access import audit
from access.release import at_rest, derived
from access.release.crypt4gh import encrypt_stream, encrypted_size, fingerprint, parse_public_key
from access.release.grants import ReleaseContext, grant_for
from access.release.keys import download_key, key_bytes
from access.release.rate import check_rate
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import DatasetFile, utcnow
from catalogue.services.datasets import dataset_files, get_dataset, get_dataset_for_update
from catalogue.services.roles import require_authenticated

__all__ = ["AtRestCopy", "Download", "Recipient", "encrypt_dataset_at_rest", "prepare_download"]

_READ = 1 << 20
log = logging.getLogger("genomegate.release")


@dataclass(frozen=True, slots=True)
class Recipient:
    """The key a download is encrypted to: a registered one (its id), or one sent with the request (no id)."""

    public: bytes
    fingerprint: str
    key_id: str | None = None


@dataclass(frozen=True, slots=True)
class Download:
    """An encrypted download, audited and ready to stream: its at-rest copy re-headed, or the file encrypted anew."""

    path: Path
    name: str
    plain_size: int
    encrypted_size: int
    recipient: Recipient
    reencrypted: at_rest.Reencrypted | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.reencrypted is not None:
            return self.reencrypted.chunks()
        return encrypt_stream(_read(self.path), self.recipient.public)


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_READ):
            yield chunk


def _reencrypted(file: DatasetFile, recipient: Recipient, node_key_path: Path | None) -> at_rest.Reencrypted | None:
    """The file's at-rest copy with its header sealed for the recipient; None (full encryption) when none is usable."""
    copy = at_rest.at_rest_path(Path(file.uri))
    if node_key_path is None or not copy.exists():
        return None
    node_key = at_rest.load_node_key(node_key_path)
    if node_key is None:
        log.warning("%s is kept encrypted at rest but the node key %s is missing; encrypting anew", file.id,
                    node_key_path)
        return None
    try:
        return at_rest.reencrypt_header(copy, node_key.secret, recipient.public, plain_size=file.size)
    except at_rest.AtRestUnusable as exc:
        log.warning("the at-rest copy of %s is unusable (%s); encrypting anew", file.id, exc)
        return None


def _recipient(session: Session, caller: Caller, key_id: str | None, public_key: str | None) -> Recipient:
    if public_key is not None:
        if key_id is not None:
            raise InvalidInput("name a registered key (key_id) or send one (public_key), not both", field="key_id")
        raw = parse_public_key(public_key)
        return Recipient(raw, fingerprint(raw))
    if caller.subject is None:
        raise InvalidInput("send the Crypt4GH public key to encrypt to as public_key= (or sign in and register one "
                           "at /api/access/keys)", field="public_key")
    key = download_key(session, caller.subject, key_id)
    return Recipient(key_bytes(key), key.fingerprint, key.id)


def prepare_download(session: Session, caller: Caller, ctx: ReleaseContext, *, dataset_id: str, file_id: str,
                     encryption: str, key_id: str | None = None, public_key: str | None = None,
                     client: str | None = None) -> Download:
    """Check, rate-limit and audit a whole-file download encrypted with Crypt4GH: to the caller's registered key
    (the one named, else the newest), or to `public_key` sent with the request (the only way for anonymous callers
    of PUBLIC datasets). Who may download what is `grants.grant_for`'s rule, as for htsget.

    When the file is kept encrypted at rest (and the node key opens it), only its header is re-encrypted to
    the recipient and its segments are served as stored; otherwise the plain file is encrypted as it streams.
    """
    if encryption != "crypt4gh":
        raise InvalidInput("downloads are encrypted: ask encryption=crypt4gh (htsget serves plain bytes)",
                           field="encryption")
    dataset = get_dataset(session, caller, dataset_id)
    grant = grant_for(session, caller, dataset, secret=ctx.secret, client=client)
    file = session.get(DatasetFile, file_id)
    if file is None or file.dataset_id != dataset.id:
        raise NotFound(f"dataset {dataset.id} has no file {file_id}", field="file_id")
    recipient = _recipient(session, caller, key_id, public_key)
    check_rate(session, grant.who, ctx.rate, now=utcnow())
    # under a permit issued after an opt-out took effect: the copy without the sample, encrypted as it streams
    stored = file
    file = derived.released_file(session, stored, grant.grounds, caller.subject)
    reencrypted = _reencrypted(file, recipient, ctx.node_key_path) if file is stored else None
    audit.append(session, actor=grant.who.actor, action="release.download", dataset_id=dataset.id,
                 client=grant.who.client, visa_jti=grant.visa_jti, details={
        "file": file.id, "bytes": file.size, "sha256": file.sha256, "encryption": "crypt4gh",
        "key": recipient.key_id, "fingerprint": recipient.fingerprint, "reencrypted": reencrypted is not None,
        "grounds": grant.grounds.value, "samples_left_out": file is not stored})
    session.commit()
    size = reencrypted.size if reencrypted is not None else encrypted_size(file.size)
    return Download(Path(file.uri), f"{file.name}.c4gh", file.size, size, recipient, reencrypted)


@dataclass(frozen=True, slots=True)
class AtRestCopy:
    """One stored file's Crypt4GH copy: where it is, and whether this run wrote it or found a usable one."""

    file_id: str
    path: Path
    plain_size: int
    written: bool


def encrypt_dataset_at_rest(session: Session, caller: Caller, *, dataset_id: str, node_key_path: Path,
                            progress: Callable[[int], None] | None = None,
                            client: str | None = None) -> list[AtRestCopy]:
    """Keep a Crypt4GH copy of each of a dataset's stored files, encrypted to the node key (stewards, operators).

    Creates the node key on first use. Safe to run again: usable copies are kept, unusable ones (another node key,
    truncated) rewritten. StoredFileChanged, and no copy, when a stored file no longer has its catalogued sha256.
    """
    dataset = get_dataset_for_update(session, caller, dataset_id)
    node_key = at_rest.load_node_key(node_key_path, create=True)
    assert node_key is not None
    copies = []
    for file in dataset_files(session, dataset.id):
        plain = Path(file.uri)
        copy = at_rest.at_rest_path(plain)
        if copy.exists():
            try:
                at_rest.reencrypt_header(copy, node_key.secret, node_key.public, plain_size=file.size)
                copies.append(AtRestCopy(file.id, copy, file.size, written=False))
                continue
            except at_rest.AtRestUnusable as exc:
                log.warning("rewriting the at-rest copy of %s: %s", file.id, exc)
        copy = at_rest.encrypt_file(plain, node_key.public, sha256=file.sha256, progress=progress)
        copies.append(AtRestCopy(file.id, copy, file.size, written=True))
    audit.append(session, actor=require_authenticated(caller), action="release.encrypt_at_rest",
                 dataset_id=dataset.id, client=client, details={
        "files": [c.file_id for c in copies], "written": [c.file_id for c in copies if c.written],
        "node_key": node_key.fingerprint})
    session.commit()
    return copies
