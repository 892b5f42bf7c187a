"""RFC 9162 §2.1 Merkle trees: tree hashes, inclusion and consistency proofs, and their verification (pure)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "prefix_roots",
    "root_from_inclusion_proof",
    "tree_hash",
    "verify_consistency",
    "verify_inclusion",
]

# Written from RFC 9162 §2.1 rather than taken from a library: no package on PyPI implements exactly the RFC's
# hashing, proofs and verification algorithms as pure functions and is maintained (pymerkle keeps its own proof
# format and stateful storage); the algorithms are short, and the RFC 6962 test vectors check them.

EMPTY_ROOT = hashlib.sha256(b"").digest()
_HASH_SIZE = 32


def leaf_hash(leaf: bytes) -> bytes:
    """MTH({d}) = SHA-256(0x00 || d)."""
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """An interior node: SHA-256(0x01 || left || right)."""
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """k, the largest power of two smaller than n (n > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    n = hi - lo
    if n == 1:
        return hashes[lo]
    k = _split(n)
    return node_hash(_mth(hashes, lo, lo + k), _mth(hashes, lo + k, hi))


def tree_hash(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of the leaves whose leaf hashes are given (the SHA-256 of nothing for an empty tree)."""
    return _mth(leaf_hashes, 0, len(leaf_hashes)) if leaf_hashes else EMPTY_ROOT


def prefix_roots(leaf_hashes: Sequence[bytes], sizes: Iterable[int]) -> dict[int, bytes]:
    """MTH(D[m]) for each m of `sizes` (1 <= m <= len(leaf_hashes)), in one pass over the leaves.

    The first m leaves split into perfect subtrees of decreasing size, one per bit of m; the stack holds their
    roots as the leaves are read, and the prefix's root folds them from the right.
    """
    wanted = set(sizes)
    if any(not 1 <= m <= len(leaf_hashes) for m in wanted):
        raise ValueError(f"a prefix has 1 to {len(leaf_hashes)} leaves")
    roots: dict[int, bytes] = {}
    stack: list[tuple[int, bytes]] = []  # (leaves under it, root) of each perfect subtree, largest first
    for count, leaf in enumerate(leaf_hashes, start=1):
        node = (1, leaf)
        while stack and stack[-1][0] == node[0]:
            left = stack.pop()
            node = (left[0] * 2, node_hash(left[1], node[1]))
        stack.append(node)
        if count in wanted:
            root = stack[-1][1]
            for _, left_root in reversed(stack[:-1]):
                root = node_hash(left_root, root)
            roots[count] = root
    return roots


def _path(m: int, hashes: Sequence[bytes], lo: int, hi: int) -> list[bytes]:
    if hi - lo == 1:
        return []
    k = _split(hi - lo)
    if m < k:
        return [*_path(m, hashes, lo, lo + k), _mth(hashes, lo + k, hi)]
    return [*_path(m - k, hashes, lo + k, hi), _mth(hashes, lo, lo + k)]


def inclusion_proof(index: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PATH(m, D[n]): the audit path of leaf `index` (0-based) in the tree of `leaf_hashes`."""
    if not 0 <= index < len(leaf_hashes):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaf_hashes)} leaves")
    return _path(index, leaf_hashes, 0, len(leaf_hashes))


def _subproof(m: int, hashes: Sequence[bytes], lo: int, hi: int, complete: bool) -> list[bytes]:
    n = hi - lo
    if m == n:
        return [] if complete else [_mth(hashes, lo, hi)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, hashes, lo, lo + k, complete), _mth(hashes, lo + k, hi)]
    return [*_subproof(m - k, hashes, lo + k, hi, False), _mth(hashes, lo, lo + k)]


def consistency_proof(first: int, leaf_hashes: Sequence[bytes]) -> list[bytes]:
    """PROOF(m, D[n]): shows the tree of the first `first` leaves is a prefix of the tree of all of them."""
    if not 0 < first <= len(leaf_hashes):
        raise ValueError(f"a consistency proof needs 0 < first <= {len(leaf_hashes)}, not {first}")
    return _subproof(first, leaf_hashes, 0, len(leaf_hashes), True)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root that the proof leads to from the leaf hash (RFC 9162 §2.1.3.2), or None if it is malformed."""
    if not 0 <= index < size or len(leaf) != _HASH_SIZE or any(len(p) != _HASH_SIZE for p in proof):
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    """Whether `proof` shows the leaf hash `leaf` at `index` in the tree of `size` leaves with this root."""
    return root_from_inclusion_proof(index, size, leaf, proof) == root


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> bool:
    """Whether `proof` shows the tree of `second` leaves extends the one of `first` (RFC 9162 §2.1.4.2)."""
    if first < 0 or second < first or any(len(p) != _HASH_SIZE for p in proof):
        return False
    if first == second:
        return not proof and first_root == second_root
    if first == 0:  # the empty tree is a prefix of every tree
        return not proof
    if not proof:
        return False
    path = list(proof)
    if first & (first - 1) == 0:  # an exact power of two: the first tree is a node of the second
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == first_root and sr == second_root
