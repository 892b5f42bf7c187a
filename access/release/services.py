"""htsget use cases: tickets for callers the dataset's level lets in, blocks checked, limited and audited one by one."""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from sqlmodel import Session

from access import audit
from access.release import bgzf, derived, slicing
from access.release.convert import converted_header, converted_records
from access.release.errors import UnsupportedFormat, WrongToken
from access.release.grants import ReleaseContext, block_requester, check_block_grounds, grant_for
from access.release.policy import Requester
from access.release.rate import check_rate
from access.release.tickets import Part, TicketQuery, block_path, plan_parts, ticket_json
from access.release.tokens import BlockGrant, read_block_token, sign_block_token
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller
from catalogue.models import DatasetFile, utcnow
from catalogue.services.datasets import dataset_files, get_dataset

__all__ = [
    "Block",
    "SpooledBlock",
    "authorise_block",
    "body_block",
    "header_block",
    "issue_ticket",
    "range_length",
    "record_block",
]

_READ = 1 << 20


def _source(file: DatasetFile) -> slicing.VariantSource:
    return slicing.VariantSource(Path(file.uri), file.format.upper(), Path(file.index_uri) if file.index_uri else None)


def _choose_file(session: Session, dataset_id: str, file_id: str | None, fmt: str) -> DatasetFile:
    """The file a ticket serves: the one named, else the dataset's one file of the format asked, else its one
    file of the other format (converted)."""
    files = dataset_files(session, dataset_id)
    if file_id is not None:
        chosen = [f for f in files if f.id == file_id]
        if not chosen:
            raise NotFound(f"dataset {dataset_id} has no file {file_id}", field="file_id")
        return chosen[0]
    if not files:
        raise NotFound(f"dataset {dataset_id} has no files yet", field="dataset_id")
    same = [f for f in files if f.format.upper() == fmt] or files
    if len(same) > 1:
        ids = ", ".join(f.id for f in same)
        raise InvalidInput(f"dataset {dataset_id} has {len(same)} files ({ids}) that could serve {fmt}: "
                           f"ask /htsget/variants/{dataset_id}/<file id>", field="file_id")
    if same[0].format.upper() not in ("VCF", "BCF"):
        raise UnsupportedFormat(f"file {same[0].id} is kept as {same[0].format}, which htsget does not serve",
                                field="format")
    return same[0]


def issue_ticket(session: Session, caller: Caller, ctx: ReleaseContext, *, dataset_id: str, file_id: str | None,
                 query: TicketQuery, now: int, client: str | None = None) -> dict[str, object]:
    """The htsget ticket for a caller the dataset's level lets in (`grants.grant_for`); each URL carries a token
    bound to them (or, anonymous, to no one), the file, the part and the format it is converted to, if any.

    NotFound for an unknown dataset, Unauthenticated or NotEntitled for a caller it is closed to, RateLimited
    past the rate limit.
    """
    dataset = get_dataset(session, caller, dataset_id)
    grant = grant_for(session, caller, dataset, secret=ctx.secret, client=client)
    stored_file = _choose_file(session, dataset.id, file_id, query.format)
    check_rate(session, grant.who, ctx.rate, now=utcnow())
    # under a permit issued after an opt-out took effect: the copy without the sample (same id, its own bytes)
    file = derived.released_file(session, stored_file, grant.grounds, caller.subject)
    variant = None if file is stored_file else file.sha256
    source = _source(file)
    stored = file.format.upper()
    converting = stored != query.format
    if query.regions:
        contigs = source.contigs()
    elif converting and not query.header_only:
        contigs = source.contigs_with_records()
    else:
        contigs = ()
    parts = plan_parts(query, stored=stored, file_contigs=contigs, assembly=dataset.assembly, size=file.size,
                       block_bytes=ctx.file_block_bytes)
    expires = grant.lasts(now + ctx.ticket_ttl)

    def url_for(part: Part) -> tuple[str, str]:
        claims = BlockGrant(subject=grant.who.actor, dataset_id=dataset.id, file_id=file.id, part=part.part,
                            contig=part.contig, start=part.start, end=part.end, expires_at=expires,
                            visa_jti=grant.visa_jti, grounds=grant.grounds.value, convert=part.convert,
                            variant=variant)
        return ctx.base_url + block_path(dataset.id, file.id, part), sign_block_token(ctx.secret, claims, now=now)

    ticket = ticket_json(query.format, parts, url_for)
    audit.append(session, actor=grant.who.actor, action="release.ticket", dataset_id=dataset.id,
                 client=grant.who.client, visa_jti=grant.visa_jti, details={
        "file": file.id, "format": query.format, "class": "header" if query.header_only else None,
        "regions": [p.region_text for p in parts if p.part == "body"],
        "whole_file": not query.regions and not query.header_only, "expires": expires,
        "ignored": list(query.ignored), "grounds": grant.grounds.value,
        "converted_from": stored if converting else None, "samples_left_out": variant is not None})
    session.commit()
    return ticket


@dataclass(frozen=True, slots=True)
class Block:
    """A block request found good: what its token grants, the file, and who fetches it."""

    grant: BlockGrant
    file: DatasetFile
    who: Requester


def authorise_block(session: Session, ctx: ReleaseContext, *, token: str, presenter: str | None, dataset_id: str,
                    file_id: str, part: Part, now: int, client: str | None = None) -> Block:
    """Check one block request: a valid, unexpired token for exactly this URL, its grounds still holding, within
    the fetcher's rate limit.

    `presenter` is the subject of a user token sent alongside a token in the query string: it must be the
    token's subject. Grounds are read afresh (`grants.check_block_grounds`), so a revocation, or an open
    dataset made CONTROLLED, stops the very next block; a ticket granted by a visa (which this node cannot
    revoke) lasts only as long as its short-lived tokens.
    """
    grant = read_block_token(ctx.secret, token, now=now)
    if presenter is not None and presenter != grant.subject:
        raise WrongToken("this block token was issued to another caller")
    asked = (dataset_id, file_id, part.part, part.contig, part.start, part.end, part.convert)
    granted = (grant.dataset_id, grant.file_id, grant.part, grant.contig, grant.start, grant.end, grant.convert)
    if asked != granted:
        raise WrongToken("this block token was issued for another dataset, file, part, region or format")
    check_block_grounds(session, grant)
    file = session.get(DatasetFile, file_id)
    if file is None or file.dataset_id != dataset_id:
        raise NotFound(f"dataset {dataset_id} has no file {file_id}", field="file_id")
    if grant.variant is not None:  # the ticket's copy without opted-out samples
        file = derived.for_variant(file, grant.variant)
    who = block_requester(grant, client, secret=ctx.secret)
    check_rate(session, who, ctx.rate, now=utcnow())
    return Block(grant, file, who)


def record_block(session: Session, block: Block, *, size: int, sha256: str | None,
                 byte_range: str | None = None) -> None:
    """Audit one block before its bytes leave: who, dataset, file, part, region, format, bytes and checksum."""
    grant = block.grant
    region = None if grant.contig is None else f"{grant.contig}:{grant.start}-{grant.end}"
    audit.append(session, actor=block.who.actor, action="release.block", dataset_id=grant.dataset_id,
                 client=block.who.client, visa_jti=grant.visa_jti, details={
        "file": block.file.id, "part": grant.part, "region": region, "bytes": size, "sha256": sha256,
        "range": byte_range, "grounds": grant.grounds, "converted_to": grant.convert})
    session.commit()


def header_block(file: DatasetFile, part: Part) -> bytes:
    """The header as BGZF blocks (converted when the part says so): the first part of a ticket."""
    source = _source(file)
    if part.convert is None:
        return slicing.header_block(source)
    return b"".join(bgzf.encode([converted_header(source, part.convert)]))


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
    """A region's records as BGZF blocks: as stored, or converted to the part's format."""
    assert part.contig is not None and part.start is not None and part.end is not None
    source = _source(file)
    if part.convert is None:
        blocks = slicing.body_blocks(source, part.contig, part.start, part.end)
    else:
        blocks = bgzf.encode(converted_records(source, part.convert, part.contig, part.start, part.end))
    handle = tempfile.SpooledTemporaryFile(max_size=spool_bytes)
    digest, size = hashlib.sha256(), 0
    try:
        for block in blocks:
            handle.write(block)
            digest.update(block)
            size += len(block)
    except BaseException:
        handle.close()
        raise
    return SpooledBlock(handle, size, digest.hexdigest())


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
