"""Files kept encrypted at rest: downloads re-encrypt only the header, and decrypt to the stored bytes."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from crypt4gh import header as c4gh_header
from crypt4gh import lib as c4gh_lib
from crypt4gh import sodium
from crypt4gh.keys import get_private_key
from sqlmodel import Session, col, select
from typer.testing import CliRunner

from access.models import AuditEvent
from access.release.at_rest import (
    AtRestUnusable,
    at_rest_path,
    default_node_key_path,
    encrypt_file,
    load_node_key,
    reencrypt_header,
)
from access.release.crypt4gh import SEGMENT_SIZE, parse_public_key
from access.release.downloads import encrypt_dataset_at_rest
from access.release.errors import StoredFileChanged
from catalogue.errors import Forbidden
from catalogue.identity import Caller, Principal
from genomegate.cli import app
from tests.release.conftest import ALICE, BOB, Released
from tests.release.test_downloads import _keypair, _register

OPERATOR = Caller.cli_operator()


def _split(blob: bytes) -> tuple[bytes, bytes]:
    """(header, data segments) of a Crypt4GH stream."""
    stream = io.BytesIO(blob)
    list(c4gh_header.parse(stream))
    return blob[:stream.tell()], blob[stream.tell():]


def _decrypt(secret: bytes, blob: bytes) -> bytes:
    plain = io.BytesIO()
    c4gh_lib.decrypt([(0, secret, None)], io.BytesIO(blob), plain)
    return plain.getvalue()


# --- without a database -------------------------------------------------------------------------------

def test_the_node_key_is_made_once_for_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "node.c4gh.sec"
    assert load_node_key(path) is None and not path.exists()
    made = load_node_key(path, create=True)
    assert made is not None
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) & 0o077 == 0
    assert parse_public_key((tmp_path / "keys" / "node.c4gh.pub").read_text()) == made.public
    assert get_private_key(path, lambda: "") == made.secret  # the crypt4gh tools read it as well
    assert load_node_key(path, create=True) == made


@pytest.mark.parametrize("size", [0, 1, SEGMENT_SIZE, 3 * SEGMENT_SIZE + 5])
def test_a_reheaded_copy_opens_for_the_recipient_and_keeps_its_segments(tmp_path: Path, size: int) -> None:
    node = load_node_key(tmp_path / "node.c4gh.sec", create=True)
    assert node is not None
    plain = tmp_path / "cohort.vcf.gz"
    data = os.urandom(size)
    plain.write_bytes(data)
    copy = encrypt_file(plain, node.public, sha256=hashlib.sha256(data).hexdigest())
    assert copy == at_rest_path(plain) == tmp_path / "cohort.vcf.gz.c4gh"
    assert _decrypt(node.secret, copy.read_bytes()) == data
    secret = os.urandom(32)
    served = reencrypt_header(copy, node.secret, bytes(sodium.derive_pk(secret)), plain_size=size)
    blob = b"".join(served.chunks(read=10_007))
    assert len(blob) == served.size
    assert _decrypt(secret, blob) == data
    header, body = _split(blob)
    assert header == served.header and body == _split(copy.read_bytes())[1]
    with pytest.raises(ValueError, match="No supported encryption method"):
        _decrypt(node.secret, blob)  # the node's own packet is not passed on


def test_unusable_copies_are_told_apart(tmp_path: Path) -> None:
    node = load_node_key(tmp_path / "node.c4gh.sec", create=True)
    other = load_node_key(tmp_path / "other.c4gh.sec", create=True)
    assert node is not None and other is not None
    plain = tmp_path / "f.bcf"
    plain.write_bytes(os.urandom(2 * SEGMENT_SIZE))
    copy = encrypt_file(plain, other.public, sha256=hashlib.sha256(plain.read_bytes()).hexdigest())
    with pytest.raises(AtRestUnusable, match="No header packet could be decrypted"):
        reencrypt_header(copy, node.secret, node.public, plain_size=2 * SEGMENT_SIZE)
    with pytest.raises(AtRestUnusable, match=r"f.bcf.c4gh: .* bytes of segments where .* were expected"):
        reencrypt_header(copy, other.secret, node.public, plain_size=2 * SEGMENT_SIZE + 1)
    with pytest.raises(AtRestUnusable, match="Not a CRYPT4GH formatted file"):
        reencrypt_header(plain, other.secret, node.public, plain_size=0)


def test_a_stored_file_that_changed_is_not_encrypted(tmp_path: Path) -> None:
    node = load_node_key(tmp_path / "node.c4gh.sec", create=True)
    assert node is not None
    plain = tmp_path / "f.vcf.gz"
    plain.write_bytes(b"tampered")
    with pytest.raises(StoredFileChanged, match="no longer has its catalogued sha256"):
        encrypt_file(plain, node.public, sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.vcf.gz", "node.c4gh.pub", "node.c4gh.sec"]


# --- through the API -----------------------------------------------------------------------------------

@pytest.fixture
def node_key_path(released: Released) -> Iterator[Path]:
    """The node key the app uses; the at-rest copies made in the (session-wide) store are removed afterwards."""
    yield default_node_key_path(released.runtime.settings.data_dir)
    for file in released.files.values():
        at_rest_path(Path(file.uri)).unlink(missing_ok=True)


def _download(released: Released, fmt: str, who: str | None = ALICE) -> httpx.Response:
    file = released.files[fmt]
    return released.client.get(f"/api/release/{released.datasets[fmt]}/files/{file.id}",
                               params={"encryption": "crypt4gh"}, headers=released.auth(who) if who else {})


def _download_events(released: Released) -> list[AuditEvent]:
    with Session(released.runtime.engine) as session:
        return list(session.exec(select(AuditEvent).where(col(AuditEvent.action) == "release.download")).all())


@pytest.mark.parametrize("fmt", ["VCF", "BCF"])
def test_a_file_kept_encrypted_at_rest_is_served_with_only_its_header_reencrypted(
        released: Released, session: Session, node_key_path: Path, fmt: str) -> None:
    secret, pem = _keypair()
    key = _register(released, ALICE, pem)
    file = released.files[fmt]
    (copy,) = encrypt_dataset_at_rest(session, OPERATOR, dataset_id=released.datasets[fmt],
                                      node_key_path=node_key_path)
    assert (copy.file_id, copy.path, copy.written) == (file.id, at_rest_path(Path(file.uri)), True)
    response = _download(released, fmt)
    assert response.status_code == 200, response.text
    assert int(response.headers["content-length"]) == len(response.content)
    assert response.headers["x-crypt4gh-key"] == key["id"]
    plain = _decrypt(secret, response.content)
    assert hashlib.sha256(plain).hexdigest() == file.sha256 == hashlib.sha256(Path(file.uri).read_bytes()).hexdigest()
    header, body = _split(response.content)
    stored_header, stored_body = _split(copy.path.read_bytes())
    assert body == stored_body and header != stored_header  # the segments went out as stored
    (event,) = _download_events(released)
    assert (event.actor, event.details["file"], event.details["reencrypted"]) == (ALICE, file.id, True)
    assert event.details["sha256"] == file.sha256 and event.details["bytes"] == file.size


def test_without_a_usable_copy_the_file_is_encrypted_anew(released: Released, node_key_path: Path,
                                                          tmp_path: Path) -> None:
    secret, pem = _keypair()
    _register(released, ALICE, pem)
    file = released.files["VCF"]
    stranger = load_node_key(tmp_path / "stranger.c4gh.sec", create=True)
    assert stranger is not None
    encrypt_file(Path(file.uri), stranger.public, sha256=file.sha256)  # as if the node key had been replaced
    response = _download(released, "VCF")
    assert response.status_code == 200, response.text
    assert hashlib.sha256(_decrypt(secret, response.content)).hexdigest() == file.sha256
    assert _split(response.content)[1] != _split(at_rest_path(Path(file.uri)).read_bytes())[1]
    assert [e.details["reencrypted"] for e in _download_events(released)] == [False]


@pytest.mark.parametrize(("who", "status", "match"), [
    (None, 401, "signed-in"),
    (BOB, 403, "no active entitlement"),
])
def test_refusals_are_unchanged_for_files_kept_encrypted_at_rest(
        released: Released, session: Session, node_key_path: Path, who: str | None, status: int, match: str) -> None:
    encrypt_dataset_at_rest(session, OPERATOR, dataset_id=released.datasets["VCF"], node_key_path=node_key_path)
    if who:
        _register(released, who, _keypair()[1])
    response = _download(released, "VCF", who)
    assert response.status_code == status, response.text
    assert match in response.json()["detail"]
    assert _download_events(released) == []


def test_encrypting_at_rest_again_keeps_usable_copies_and_is_for_stewards(
        released: Released, session: Session, node_key_path: Path) -> None:
    dataset = released.datasets["BCF"]
    first = encrypt_dataset_at_rest(session, OPERATOR, dataset_id=dataset, node_key_path=node_key_path)
    written = first[0].path.read_bytes()
    again = encrypt_dataset_at_rest(session, OPERATOR, dataset_id=dataset, node_key_path=node_key_path)
    assert [c.written for c in again] == [False] and again[0].path.read_bytes() == written
    bob = Caller(principal=Principal(subject=BOB, issuer="test"))
    with pytest.raises(Forbidden, match="only stewards"):
        encrypt_dataset_at_rest(session, bob, dataset_id=dataset, node_key_path=node_key_path)
    events = session.exec(select(AuditEvent).where(col(AuditEvent.action) == "release.encrypt_at_rest")).all()
    assert [e.details["written"] for e in events] == [[first[0].file_id], []]


def test_the_operator_command_encrypts_a_dataset_at_rest(released: Released, node_key_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    settings = released.runtime.settings
    monkeypatch.setenv("GENOMEGATE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GENOMEGATE_DATABASE_URL", settings.database_url)
    runner = CliRunner()
    result = runner.invoke(app, ["release", "encrypt-at-rest", released.datasets["VCF"]])
    assert result.exit_code == 0, result.output
    file = released.files["VCF"]
    assert f"{file.id}: {at_rest_path(Path(file.uri))}" in result.stdout and "written" in result.stdout
    assert at_rest_path(Path(file.uri)).exists()
    missing = runner.invoke(app, ["release", "encrypt-at-rest", "GGD999999"])
    assert missing.exit_code == 1 and "dataset GGD999999 does not exist" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
