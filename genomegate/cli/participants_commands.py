"""CLI commands of the participant side: link sheets (operators), and proofs of audit lines anyone can check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from pydantic import ValidationError

from access.checkpoints import AuditKey
from access.models import AuditEvent
from genomegate.cli.access_commands import audit_app
from genomegate.cli.common import OPERATOR, Exit, JsonOpt, app, emit, friendly, operator_session, out
from participants import links
from participants.proofs import LineProof, Prover, check_proof

__all__ = ["participants_app"]

participants_app = typer.Typer(help="Participants: link sheets.", no_args_is_help=True)
app.add_typer(participants_app, name="participants")
_KEY_PATH = "/.well-known/genomegate/audit-key"


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise Exit(f"cannot read {path}: {exc.strerror}") from None


@participants_app.command("link")
@friendly
def link(dataset: Annotated[str, typer.Argument(help="the dataset's id")],
         sheet: Annotated[Path, typer.Argument(help="CSV or TSV: sample_id, participant_id")]) -> None:
    """Store a dataset's link sheet (identifiers kept only as keyed hashes); it supersedes the one before."""
    with operator_session() as (session, rt):
        stored = links.upload_sheet(session, OPERATOR, dataset_id=dataset, content=_read(sheet),
                                    key=rt.settings.participant_key)
    out.print(f"link sheet version {stored.version} of {dataset}: {stored.links} samples linked", highlight=False)


@participants_app.command("sheets")
@friendly
def sheets(dataset: Annotated[str, typer.Argument(help="the dataset's id")], as_json: JsonOpt = False) -> None:
    """A dataset's link sheets: the one in force and the history."""
    with operator_session() as (session, _):
        rows = links.list_sheets(session, OPERATOR, dataset)
    emit(rows, ["version", "links", "uploaded_at", "uploaded_by", "in_force", "sha256"], as_json,
         title=f"link sheets of {dataset}")


@audit_app.command("prove")
@friendly
def prove(line: Annotated[int, typer.Argument(help="the audit line's id", min=1)],
          out_file: Annotated[Path | None, typer.Option("--out", help="write the proof here")] = None) -> None:
    """The inclusion proof of one audit line against the latest signed checkpoint, as JSON."""
    with operator_session() as (session, _):
        event = session.get(AuditEvent, line)
        if event is None:
            raise Exit(f"no audit line {line}")
        proof = Prover(session).prove(event)
    if proof is None:
        raise Exit(f"no signed checkpoint covers line {line} yet: run `genomegate audit checkpoint`")
    text = proof.model_dump_json(indent=2) + "\n"
    if out_file is None:
        print(text, end="")
    else:
        out_file.write_text(text)
        out.print(f"proof of line {line} written to {out_file}", highlight=False)


def _key(key_file: Path | None, key_url: str | None) -> AuditKey:
    if (key_file is None) == (key_url is None):
        raise Exit("give the node's public key: --key FILE (its JWK) or --key-url URL")
    jwk: Any
    if key_file is not None:
        try:
            jwk = json.loads(_read(key_file))
        except ValueError:
            raise Exit(f"{key_file} is not JSON (the JWK served at {_KEY_PATH})") from None
    else:
        url = str(key_url)
        if not url.endswith(_KEY_PATH):
            url = url.rstrip("/") + _KEY_PATH
        try:
            response = httpx.get(url, timeout=10, follow_redirects=False)
            response.raise_for_status()
            jwk = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise Exit(f"cannot read the audit key at {url}: {exc}") from None
    if not isinstance(jwk, dict):
        raise Exit("the audit key is not a JWK object")
    return AuditKey.from_jwk(jwk)


@audit_app.command("verify-proof")
@friendly
def verify_proof(
    proof_file: Annotated[Path, typer.Argument(help="a proof from a participant's page or `audit prove`")],
    key_file: Annotated[Path | None, typer.Option("--key", help="the node's audit key, a JWK file")] = None,
    key_url: Annotated[str | None, typer.Option("--key-url", help=f"the node's URL, or its {_KEY_PATH}")] = None,
) -> None:
    """Check a proof with the node's public key only (no database): exit 0 if the line is in the signed log."""
    try:
        proof = LineProof.model_validate_json(_read(proof_file))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise Exit(f"{proof_file} is not a proof ({'.'.join(str(p) for p in first['loc'])}: {first['msg']})") from None
    result = check_proof(proof, _key(key_file, key_url))
    if not result.ok:
        raise Exit(f"the proof does not verify: {result.reason}")
    out.print(f"verified: line {proof.line.id} ({proof.line.action}, {proof.line.at} UTC) is line "
              f"{proof.leaf_index + 1} of the {proof.checkpoint.size} the node signed at {proof.checkpoint.time}",
              highlight=False)
