"""Verifying many receipts at once (signature + inclusion proof, and with `books` the detail and its pricing),
across processes.

Same rules as checks.check_signature / checks.check_inclusion / pricing.verify_detail (pricing.quick_details),
arranged for throughput:
- the work crosses process boundaries as plain bytes (receipt id, signature, meter key, proof, root), so
  pickling stays cheap and each worker rebuilds solders objects once per distinct meter key;
- inclusion, batch by batch: when a chunk holds receipts of one on-chain root, their tree is rebuilt once
  (contracts.merkle.MerkleTree, in leaf order) and, when it reaches that root, every one of them is a leaf of
  the committed tree; each served proof must still be exactly that tree's proof of it (every sibling is
  compared). Whatever does not fit (a partial batch, a root that is not reached, a proof that differs) is
  folded receipt by receipt, so the verdicts are those of check_inclusion;
- folding remembers, per chunk, each node of a proven path with the siblings that lead from it to the root: a
  later proof stops where it meets a proven node with the very same remaining siblings.
- chunks are cut at batch boundaries (a batch is not split across two chunks unless it alone exceeds 2x the
  chunk size).
"""
from __future__ import annotations

import os
from operator import itemgetter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence

from solders.pubkey import Pubkey
from solders.signature import Signature

from contracts.merkle import MAX_PROOF_LEN, MerkleTree, leaf_hash, node_hash

from .pricing import PriceTable, QuickDetail, detail_text, quick_details
from .receipt_file import SignedReceipt

# (receipt_id, signature bytes, meter key bytes, proof nodes, expected root, detail or None, leaf index or -1),
# the detail as (served JSON text, signed detail_hash, the fields it must name, the signed cumulatives); the
# leaf index as served (a hint for the order of the tree rebuilt, never trusted)
Detail = QuickDetail
Item = tuple[bytes, bytes, bytes, tuple[bytes, ...], bytes, "Detail | None", int]

_RID, _PROOF, _DETAIL, _LEAF = itemgetter(0), itemgetter(3), itemgetter(5), itemgetter(6)
INCLUSION = "receipt.inclusion"
SIGNATURE = "receipt.signature"


@dataclass(frozen=True)
class BulkFailure:
    position: int
    check: str  # "receipt.signature", "receipt.inclusion", or (with books) the first failing detail check
    receipt_id: bytes


def _included(rid: bytes, proof: tuple[bytes, ...], root: bytes,
              verified: dict[tuple[bytes, bytes], tuple[bytes, ...]]) -> bool:
    """contracts.merkle's fold of `proof` from the leaf of `rid` reaches `root`. `verified` remembers, for every
    node of a path already proven, the exact siblings that lead from it to that root: a later proof that reaches
    the same node and goes on with the very same siblings is proven there (every sibling is still compared)."""
    if len(proof) > MAX_PROOF_LEN:
        return False
    h = leaf_hash(rid)
    path = []
    for j, sib in enumerate(proof):
        rest = verified.get((h, root))
        if rest is not None and rest == proof[j:]:
            break
        if len(sib) != 32:
            return False
        path.append((h, j))
        h = node_hash(h, sib)
    else:
        if h != root:
            return False
    for node, j in path:
        verified[(node, root)] = proof[j:]
    return True


def _batch_included(items: Sequence[Item], members: list[int]) -> list[int] | None:
    """`members`: positions in `items` of receipts naming one root. When the tree of all of them (ordered by
    their leaf index, or as listed) is the tree of that root, each one is included: the positions whose served
    proof is NOT exactly that tree's proof are returned (to be folded one by one). None: the root is not
    reached from these receipts alone (a partial batch, a receipt too many or changed): fold them all."""
    root = items[members[0]][4]
    if len(members) < 2 or len(root) != 32:
        return None
    n, first = len(members), members[0]
    group = items[first:first + n] if members[-1] - first == n - 1 else [items[i] for i in members]
    leaves = list(map(_LEAF, group))
    if leaves != list(range(n)) and min(leaves) >= 0:  # listed out of leaf order
        order = sorted(range(n), key=leaves.__getitem__)
        members, group = [members[k] for k in order], [group[k] for k in order]
    tree = MerkleTree(list(map(_RID, group)))
    if tree.root != root:
        return None
    served, want = list(map(_PROOF, group)), tree.proofs()
    if served == want:
        return []
    return [i for i, p, w in zip(members, served, want) if p != w]


def _verify_chunk(args: tuple[int, Sequence[Item], "PriceTable | None"]) -> list[tuple[int, str]]:
    start, items, books = args
    keys: dict[bytes, Pubkey] = {}
    bad: list[tuple[int, str]] = []
    by_root: dict[bytes, list[int]] = {}
    run_root, run = None, []
    for i, (rid, sig, meter, _proof, root, _detail, _leaf) in enumerate(items):
        pk = keys.get(meter)
        if pk is None:
            pk = keys[meter] = Pubkey(meter)
        if not Signature.from_bytes(sig).verify(pk, rid):
            bad.append((i, SIGNATURE))
        if root != run_root:  # receipts of one batch come in runs: one dict lookup per run
            run_root, run = root, by_root.setdefault(root, [])
        run.append(i)
    verified: dict[tuple[bytes, bytes], tuple[bytes, ...]] = {}
    for members in by_root.values():
        fold = _batch_included(items, members)
        for i in members if fold is None else fold:
            rid, proof, root = items[i][0], items[i][3], items[i][4]
            if not _included(rid, proof, root, verified):
                bad.append((i, INCLUSION))
    if books is not None:
        bad += quick_details(list(map(_DETAIL, items)), books, set())
    if bad:
        bad.sort(key=lambda b: b[0])  # stable: per receipt, signature, then inclusion, then its detail
    return [(start + i, name) for i, name in bad]


def _detail_of(s: SignedReceipt) -> Detail | None:
    text, _ = detail_text(s.detail, s.detail_json)
    if text is None:
        return None
    r = s.receipt
    fields = (str(r.program_id), r.config_version, str(r.customer), str(r.provider), r.seq, r.period_start,
              r.period_end)
    return text, bytes(r.detail_hash), fields, (r.cum_amount, r.cum_gpu_ms, r.cum_byte_seconds, r.cum_egress_bytes)


def items_of(receipts: Sequence[SignedReceipt], roots: Mapping[int, bytes], details: bool = False) -> list[Item]:
    """Plain-bytes work items; `roots` maps each receipt's batch to the ON-CHAIN root. `details`: carry each
    receipt's detail too (for verify_items with books)."""
    out = []
    for s in receipts:
        root = roots.get(s.batch, b"") if s.batch is not None else b""
        out.append((s.receipt_id, bytes(s.signature), bytes(s.meter), s.proof, bytes(root),
                    _detail_of(s) if details else None, s.leaf_index if s.leaf_index is not None else -1))
    return out


def _cuts(items: Sequence[Item], chunk: int) -> list[tuple[int, int]]:
    """[start, end) of each chunk: about `chunk` items, cut where the root changes (so a batch is rebuilt whole),
    unless one root's run exceeds 2 x `chunk`."""
    out, i, n = [], 0, len(items)
    chunk = max(1, chunk)
    while i < n:
        j = min(n, i + chunk)
        limit = min(n, i + 2 * chunk)
        while j < limit and items[j][4] == items[j - 1][4]:
            j += 1
        out.append((i, j))
        i = j
    return out


def verify_items(items: Sequence[Item], workers: int | None = None, chunk: int = 2048,
                 pool: ProcessPoolExecutor | None = None, books: "PriceTable | None" = None) -> list[tuple[int, str]]:
    """(position, failed check) for every item that fails; empty when all verify. `books` (the price books
    on the record, by version): also recompute each receipt's detail.

    workers=1 runs in this process; otherwise chunks go to a process pool (one per core by default).
    """
    workers = workers or os.cpu_count() or 1
    chunks = [(i, items[i:j], books) for i, j in _cuts(items, chunk)]
    if workers == 1 or len(chunks) == 1:
        out = []
        for c in chunks:
            out.extend(_verify_chunk(c))
        return out
    own = pool is None
    pool = pool or ProcessPoolExecutor(max_workers=workers)
    try:
        out = []
        for part in pool.map(_verify_chunk, chunks):
            out.extend(part)
        return out
    finally:
        if own:
            pool.shutdown()


def verify_bulk(receipts: Sequence[SignedReceipt], roots: Mapping[int, bytes], workers: int | None = None,
                pool: ProcessPoolExecutor | None = None, chunk: int = 2048,
                books: "PriceTable | None" = None) -> list[BulkFailure]:
    bad = verify_items(items_of(receipts, roots, details=books is not None), workers, chunk=chunk, pool=pool,
                       books=books)
    return [BulkFailure(i, name, receipts[i].receipt_id) for i, name in bad]
