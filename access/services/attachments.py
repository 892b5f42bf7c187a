"""Attachments of a request (ethics approval and the like): limited in size and type, kept by checksum."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from sqlmodel import Session, col, select

from access import audit
from access.errors import NotYourRequest
from access.models import Attachment
from access.services.requests import EDITABLE, get_request
from catalogue.accessions import next_accession
from catalogue.errors import InvalidInput, NotFound
from catalogue.identity import Caller

__all__ = ["ALLOWED_TYPES", "ATTACHMENT", "add_attachment", "get_attachment", "list_attachments"]

ATTACHMENT = "GGA"
ALLOWED_TYPES = {"application/pdf", "image/png", "image/jpeg", "text/plain"}
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._ -]+")


def add_attachment(session: Session, caller: Caller, request_id: str, *, filename: str, content_type: str,
                   data: bytes, root: Path, max_bytes: int) -> Attachment:
    """Attach a document to a draft or returned request (the applicant only)."""
    request = get_request(session, caller, request_id)
    if caller.subject != request.applicant:
        raise NotYourRequest("only the applicant may attach documents")
    if request.state not in EDITABLE:
        raise InvalidInput(f"a {request.state} request takes no attachments", field="state")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ALLOWED_TYPES:
        raise InvalidInput(f"attachments must be one of {', '.join(sorted(ALLOWED_TYPES))}, not {kind or 'unknown'}",
                           field="content_type")
    if not data:
        raise InvalidInput("the attachment is empty", field="file")
    if len(data) > max_bytes:
        raise InvalidInput(f"the attachment has {len(data):,} bytes; at most {max_bytes:,} are accepted",
                           field="file")
    name = _SAFE_NAME.sub("_", os.path.basename(filename)).strip() or "attachment"
    sha256 = hashlib.sha256(data).hexdigest()
    path = root / sha256[:2] / sha256
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    row = Attachment(id=next_accession(session, ATTACHMENT), request_id=request.id, filename=name[:255],
                     content_type=kind, size=len(data), sha256=sha256, path=str(path), uploaded_by=request.applicant)
    session.add(row)
    audit.append(session, actor=request.applicant, action="request.attach", request_id=request.id,
                 details={"attachment": row.id, "sha256": sha256, "size": len(data)})
    session.commit()
    return row


def list_attachments(session: Session, caller: Caller, request_id: str) -> list[Attachment]:
    request = get_request(session, caller, request_id)
    return list(session.exec(select(Attachment).where(Attachment.request_id == request.id)
                             .order_by(col(Attachment.id))).all())


def get_attachment(session: Session, caller: Caller, request_id: str, attachment_id: str) -> tuple[Attachment, Path]:
    """An attachment and where its bytes are, for anyone who may read the request."""
    request = get_request(session, caller, request_id)
    row = session.get(Attachment, attachment_id)
    if row is None or row.request_id != request.id:
        raise NotFound(f"attachment {attachment_id} does not exist")
    return row, Path(row.path)
