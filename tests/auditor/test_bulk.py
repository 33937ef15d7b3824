"""Bulk verification (the benchmark's path): same verdicts as the single checks, in and across processes."""
from __future__ import annotations

from dataclasses import replace

from solders.signature import Signature

from auditor.bulk import verify_bulk
from auditor.sample import build_world, retamper


def test_bulk_agrees_with_single_checks_and_names_failures():
    w = build_world(n_receipts=40, per_batch=16, settle_every=40)
    roots = {i: b.root for i, b in w.batches.items()}
    rs = list(w.receipts)
    assert verify_bulk(rs, roots, workers=1) == []
    raw = bytearray(bytes(rs[3].signature))
    raw[0] ^= 0x80
    rs[3] = replace(rs[3], signature=Signature.from_bytes(bytes(raw)))
    p = list(rs[20].proof)
    p[-1] = bytes(32)
    rs[20] = replace(rs[20], proof=tuple(p))
    rs[33] = retamper(rs[33], cum_amount=rs[33].receipt.cum_amount + 1)
    rs[35] = replace(rs[35], batch=None)  # no batch: no root to reach
    want = {(3, "receipt.signature"), (20, "receipt.inclusion"), (33, "receipt.signature"),
            (33, "receipt.inclusion"), (35, "receipt.inclusion")}
    assert {(f.position, f.check) for f in verify_bulk(rs, roots, workers=1)} == want
    # across processes, chunked: the same answer
    assert {(f.position, f.check) for f in verify_bulk(rs, roots, workers=2, chunk=8)} == want
