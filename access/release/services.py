"""Release use cases: tickets for entitled callers, blocks checked and audited one by one, encrypted downloads."""

from __future__ import annotations

import hashlib
import logging
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlmodel import Session

from access import audit
from access.release import at_rest, bgzf, slicing
from access.release.crypt4gh import encrypt_stream, encrypted_size
from access.release.errors import NotEntitled, UnsupportedFormat, WrongToken
from access.release.keys import download_key, key_bytes
from access.release.models import ResearcherKey
from access.release.tickets import Part, TicketQuery, block_path, plan_parts, ticket_json
from access.release.tokens import BlockGrant, read_block_token, sign_block_token
from access.rights import record_datasets
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import DatasetFile
from catalogue.services.datasets import dataset_files, get_dataset, get_dataset_for_update
from catalogue.services.roles import require_authenticated

__all__ = [
    "AtRestCopy",
    "Download",
    "ReleaseContext",
    "SpooledBlock",
    "authorise_block",
    "body_block",
    "encrypt_dataset_at_rest",
    "header_block",
    "issue_ticket",
    "prepare_download",
    "record_block",
]

_READ = 1 << 20
log = logging.getLogger("genomegate.release")


@dataclass(frozen=True, slots=True)
class ReleaseContext:
    """What release needs beyond the session: the URL-signing secret, this node's URL, lifetimes and sizes."""

    secret: str
    base_url: str
    ticket_ttl: int = 300
    file_block_bytes: int = 1 << 30
    spool_bytes: int = 8 << 20
    node_key_path: Path | None = None  # the node's Crypt4GH secret key, for files kept encrypted at rest


def _require_entitled(session: Session, caller: Caller, dataset_id: str) -> str | None:
    """Pass with an active entitlement (None) or a visa accepted with this request (its jti); else refuse."""
    if dataset_id in caller.visa_grants:
        return caller.visa_grants[dataset_id]
    if caller.subject is None or dataset_id not in record_datasets(session, caller.subject, [dataset_id]):
        raise NotEntitled(f"you hold no active entitlement to dataset {dataset_id}: request access, or renew it")
    return None


def _source(file: DatasetFile) -> slicing.VariantSource:
    return slicing.VariantSource(Path(file.uri), file.format.upper(), Path(file.index_uri) if file.index_uri else None)


def _choose_file(session: Session, dataset_id: str, file_id: str | None, fmt: str) -> DatasetFile:
    files = dataset_files(session, dataset_id)
    if file_id is not None:
        chosen = [f for f in files if f.id == file_id]
        if not chosen:
            raise NotFound(f"dataset {dataset_id} has no file {file_id}", field="file_id")
        if chosen[0].format.upper() != fmt:
            raise UnsupportedFormat(f"file {file_id} is kept as {chosen[0].format.upper()}, not {fmt}; "
                                    f"ask format={chosen[0].format.upper()}", field="format")
        return chosen[0]
    if not files:
        raise NotFound(f"dataset {dataset_id} has no files yet", field="dataset_id")
    same = [f for f in files if f.format.upper() == fmt]
    if not same:
        kept = ", ".join(sorted({f.format.upper() for f in files}))
        raise UnsupportedFormat(f"dataset {dataset_id} keeps its files as {kept}, not {fmt}", field="format")
    if len(same) > 1:
        ids = ", ".join(f.id for f in same)
        raise InvalidInput(f"dataset {dataset_id} has {len(same)} {fmt} files ({ids}): "
                           f"ask /htsget/variants/{dataset_id}/<file id>", field="file_id")
    return same[0]


def issue_ticket(session: Session, caller: Caller, ctx: ReleaseContext, *, dataset_id: str, file_id: str | None,
                 query: TicketQuery, now: int, client: str | None = None) -> dict[str, object]:
    """The htsget ticket for an entitled caller; each URL carries a token bound to them, the file and the part.

    Unauthenticated for anonymous callers, NotFound for an unknown dataset, NotEntitled without an entitlement.
    """
    subject = require_authenticated(caller)
    dataset = get_dataset(session, caller, dataset_id)
    visa_jti = _require_entitled(session, caller, dataset.id)
    file = _choose_file(session, dataset.id, file_id, query.format)
    source = _source(file)
    contigs = source.contigs() if query.regions else ()
    parts = plan_parts(query, file_contigs=contigs, assembly=dataset.assembly, size=file.size,
                       block_bytes=ctx.file_block_bytes)
    expires = now + ctx.ticket_ttl

    def url_for(part: Part) -> tuple[str, str]:
        grant = BlockGrant(subject=subject, dataset_id=dataset.id, file_id=file.id, part=part.part,
                           contig=part.contig, start=part.start, end=part.end, expires_at=expires,
                           visa_jti=visa_jti)
        return ctx.base_url + block_path(dataset.id, file.id, part), sign_block_token(ctx.secret, grant, now=now)

    ticket = ticket_json(query.format, parts, url_for)
    audit.append(session, actor=subject, action="release.ticket", dataset_id=dataset.id, client=client,
                 visa_jti=visa_jti, details={
        "file": file.id, "format": query.format, "class": "header" if query.header_only else None,
        "regions": [p.region_text for p in parts if p.part == "body"],
        "whole_file": not query.regions and not query.header_only, "expires": expires,
        "ignored": list(query.ignored)})
    session.commit()
    return ticket


def authorise_block(session: Session, ctx: ReleaseContext, *, token: str, presenter: str | None, dataset_id: str,
                    file_id: str, part: Part, now: int) -> tuple[BlockGrant, DatasetFile]:
    """Check one block request: a valid, unexpired token for exactly this URL, still backed by an entitlement.

    `presenter` is the subject of a user token sent alongside a token in the query string: it must be the
    token's subject. The entitlement is read afresh, so a revocation stops the very next block; a ticket
    granted by a visa (which this node cannot revoke) lasts only as long as its short-lived tokens.
    """
    grant = read_block_token(ctx.secret, token, now=now)
    if presenter is not None and presenter != grant.subject:
        raise WrongToken("this block token was issued to another caller")
    asked = (dataset_id, file_id, part.part, part.contig, part.start, part.end)
    granted = (grant.dataset_id, grant.file_id, grant.part, grant.contig, grant.start, grant.end)
    if asked != granted:
        raise WrongToken("this block token was issued for another dataset, file, part or region")
    if grant.visa_jti is None and dataset_id not in record_datasets(session, grant.subject, [dataset_id]):
        raise NotEntitled(f"you hold no active entitlement to dataset {dataset_id}: request access, or renew it")
    file = session.get(DatasetFile, file_id)
    if file is None or file.dataset_id != dataset_id:
        raise NotFound(f"dataset {dataset_id} has no file {file_id}", field="file_id")
    return grant, file


def record_block(session: Session, grant: BlockGrant, file: DatasetFile, *, size: int, sha256: str | None,
                 byte_range: str | None = None, client: str | None = None) -> None:
    """Audit one block before its bytes leave: who, dataset, file, part, region, bytes and checksum."""
    region = None if grant.contig is None else f"{grant.contig}:{grant.start}-{grant.end}"
    audit.append(session, actor=grant.subject, action="release.block", dataset_id=grant.dataset_id, client=client,
                 visa_jti=grant.visa_jti, details={"file": file.id, "part": grant.part, "region": region,
                                                   "bytes": size, "sha256": sha256, "range": byte_range})
    session.commit()


def header_block(file: DatasetFile) -> bytes:
    return slicing.header_block(_source(file))


@dataclass
class SpooledBlock:
    """A region's BGZF blocks, written aside (in memory, or on disk past a size) so size and checksum are known."""

    handle: IO[bytes]
    size: int
    sha256: str

    def chunks(self) -> Iterator[bytes]:
        try:
            self.handle.seek(0)
            while chunk := self.handle.read(_READ):
                yield chunk
        finally:
            self.handle.close()


def body_block(file: DatasetFile, part: Part, *, spool_bytes: int) -> SpooledBlock:
    assert part.contig is not None and part.start is not None and part.end is not None
    handle = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
    digest, size = hashlib.sha256(), 0
    for block in slicing.body_blocks(_source(file), part.contig, part.start, part.end):
        handle.write(block)
        digest.update(block)
        size += len(block)
    return SpooledBlock(handle, size, digest.hexdigest())


def eof_block() -> bytes:
    return bgzf.EOF_BLOCK


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def range_length(header: str | None, size: int) -> int:
    """Bytes a single-range `Range` header asks of a file of `size` bytes (the whole file otherwise)."""
    match = _RANGE.match(header.strip()) if header else None
    if match is None or (not match.group(1) and not match.group(2)):
        return size
    first, last = match.group(1), match.group(2)
    if not first:
        return min(int(last), size)
    end = min(int(last), size - 1) if last else size - 1
    return max(0, end - int(first) + 1)


@dataclass(frozen=True, slots=True)
class Download:
    """An encrypted download, audited and ready to stream: its at-rest copy re-headed, or the file encrypted anew."""

    path: Path
    name: str
    plain_size: int
    encrypted_size: int
    key: ResearcherKey
    reencrypted: at_rest.Reencrypted | None = None

    def chunks(self) -> Iterator[bytes]:
        if self.reencrypted is not None:
            return self.reencrypted.chunks()
        return encrypt_stream(_read(self.path), key_bytes(self.key))


def _read(path: Path) -> Iterator[bytes]:
    with path.open("rb") as handle:
        while chunk := handle.read(_READ):
            yield chunk


def _reencrypted(file: DatasetFile, key: ResearcherKey, node_key_path: Path | None) -> at_rest.Reencrypted | None:
    """The file's at-rest copy with its header sealed for `key`; None (full encryption) when there is none usable."""
    copy = at_rest.at_rest_path(Path(file.uri))
    if node_key_path is None or not copy.exists():
        return None
    node_key = at_rest.load_node_key(node_key_path)
    if node_key is None:
        log.warning("%s is kept encrypted at rest but the node key %s is missing; encrypting anew", file.id,
                    node_key_path)
        return None
    try:
        return at_rest.reencrypt_header(copy, node_key.secret, key_bytes(key), plain_size=file.size)
    except at_rest.AtRestUnusable as exc:
        log.warning("the at-rest copy of %s is unusable (%s); encrypting anew", file.id, exc)
        return None


def prepare_download(session: Session, caller: Caller, *, dataset_id: str, file_id: str, encryption: str,
                     key_id: str | None = None, node_key_path: Path | None = None,
                     client: str | None = None) -> Download:
    """Check and audit a whole-file download encrypted with Crypt4GH to the caller's registered key.

    When the file is kept encrypted at rest (and `node_key_path` opens it), only its header is re-encrypted to
    the caller's key and its segments are served as stored; otherwise the plain file is encrypted as it streams.
    """
    subject = require_authenticated(caller)
    if encryption != "crypt4gh":
        raise InvalidInput("downloads are encrypted: ask encryption=crypt4gh (htsget serves plain bytes)",
                           field="encryption")
    dataset = get_dataset(session, caller, dataset_id)
    visa_jti = _require_entitled(session, caller, dataset.id)
    file = session.get(DatasetFile, file_id)
    if file is None or file.dataset_id != dataset.id:
        raise NotFound(f"dataset {dataset.id} has no file {file_id}", field="file_id")
    key = download_key(session, subject, key_id)
    reencrypted = _reencrypted(file, key, node_key_path)
    audit.append(session, actor=subject, action="release.download", dataset_id=dataset.id, client=client,
                 visa_jti=visa_jti, details={
        "file": file.id, "bytes": file.size, "sha256": file.sha256, "encryption": "crypt4gh",
        "key": key.id, "fingerprint": key.fingerprint, "reencrypted": reencrypted is not None})
    session.commit()
    size = reencrypted.size if reencrypted is not None else encrypted_size(file.size)
    return Download(Path(file.uri), f"{file.name}.c4gh", file.size, size, key, reencrypted)


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
