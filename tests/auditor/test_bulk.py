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


def _resign(sr, text: str, amount_from_lines: bool = True):
    """The operator re-signs a receipt over an edited detail (its hash and the cumulatives follow the lines)."""
    import json

    from auditor.sample import sign
    from metering.receipts import detail_hash

    r = replace(sr.receipt, detail_hash=detail_hash(text))
    if amount_from_lines:
        r = replace(r, cum_amount=sum(x["amount"] for x in json.loads(text)["lines"]))
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


def _bulk_checks(sr, roots, books):
    return {f.check for f in verify_bulk([sr], {sr.batch: roots[sr.batch]}, workers=1, books=books)}


def _report_first(sr, books):
    on_record = lambda v: P.BookOnRecord(v, books.get(v)) if v in books else P.book_on_record(v, None, None)  # noqa
    checks, _ = P.verify_detail(sr.receipt, None, on_record, sr.detail_json)
    return next((c for c in checks if c.status != "pass"), None)


def test_bulk_names_a_signed_detail_that_is_no_detail_instead_of_crashing():
    """The meter signs a detail_hash over text that is not JSON, or over JSON whose line names an unknown
    family (one that is an attribute of the price book): the bulk path names the failure (it raised before)."""
    rs, roots, books = priced_world(n_receipts=4, per_batch=4)
    not_json = _resign(rs[1], rs[1].detail_json[:-1], amount_from_lines=False)  # the closing brace cut: the hash is signed, not JSON
    assert "receipt.detail" in _bulk_checks(not_json, roots, books)
    assert _report_first(not_json, books).name == "receipt.detail"
    for family in ("version", "__class__", "GPU"):
        d = json.loads(rs[2].detail_json)
        d["lines"][0]["family"] = family
        sr = _resign(rs[2], canonical_json(d))
        assert "receipt.lines" in _bulk_checks(sr, roots, books), family
        assert _report_first(sr, books).name == "receipt.lines", family


def test_bulk_fails_a_price_book_version_not_on_the_record():
    """The receipt names price book v2, which is not on the record, while its lines cite v1: the report path
    says not verified, the bulk path (which only looked at the lines' versions) passed it."""
    rs, roots, books = priced_world(n_receipts=4, per_batch=4)
    d = json.loads(rs[1].detail_json)
    d["price_book_version"] = 2
    sr = _resign(rs[1], canonical_json(d))
    assert _bulk_checks(sr, roots, books) == {"receipt.inclusion", "receipt.price_book"}
    assert _report_first(sr, books).name == "receipt.price_book"


def test_bulk_fails_a_line_citing_a_book_newer_than_the_receipts():
    """Both books are on the record, but a line cites v2 in a receipt priced with v1."""
    from contracts.pricing import PriceBook

    rs, roots, books = priced_world(n_receipts=4, per_batch=4)
    v1 = books[1]
    both = {1: v1, 2: PriceBook(2, v1.gpu, v1.storage, v1.egress)}
    d = json.loads(rs[1].detail_json)
    d["lines"][0]["price_version"] = 2
    sr = _resign(rs[1], canonical_json(d))
    assert "receipt.price_book" in _bulk_checks(sr, roots, both)
    assert _report_first(sr, both).name == "receipt.price_book"


def test_bulk_reads_the_unpriced_flag_and_a_zero_per_as_the_report_path_does():
    rs, roots, books = priced_world(n_receipts=4, per_batch=4)
    d = json.loads(rs[1].detail_json)
    d["lines"][0]["unpriced"] = True  # priced per the book, but flagged "no price in the book"
    sr = _resign(rs[1], canonical_json(d))
    assert "receipt.prices" in _bulk_checks(sr, roots, books)
    assert _report_first(sr, books).name == "receipt.prices"
    d = json.loads(rs[2].detail_json)
    d["lines"][0]["per"] = 0
    sr = _resign(rs[2], canonical_json(d))
    assert "receipt.lines" in _bulk_checks(sr, roots, books)
    assert _report_first(sr, books).name == "receipt.lines"


def test_whole_batch_rebuild_gives_the_per_receipt_verdicts():
    """Receipts of complete batches are checked by rebuilding each tree once; whatever does not fit (out of
    leaf order, lying leaf indexes, a receipt served twice, a partial batch across chunks, a receipt naming
    another batch's root, a changed receipt) gets the verdict the per-receipt fold gives."""
    w = build_world(n_receipts=48, per_batch=16, settle_every=48)
    roots = {i: b.root for i, b in w.batches.items()}
    rs = list(w.receipts)
    assert verify_bulk(rs, roots, workers=1) == []
    # batch 1 listed backwards, batch 2 with its leaf indexes lying (a hint, never trusted)
    shuffled = rs[:16] + rs[16:32][::-1] + [replace(s, leaf_index=(s.leaf_index + 5) % 16) for s in rs[32:]]
    assert verify_bulk(shuffled, roots, workers=1) == []
    # chunks smaller than a batch: cut inside batches, proofs folded one by one
    assert verify_bulk(rs, roots, workers=1, chunk=5) == []
    # one receipt served twice: still included, both times
    assert verify_bulk(rs + [rs[7]], roots, workers=1) == []
    # a receipt of batch 0 that says it is in batch 1 (its proof cannot reach batch 1's root)
    moved = rs[:16] + [replace(rs[3], batch=1)] + rs[17:]
    assert [(f.position, f.check) for f in verify_bulk(moved, roots, workers=1)] == [(16, "receipt.inclusion")]
    # a changed receipt in a complete batch: the tree misses the root, every member is folded, one fails
    changed = list(rs)
    changed[40] = retamper(rs[40], cum_amount=rs[40].receipt.cum_amount + 1)
    assert {(f.position, f.check) for f in verify_bulk(changed, roots, workers=1)} == {
        (40, "receipt.signature"), (40, "receipt.inclusion")}


def test_merkle_tree_proofs_are_each_leafs_proof():
    from contracts.merkle import MerkleTree, verify_proof

    for n in range(1, 40):
        ids = [hashlib.sha256(b"%d" % i).digest() for i in range(n)]
        t = MerkleTree(ids)
        assert t.proofs() == [tuple(t.proof(i)) for i in range(n)], n
        assert all(verify_proof(r, p, t.root) for r, p in zip(ids, t.proofs()))
