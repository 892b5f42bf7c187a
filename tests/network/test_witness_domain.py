"""The witness's rules without a network: countersignatures verify only as signed, a checkpoint must extend the
last one witnessed (real RFC 9162 proofs), and countersignatures are judged against a log's leaves."""

from __future__ import annotations

from pathlib import Path

import pytest

from access.checkpoints import AuditSigner
from access.merkle import consistency_proof, leaf_hash, tree_hash
from network.witness.domain import Witnessed, countersign, countersignature_verifies, extends
from network.witness.models import CountersignaturePublic
from network.witness.verify import judge_countersignatures

WITNESS, ORIGIN = "http://b.example", "http://a.example"
LEAVES = [leaf_hash(f"line {n}".encode()) for n in range(12)]


@pytest.fixture(scope="module")
def signer(tmp_path_factory: pytest.TempPathFactory) -> AuditSigner:
    return AuditSigner.load_or_create(Path(tmp_path_factory.mktemp("keys")) / "audit-key.pem")


def _cs(signer: AuditSigner, size: int, root: bytes, *, witness: str = WITNESS, origin: str = ORIGIN,
        time: str = "2026-01-01T00:00:00Z") -> CountersignaturePublic:
    signed = countersign(signer, witness=witness, origin=origin, size=size, root=root, time=time)
    return CountersignaturePublic(witness=witness, origin=origin, size=size, root=root.hex(), time=time,
                                  key_id=signer.public.key_id, note=signed.note, signature=signed.signature,
                                  checkpoint_note="", checkpoint_signature="", checkpoint_key_id="")


def test_a_countersignature_verifies_only_for_the_fields_and_key_it_was_made_with(
        signer: AuditSigner, tmp_path: Path) -> None:
    cs = _cs(signer, 7, tree_hash(LEAVES[:7]))
    fields = {"witness": cs.witness, "origin": cs.origin, "size": cs.size, "root_hex": cs.root, "time": cs.time,
              "note": cs.note, "signature": cs.signature}
    assert countersignature_verifies(signer.public, **fields)  # type: ignore[arg-type]
    assert cs.note.splitlines()[:4] == ["genomegate countersignature v1", f"witness {WITNESS}", f"origin {ORIGIN}",
                                        "size 7"]
    other = AuditSigner.load_or_create(tmp_path / "other.pem")
    assert not countersignature_verifies(other.public, **fields)  # type: ignore[arg-type]
    for field, value in (("size", 8), ("origin", "http://c.example"), ("witness", "http://c.example"),
                         ("root_hex", tree_hash(LEAVES[:8]).hex()), ("time", "2026-01-02T00:00:00Z"),
                         ("signature", "not base64!"), ("root_hex", "zz")):
        assert not countersignature_verifies(signer.public, **{**fields, field: value})  # type: ignore[arg-type]


@pytest.mark.parametrize(("first", "second"), [(1, 2), (3, 7), (4, 8), (5, 12), (8, 12), (11, 12)])
def test_a_checkpoint_extends_the_last_witnessed_only_with_a_proof_against_both_signed_roots(
        first: int, second: int) -> None:
    previous = Witnessed(first, tree_hash(LEAVES[:first]))
    root = tree_hash(LEAVES[:second])
    proof = consistency_proof(first, LEAVES[:second])
    assert extends(previous, second, root, proof) is None
    assert extends(None, second, root, None) is None  # the first one seen: nothing to extend
    rewritten = [*LEAVES[:first - 1], leaf_hash(b"forged"), *LEAVES[first:second]]
    forged_root = tree_hash(rewritten)
    # the rewritten log's own proof, as its node would serve it, does not lead to the witnessed root
    why = extends(previous, second, forged_root, consistency_proof(first, rewritten))
    assert why is not None and "consistency proof fails" in why
    assert extends(previous, second, root, None) is not None
    assert extends(previous, second, root, [*proof, proof[-1]] if proof else [root]) is not None


def test_a_smaller_or_same_sized_checkpoint_must_be_the_one_witnessed() -> None:
    previous = Witnessed(6, tree_hash(LEAVES[:6]))
    assert extends(previous, 6, tree_hash(LEAVES[:6]), None) is None
    assert "another root" in (extends(previous, 6, tree_hash(LEAVES[1:7]), None) or "")
    assert "2 lines were removed" in (extends(previous, 4, tree_hash(LEAVES[:4]), None) or "")


def test_countersignatures_are_judged_against_the_log_as_it_is(signer: AuditSigner, tmp_path: Path) -> None:
    honest = [_cs(signer, n, tree_hash(LEAVES[:n])) for n in (3, 6, 9)]
    problems, matching = judge_countersignatures(honest, key=signer.public, witness=WITNESS, origin=ORIGIN,
                                                 leaves=LEAVES)
    assert problems == [] and matching == 9
    rewritten = [*LEAVES[:4], leaf_hash(b"forged"), *LEAVES[5:]]  # line 5 rewritten: sizes 6 and 9 cover it
    problems, matching = judge_countersignatures(honest, key=signer.public, witness=WITNESS, origin=ORIGIN,
                                                 leaves=rewritten)
    assert matching == 3 and len(problems) == 2
    assert all("a line among them was rewritten or removed" in p for p in problems)
    assert problems[0].startswith("it countersigned 9 lines") and problems[1].startswith("it countersigned 6 lines")
    problems, matching = judge_countersignatures(honest, key=signer.public, witness=WITNESS, origin=ORIGIN,
                                                 leaves=LEAVES[:7])
    assert matching == 6 and problems == ["it countersigned 9 lines (2026-01-01T00:00:00Z); the log has 7: "
                                          "2 were removed"]
    stranger = AuditSigner.load_or_create(tmp_path / "stranger.pem")
    others = [_cs(stranger, 3, tree_hash(LEAVES[:3])), _cs(signer, 6, tree_hash(LEAVES[:6]), origin="http://x.org")]
    problems, matching = judge_countersignatures(others, key=signer.public, witness=WITNESS, origin=ORIGIN,
                                                 leaves=LEAVES)
    assert matching is None
    assert problems == ["the countersignature of size 3 does not verify with the witness's key",
                        "a countersignature of size 6 names witness 'http://b.example' and log 'http://x.org', not "
                        f"{WITNESS} and {ORIGIN}"]
    many = [_cs(signer, n, tree_hash(LEAVES[:n])) for n in range(5, 13)] + \
        [_cs(signer, n, tree_hash(LEAVES[:n])) for n in range(13, 17)]
    problems, _ = judge_countersignatures(many, key=signer.public, witness=WITNESS, origin=ORIGIN,
                                          leaves=rewritten)
    assert len(problems) == 11 and problems[-1] == "and 2 more countersigned sizes that the log no longer matches"
