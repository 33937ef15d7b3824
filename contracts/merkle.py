"""Merkle rules for receipt batches: the single Python implementation.

Mirrored by `contracts/program/src/merkle.rs` (verification only); tests check the two agree.

    leaf(receipt_id) = sha256(0x00 || receipt_id)
    node(a, b)       = sha256(0x01 || min(a, b) || max(a, b))   # sorted pair, bytewise
    A level with an odd count carries its last hash up unchanged (no duplication).
    A proof is the list of sibling hashes from the leaf upwards, skipping carried levels.
    root(batch of one) = leaf(receipt_id).
"""
from __future__ import annotations

import hashlib
from typing import Sequence

from solders.hash import Hash

LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
MAX_PROOF_LEN = 32
# sha256 as solana's hash::hash (solders, the sha2 crate): the digest of hashlib.sha256, cheaper per call on
# 33-65 bytes (no OpenSSL context per call: ~0.42 against ~0.57 us, docs/bench-auditor.md);
# sha256_digest(data) == hashlib.sha256(data).digest() (tests/contracts/test_merkle.py). The tree below hashes
# with it, inlined; leaf_hash / node_hash keep hashlib.
_solana_hash = Hash.hash


def sha256_digest(data: bytes) -> bytes:
    return _solana_hash(data).__bytes__()


def leaf_hash(receipt_id: bytes) -> bytes:
    return hashlib.sha256(LEAF_PREFIX + receipt_id).digest()


def node_hash(a: bytes, b: bytes) -> bytes:
    lo, hi = (a, b) if a <= b else (b, a)
    return hashlib.sha256(NODE_PREFIX + lo + hi).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a batch needs at least one receipt")
    h = _solana_hash
    cur = list(leaves)
    levels = [cur]
    while len(cur) > 1:
        # node_hash(a, b) for each pair, inlined (no call per node: this is the auditor's bulk path)
        nxt = [h(NODE_PREFIX + a + b if a <= b else NODE_PREFIX + b + a).__bytes__()
               for a, b in zip(cur[0::2], cur[1::2])]
        if len(cur) % 2:
            nxt.append(cur[-1])
        levels.append(nxt)
        cur = nxt
    return levels


class MerkleTree:
    """A tree over receipt ids in the given order (the order the batch lists them)."""

    def __init__(self, receipt_ids: Sequence[bytes]):
        self.receipt_ids = list(receipt_ids)
        h = _solana_hash  # leaf_hash(r) for each receipt, inlined (no call per leaf)
        self._levels = _levels([h(LEAF_PREFIX + r).__bytes__() for r in self.receipt_ids])

    @property
    def root(self) -> bytes:
        return self._levels[-1][0]

    def __len__(self) -> int:
        return len(self.receipt_ids)

    def proof(self, index: int) -> list[bytes]:
        if not 0 <= index < len(self.receipt_ids):
            raise IndexError(f"leaf index {index} outside 0..{len(self.receipt_ids) - 1}")
        out = []
        for level in self._levels[:-1]:
            sib = index ^ 1
            if sib < len(level):
                out.append(level[sib])
            index //= 2
        return out

    def proofs(self) -> list[tuple[bytes, ...]]:
        """Every leaf's proof, in leaf order: the same as `tuple(self.proof(i)) for i in range(len(self))`, built
        in one pass from the top down (two leaves under one node share the tuple of that node's upper path)."""
        upper: list[tuple[bytes, ...]] = [()]
        for level in reversed(self._levels[:-1]):
            n = len(level)
            below: list[tuple[bytes, ...]] = []
            add = below.append
            for k, up in enumerate(upper):  # node k of the level above: its children 2k, 2k + 1 (if any)
                if 2 * k + 1 < n:
                    add((level[2 * k + 1],) + up)
                    add((level[2 * k],) + up)
                else:  # an odd level's last node, carried up unchanged: no sibling
                    add(up)
            upper = below
        return upper


def merkle_root(receipt_ids: Sequence[bytes]) -> bytes:
    return MerkleTree(receipt_ids).root


def verify_proof(receipt_id: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    if len(proof) > MAX_PROOF_LEN:
        return False
    h = leaf_hash(receipt_id)
    for sib in proof:
        if len(sib) != 32:
            return False
        h = node_hash(h, sib)
    return h == root
