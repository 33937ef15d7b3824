"""Properties over generated data: the split always adds up and rounds down; any single-field change to a
signed receipt breaks its signature and its proof; any drop in a cumulative breaks the chain walk."""
from __future__ import annotations

import hashlib
from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
from solders.pubkey import Pubkey

from auditor import checks as C
from auditor.receipt_file import RECEIPT_FIELDS
from auditor.sample import build_world, retamper
from auditor.verify import verify_receipt

WORLD = build_world(n_receipts=12, per_batch=5, settle_every=4)
U64 = (1 << 64) - 1


@given(moved=st.integers(0, U64), fee=st.integers(0, 2000), burn=st.integers(0, 2000))
def test_split_adds_up_and_rounds_down(moved, fee, burn):
    f, b, p = C.expected_split(moved, fee, burn)
    assert f + b + p == moved
    assert f * 10_000 <= moved * fee < (f + 1) * 10_000
    assert b * 10_000 <= moved * burn < (b + 1) * 10_000


@given(pool=st.integers(0, U64), revs=st.lists(st.integers(0, 10**12), min_size=1, max_size=8))
def test_claims_never_exceed_the_pool(pool, revs):
    total = sum(revs)
    assert sum(C.expected_claim(pool, r, total) for r in revs) <= pool


def _mutate(value, salt: int):
    if isinstance(value, Pubkey):
        return Pubkey(hashlib.sha256(bytes(value) + bytes([salt])).digest())
    if isinstance(value, (bytes, bytearray)):
        return hashlib.sha256(bytes(value) + bytes([salt])).digest()
    return value + 1 + salt


@settings(max_examples=60, deadline=None)
@given(i=st.integers(1, 11), field=st.sampled_from([f for f in RECEIPT_FIELDS if f != "prev_receipt_id"]),
       salt=st.integers(0, 200))
def test_any_field_change_is_caught(i, field, salt):
    sr = WORLD.receipts[i]
    bad = retamper(sr, **{field: _mutate(getattr(sr.receipt, field), salt)})
    res = verify_receipt(bad, WORLD.history, WORLD.batches[bad.batch])
    failed = {c.name for c in res if c.failed}
    if field == "period_start" and bad.receipt.period_start > bad.receipt.period_end:
        assert failed == {"receipt.encoding"}  # not even a well-formed receipt
    else:
        assert {"receipt.signature", "receipt.inclusion"} <= failed


@settings(max_examples=40, deadline=None)
@given(i=st.integers(1, 11), drop=st.integers(1, 10**6),
       field=st.sampled_from(["cum_amount", "cum_gpu_ms", "cum_byte_seconds", "cum_egress_bytes"]))
def test_any_cumulative_drop_is_caught(i, drop, field):
    rs = [s.receipt for s in WORLD.receipts]
    lowered = max(0, getattr(rs[i - 1], field) - drop)
    if lowered == getattr(rs[i - 1], field):
        return  # already zero: nothing can be lower
    rs[i] = replace(rs[i], **{field: lowered})
    for j in range(i + 1, len(rs)):  # re-chained, as a dishonest meter would
        rs[j] = replace(rs[j], prev_receipt_id=rs[j - 1].receipt_id)
    assert "chain.monotonic" in {c.name for c in C.check_chain(rs) if c.failed}
