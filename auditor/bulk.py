"""Verifying many receipts at once (signature + inclusion proof, and with `books` the detail and its pricing),
across processes.

Same rules as checks.check_signature / checks.check_inclusion / pricing.verify_detail (pricing.quick_detail),
arranged for throughput:
- the work crosses process boundaries as plain bytes (receipt id, signature, meter key, proof, root), so
  pickling stays cheap and each worker rebuilds solders objects once per distinct meter key;
- proof folding remembers, per chunk, each node of a proven path with the siblings that lead from it to the
  root: receipts of one batch share their upper path, so a proof usually stops after one or two hashes where
  it meets a proven node with the very same remaining siblings (every sibling is still compared).
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Mapping, Sequence

from solders.pubkey import Pubkey
from solders.signature import Signature

from contracts.merkle import MAX_PROOF_LEN, leaf_hash, node_hash

from .pricing import PriceTable, detail_text, quick_detail
from .receipt_file import SignedReceipt

# (receipt_id, signature bytes, meter key bytes, proof nodes, expected root, detail or None), the detail as
# (served JSON text, signed detail_hash, the fields it must name, the signed cumulatives)
Detail = tuple[bytes, bytes, tuple, tuple[int, int, int, int]]
Item = tuple[bytes, bytes, bytes, tuple[bytes, ...], bytes, "Detail | None"]


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


def _verify_chunk(args: tuple[int, Sequence[Item], "PriceTable | None"]) -> list[tuple[int, str]]:
    start, items, books = args
    keys: dict[bytes, Pubkey] = {}
    verified: dict[tuple[bytes, bytes], tuple[bytes, ...]] = {}
    bad: list[tuple[int, str]] = []
    for i, (rid, sig, meter, proof, root, detail) in enumerate(items):
        pk = keys.get(meter)
        if pk is None:
            pk = keys[meter] = Pubkey(meter)
        if not Signature.from_bytes(sig).verify(pk, rid):
            bad.append((start + i, "receipt.signature"))
        if len(proof) > MAX_PROOF_LEN:
            bad.append((start + i, "receipt.inclusion"))
            continue
        if not _included(rid, proof, root, verified):
            bad.append((start + i, "receipt.inclusion"))
        if books is not None:
            why = "receipt.detail" if detail is None else quick_detail(*detail, books)
            if why is not None:
                bad.append((start + i, why))
    return bad


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
                    _detail_of(s) if details else None))
    return out


def verify_items(items: Sequence[Item], workers: int | None = None, chunk: int = 2048,
                 pool: ProcessPoolExecutor | None = None, books: "PriceTable | None" = None) -> list[tuple[int, str]]:
    """(position, failed check) for every item that fails; empty when all verify. `books` (the price books
    on the record, by version): also recompute each receipt's detail.

    workers=1 runs in this process; otherwise chunks go to a process pool (one per core by default).
    """
    workers = workers or os.cpu_count() or 1
    chunks = [(i, items[i:i + chunk], books) for i in range(0, len(items), chunk)]
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
