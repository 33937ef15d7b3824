"""Merkle rules: prefixes, sorted pairs, odd carry, and proofs for every leaf of every size."""
import hashlib

import pytest
from hypothesis import given, strategies as st

from contracts.merkle import MerkleTree, leaf_hash, merkle_root, node_hash, sha256_digest, verify_proof

IDS = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=70)


def test_rules_by_hand():
    a, b, c = (bytes([i] * 32) for i in (1, 2, 3))
    la, lb, lc = (hashlib.sha256(b"\x00" + x).digest() for x in (a, b, c))
    ab = hashlib.sha256(b"\x01" + min(la, lb) + max(la, lb)).digest()
    assert merkle_root([a]) == la
    assert merkle_root([a, b]) == ab == merkle_root([b, a])
    assert merkle_root([a, b, c]) == node_hash(ab, lc)  # c carried up unchanged


def test_the_trees_sha256_is_hashlibs():
    for n in (0, 1, 31, 32, 33, 55, 56, 63, 64, 65, 1000, 1085, 4096):
        data = bytes((i * 7 + n) % 256 for i in range(n))
        assert sha256_digest(data) == hashlib.sha256(data).digest(), n


@given(IDS)
def test_the_tree_is_built_by_leaf_hash_and_node_hash(ids):
    # the tree hashes inline (solders' sha256, no call per node): the same levels as the rules' two functions
    level = [leaf_hash(r) for r in ids]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)] + level[len(level) - 1:][
            : len(level) % 2]
    tree = MerkleTree(ids)
    assert tree.root == level[0]
    assert tree.proofs() == [tuple(tree.proof(i)) for i in range(len(ids))]


@given(IDS)
def test_every_proof_verifies_and_only_for_its_root(ids):
    tree = MerkleTree(ids)
    for i, rid in enumerate(ids):
        proof = tree.proof(i)
        assert verify_proof(rid, proof, tree.root)
        assert not verify_proof(rid, proof, hashlib.sha256(tree.root).digest())
        if proof:
            bad = list(proof)
            bad[0] = bytes(a ^ 1 for a in bad[0][:1]) + bad[0][1:]
            assert not verify_proof(rid, bad, tree.root)


@given(IDS)
def test_a_leaf_is_not_a_node(ids):
    # Domain separation: an inner node presented as a receipt id does not verify.
    tree = MerkleTree(ids)
    if len(ids) >= 2:
        inner = node_hash(leaf_hash(ids[0]), leaf_hash(ids[1]))
        assert not verify_proof(inner, [], tree.root)


def test_empty_batch_and_bad_index():
    with pytest.raises(ValueError):
        MerkleTree([])
    with pytest.raises(IndexError):
        MerkleTree([bytes(32)]).proof(1)
