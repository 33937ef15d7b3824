"""Bulk verification (the benchmark's path): same verdicts as the single checks, in and across processes."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

from solders.keypair import Keypair
from solders.signature import Signature

from auditor import pricing as P
from auditor.bulk import verify_bulk
from auditor.sample import build_world, priced_world, retamper
from metering.receipts import canonical_json
from metering.rollup.pricing import line_amount


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


def _resign(sr, text: str):
    """The operator re-signs a receipt over an edited detail (its hash and the cumulatives follow the lines)."""
    import json

    from auditor.sample import sign
    from metering.receipts import detail_hash

    d = json.loads(text)
    lines = d["lines"]
    r = replace(sr.receipt, detail_hash=detail_hash(text), cum_amount=sum(x["amount"] for x in lines))
    meter = Keypair.from_seed(hashlib.sha256(b"7:meter").digest())
    return replace(sign(r, meter, sr.batch, sr.proof, sr.leaf_index), detail_json=text)


def test_bulk_detail_checks_agree_with_the_report_path():
    """quick_detail (bulk) names the same first failing check as verify_detail on each tampering."""
    rs, roots, books = priced_world(n_receipts=12, per_batch=4)
    assert verify_bulk(rs, roots, workers=1, books=books) == []
    on_record = lambda v: P.BookOnRecord(v, books.get(v)) if v in books else P.book_on_record(v, None, None)  # noqa
    assert all(c.status == "pass" for c in P.verify_detail(rs[5].receipt, None, on_record, rs[5].detail_json)[0])

    def edit(i, fn):
        d = json.loads(rs[i].detail_json)
        fn(d)
        return canonical_json(d)

    def tenfold(d):
        ln = d["lines"][0]
        ln["unit_price"] *= 10
        ln["amount"] = line_amount(ln["segment_base_amount"], ln["segment_base_quantity"], ln["cumulative"],
                                   ln["unit_price"], ln["per"])

    def off_by_one(d):
        d["lines"][1]["amount"] += 1

    cases = {
        1: (replace(rs[1], detail_json=rs[1].detail_json.replace('"seq":2', '"seq":3')), "receipt.detail_hash"),
        2: (_resign(rs[2], edit(2, tenfold)), "receipt.prices"),
        3: (_resign(rs[3], edit(3, off_by_one)), "receipt.line_amounts"),
        4: (_resign(rs[4], edit(4, lambda d: d.update(seq=9))), "receipt.detail_fields"),
        5: (replace(rs[5], receipt=replace(rs[5].receipt, cum_amount=rs[5].receipt.cum_amount + 7)), None),
    }
    for i, (sr, name) in cases.items():
        checks, _ = P.verify_detail(sr.receipt, None, on_record, sr.detail_json)
        report_first = next((c.name for c in checks if c.failed), None)
        bulk = {f.check for f in verify_bulk([sr], {sr.batch: roots[sr.batch]}, workers=1, books=books)}
        if name is None:  # an amount above the lines, never re-signed: signature and lines both fail
            assert report_first == "receipt.lines_total" and "receipt.lines_total" in bulk
        else:
            assert report_first == name and name in bulk, (i, report_first, bulk)


def test_any_tampered_sibling_fails_even_after_its_batch_mates_proved_the_path():
    w = build_world(n_receipts=32, per_batch=32, settle_every=32)
    roots = {i: b.root for i, b in w.batches.items()}
    rs = list(w.receipts)
    victim = 21
    for j in range(len(rs[victim].proof)):
        p = list(rs[victim].proof)
        p[j] = hashlib.sha256(p[j]).digest()
        tampered = rs[:victim] + [replace(rs[victim], proof=tuple(p))] + rs[victim + 1:]
        assert [(f.position, f.check) for f in verify_bulk(tampered, roots, workers=1)] == [
            (victim, "receipt.inclusion")], j
