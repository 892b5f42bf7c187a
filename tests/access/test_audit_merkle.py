"""RFC 9162 Merkle trees: the RFC 6962 test vectors, then every proof of every small tree, intact and tampered."""

from __future__ import annotations

import hashlib

import pytest

from access.merkle import (
    EMPTY_ROOT,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    prefix_roots,
    root_from_inclusion_proof,
    tree_hash,
    verify_consistency,
    verify_inclusion,
)

# The leaves and roots of RFC 6962's reference tests (as published with transparency-dev/merkle's test data).
LEAVES = [bytes.fromhex(h) for h in ("", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                     "606162636465666768696a6b6c6d6e6f")]
ROOTS = [bytes.fromhex(h) for h in (
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
)]
HASHES = [leaf_hash(d) for d in LEAVES]
N = 33  # trees of 1..N leaves: past two powers of two, so every shape of the recursion occurs


def h(text: str) -> bytes:
    return bytes.fromhex(text)


def test_hashes_by_hand() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert node_hash(b"L", b"R") == hashlib.sha256(b"\x01LR").digest()
    assert tree_hash([]) == EMPTY_ROOT == hashlib.sha256(b"").digest()
    a, b, c = (leaf_hash(x) for x in (b"a", b"b", b"c"))
    assert tree_hash([a]) == a
    assert tree_hash([a, b, c]) == node_hash(node_hash(a, b), c)  # the left subtree takes the largest power of 2


@pytest.mark.parametrize("size", range(1, 9))
def test_the_roots_of_the_reference_vectors(size: int) -> None:
    assert tree_hash(HASHES[:size]) == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "proof"), [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
])
def test_the_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    assert inclusion_proof(index, HASHES[:size]) == [h(p) for p in proof]
    assert verify_inclusion(index, size, HASHES[index], [h(p) for p in proof], ROOTS[size - 1])


@pytest.mark.parametrize(("first", "second", "proof"), [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
    (6, 7, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
])
def test_the_reference_consistency_proofs(first: int, second: int, proof: list[str]) -> None:
    assert consistency_proof(first, HASHES[:second]) == [h(p) for p in proof]
    assert verify_consistency(first, second, ROOTS[first - 1], ROOTS[second - 1], [h(p) for p in proof])


def _leaves(n: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def _flipped(proof: list[bytes], element: int, byte: int) -> list[bytes]:
    changed = bytearray(proof[element])
    changed[byte] ^= 0x01
    return [*proof[:element], bytes(changed), *proof[element + 1:]]


def test_every_inclusion_proof_of_every_small_tree_verifies_and_no_tampered_one_does() -> None:
    leaves = _leaves(N)
    for size in range(1, N + 1):
        root = tree_hash(leaves[:size])
        for index in range(size):
            proof = inclusion_proof(index, leaves[:size])
            assert verify_inclusion(index, size, leaves[index], proof, root), (index, size)
            assert root_from_inclusion_proof(index, size, leaves[index], proof) == root
            assert not verify_inclusion(index, size, leaf_hash(b"other"), proof, root)
            for wrong in {index - 1, index + 1, index ^ 2} - {index}:
                assert not verify_inclusion(wrong, size, leaves[index], proof, root), (wrong, size)
            for wrong_size in {size * 2, size // 2} - {size}:  # sizes whose paths share a shape may agree
                assert not verify_inclusion(index, wrong_size, leaves[index], proof, root), (index, wrong_size)
            for element in range(len(proof)):
                assert not verify_inclusion(index, size, leaves[index], _flipped(proof, element, (element * 7) % 32),
                                            root)
            assert not verify_inclusion(index, size, leaves[index], [*proof, root], root)
            assert not verify_inclusion(index, size, leaves[index], [root, *proof], root)
            if proof:
                assert not verify_inclusion(index, size, leaves[index], proof[:-1], root)


def test_every_consistency_proof_of_every_small_tree_verifies_and_no_tampered_one_does() -> None:
    leaves = _leaves(N)
    roots = [tree_hash(leaves[:n]) for n in range(N + 1)]
    for second in range(1, N + 1):
        for first in range(1, second + 1):
            proof = consistency_proof(first, leaves[:second])
            assert verify_consistency(first, second, roots[first], roots[second], proof), (first, second)
            if first == second:
                assert proof == []
                continue
            assert not verify_consistency(first, second, roots[second], roots[first], proof)
            assert not verify_consistency(first, second, roots[first], roots[second], [])
            assert not verify_consistency(second, first, roots[first], roots[second], proof)
            for wrong in {first - 1, first + 1, first ^ 2} - {first, 0}:
                if wrong <= second:
                    assert not verify_consistency(wrong, second, roots[first], roots[second], proof), (wrong, second)
            for wrong_size in {second * 2, second // 2} - {second, first}:
                assert not verify_consistency(first, wrong_size, roots[first], roots[second], proof)
            for element in range(len(proof)):
                tampered = _flipped(proof, element, (element * 11) % 32)
                assert not verify_consistency(first, second, roots[first], roots[second], tampered)
            assert not verify_consistency(first, second, roots[first], roots[second], [*proof, roots[second]])
            assert not verify_consistency(first, second, roots[first], roots[second], [roots[first], *proof])
            assert not verify_consistency(first, second, roots[first], roots[second], proof[:-1])


def test_a_rewritten_leaf_changes_every_root_that_covers_it() -> None:
    leaves = _leaves(12)
    rewritten = [*leaves[:5], leaf_hash(b"rewritten"), *leaves[6:]]
    assert [tree_hash(leaves[:n]) == tree_hash(rewritten[:n]) for n in range(1, 13)] == [True] * 5 + [False] * 7
    proof = consistency_proof(8, rewritten)
    assert not verify_consistency(8, 12, tree_hash(leaves[:8]), tree_hash(rewritten), proof)


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_an_inclusion_proof_of_a_leaf_outside_the_tree_is_refused(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="is not in a tree of"):
        inclusion_proof(index, _leaves(size))
    assert root_from_inclusion_proof(index, size, leaf_hash(b""), []) is None


@pytest.mark.parametrize("first", [0, 4])
def test_a_consistency_proof_needs_a_first_size_within_the_tree(first: int) -> None:
    with pytest.raises(ValueError, match="needs 0 < first <= 3"):
        consistency_proof(first, _leaves(3))


def test_the_roots_of_every_prefix_in_one_pass_are_the_reference_roots_and_the_recursive_ones() -> None:
    assert prefix_roots(HASHES, range(1, 9)) == {n: ROOTS[n - 1] for n in range(1, 9)}
    leaves = [leaf_hash(n.to_bytes(2, "big")) for n in range(N)]
    assert prefix_roots(leaves, range(1, N + 1)) == {n: tree_hash(leaves[:n]) for n in range(1, N + 1)}
    assert prefix_roots(leaves, [5, 32]) == {5: tree_hash(leaves[:5]), 32: tree_hash(leaves[:32])}
    with pytest.raises(ValueError, match="a prefix has 1 to 33 leaves"):
        prefix_roots(leaves, [0])
    with pytest.raises(ValueError, match="a prefix has 1 to 33 leaves"):
        prefix_roots(leaves, [N + 1])
