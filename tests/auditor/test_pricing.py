"""Prices on the record (issue 15): the meter publishes each price book version (GET /v1/price-books, a file an
auditor can keep), the admin commits its sha256 on-chain (publish_price_book), receipts name their version in
the detail, and the auditor recomputes every receipt: sha256(detail) == detail_hash, the lines add up to the
signed cumulative amount and quantities, each line's amount follows from its quantity and the price of the book
on the record (metering.rollup.pricing's rule, imported), and lines continue from receipt to receipt.

Attacks by an operator misusing its own meter (real meter, real localnet, real HTTP): pricing at 10x the
published book, signing an amount above the lines. Everything settles and every on-chain check holds; today's
auditor (which never read the detail) passed them."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from auditor import pricing as P
from auditor.audits import ChainFacts, api_members, audit_channel
from auditor.chain import ChainReader
from contracts.receipt import Receipt, receipt_id
from metering.rollup.pricing import DEFAULT_PRICE_BOOK, Price, PriceBook, price_lines

from proxies import rewriting_proxy

pytest.importorskip("localnet")
pytest.importorskip("metering.api")

import meter_world  # noqa: E402
from metering.models import ReceiptRow  # noqa: E402
from metering.prices import publish_price_book  # noqa: E402

PID = meter_world.PID
RR = ReceiptRow.__table__


def tenfold(book: PriceBook) -> PriceBook:
    def x10(table):
        return {k: Price(p.unit_price * 10, p.per) for k, p in table.items()}
    return replace(book, gpu=x10(book.gpu), storage=x10(book.storage), egress=x10(book.egress))


def _audit(world, api=None, files=None):
    d = world["d"]
    facts = ChainFacts(ChainReader.connect(world["node"].rpc_url, PID))
    api = api or world["api"]
    return audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), api.channel_receipts(
        str(d.customer.pubkey()), str(d.provider.pubkey())), api_members(api), files or api.price_book_file)


# --- the honest meter ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    with meter_world.build(tmp_path_factory.mktemp("honest")) as w:
        with meter_world.serve(w) as url:
            w["url"] = url
            yield w


def test_the_price_books_are_published_and_hash_to_the_chain(honest):
    http = honest["api"].http
    listing = http.get("/v1/price-books").json()["price_books"]
    assert [(b["version"], b["sha256"]) for b in listing] == [(1, DEFAULT_PRICE_BOOK.sha256().hex())]
    file = http.get("/v1/price-books/1").content
    assert file == DEFAULT_PRICE_BOOK.file_bytes() and PriceBook.from_json(file.decode()) == DEFAULT_PRICE_BOOK
    assert http.get("/v1/price-books/2").status_code == 404
    facts = ChainFacts(ChainReader.connect(honest["node"].rpc_url, PID))
    assert facts.price_book_commitment(1) == hashlib.sha256(file).digest()
    assert facts.price_book_commitment(2) is None


def test_honest_receipts_recompute_clean(honest):
    rep = _audit(honest)
    assert rep.ok, rep.render()
    passing = {c.name for c in rep.checks if c.status == "pass"}
    assert {"receipt.detail_hash", "receipt.detail_fields", "receipt.lines_total", "receipt.line_amounts",
            "receipt.price_book", "receipt.prices", "chain.line_segments"} <= passing


def test_price_books_kept_by_the_auditor_as_files(honest, tmp_path, isolated_env, monkeypatch):
    """The file format an auditor keeps: the published bytes, price-book-v<N>.json; through the CLI."""
    from typer.testing import CliRunner

    from solmeter.commands.audit import app
    from contracts import DEFAULT_PROGRAM_ID

    (tmp_path / "price-book-v1.json").write_bytes(honest["api"].http.get("/v1/price-books/1").content)
    monkeypatch.setenv("SOLMETER_RPC_URL", honest["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    d = honest["d"]
    args = ["channel", str(d.customer.pubkey()), str(d.provider.pubkey()), "--api", honest["url"], "--json",
            "-k", honest["meter_key"]]
    res = CliRunner().invoke(app, args + ["--price-books", str(tmp_path)])
    assert res.exit_code == 0, res.output
    (tmp_path / "price-book-v1.json").write_bytes(tenfold(DEFAULT_PRICE_BOOK).file_bytes())
    res = CliRunner().invoke(app, args + ["--price-books", str(tmp_path)])
    assert res.exit_code == 1 and "receipt.price_book" in json.loads(res.stdout)["failed"], res.output
    rid = honest["receipts"][1].receipt_id.hex()
    res = CliRunner().invoke(app, ["receipt", rid, "--prev", honest["receipts"][0].receipt_id.hex(),
                                   "--api", honest["url"]])
    assert res.exit_code == 0 and "ok   receipt.prices" in res.output and "receipt.line_segments" in res.output, \
        res.output


# --- the operator prices at 10x the published book -----------------------------------------------------------

@pytest.fixture(scope="module")
def overpriced(tmp_path_factory):
    def books(engine, d):
        meter_world.publish_on_chain(d, DEFAULT_PRICE_BOOK)  # the book on the record
        publish_price_book(engine, tenfold(DEFAULT_PRICE_BOOK), 0, meter_world.T0)  # what the meter prices with

    with meter_world.build(tmp_path_factory.mktemp("overpriced"), before_seal=books) as w:
        with meter_world.serve(w) as url:
            w["url"] = url
            yield w


def test_pricing_at_ten_times_the_book_fails(overpriced):
    # the meter serves the book it really used: that file is not the one committed on-chain
    rep = _audit(overpriced)
    assert rep.failed_names() == {"receipt.price_book"}, rep.render()
    assert "hashes to" in next(c.detail for c in rep.checks if c.name == "receipt.price_book")
    # a rewriting proxy serves the published file instead: on the record now, and the lines do not follow it
    honest_file = DEFAULT_PRICE_BOOK.file_bytes()

    def serve_published(method, path, body, status, answer):
        return honest_file if path == "/v1/price-books/1" else answer

    from auditor.api import MeterApi
    with rewriting_proxy(overpriced["url"], serve_published) as url:
        api = MeterApi(url, keypair=overpriced["meter"])  # the meter key reads every channel
        try:
            rep = _audit(overpriced, api)
        finally:
            api.close()
    assert rep.failed_names() == {"receipt.prices"}, rep.render()
    assert "priced 25000000/3600000, price book v1 says 2500000/3600000" in next(
        c.detail for c in rep.checks if c.name == "receipt.prices")


# --- the operator signs an amount above its lines ------------------------------------------------------------

@pytest.fixture(scope="module")
def inflated(tmp_path_factory):
    def inflate(engine, meter, round_):
        if round_ != 1:
            return
        with engine.begin() as c:  # the newest receipt, re-signed with 1000 more than its lines say
            row = c.execute(select(RR).order_by(RR.c.seq.desc()).limit(1)).first()
            r = Receipt.decode(bytes(row.encoding))
            forged = replace(r, cum_amount=r.cum_amount + 1_000)
            enc = forged.encode()
            c.execute(update(RR).where(RR.c.id == row.id).values(
                encoding=enc, receipt_id=receipt_id(enc), signature=bytes(meter.sign_message(receipt_id(enc))),
                cum_amount=forged.cum_amount, new_amount=row.new_amount + 1_000))

    with meter_world.build(tmp_path_factory.mktemp("inflated"), before_batch=inflate) as w:
        yield w


def test_an_amount_above_the_lines_fails(inflated):
    rep = _audit(inflated)
    assert rep.failed_names() == {"receipt.lines_total"}, rep.render()
    assert "cum_amount: lines" in next(c.detail for c in rep.checks if c.name == "receipt.lines_total")


# --- pure: each check on its own ----------------------------------------------------------------------------

BOOK = PriceBook(1, gpu={"H100": Price(7, 3)})
BOOK2 = PriceBook(2, gpu={"H100": Price(20, 3)})


def _detail(r: Receipt, lines, version=1):
    return {"detail_version": 1, "program_id": str(r.program_id), "config_version": r.config_version,
            "customer": str(r.customer), "provider": str(r.provider), "seq": r.seq, "period_start": r.period_start,
            "period_end": r.period_end, "price_book_version": version, "lines": [ln.to_dict() for ln in lines],
            "gaps": []}


def _receipt(lines, detail_of=None, **kw):
    from auditor.sample import build_world
    base = build_world(n_receipts=1).receipts[0].receipt
    r = replace(base, cum_gpu_ms=sum(ln.cumulative for ln in lines), cum_byte_seconds=0, cum_egress_bytes=0,
                cum_amount=sum(ln.amount for ln in lines), **kw)
    detail = (detail_of or _detail)(r, lines)
    from metering.receipts import canonical_json
    return replace(r, detail_hash=hashlib.sha256(canonical_json(detail).encode()).digest()), detail


def _books(*books):
    on_record = {b.version: b for b in books}
    return lambda v: (P.BookOnRecord(v, on_record[v]) if v in on_record else P.book_on_record(v, None, None))


def test_pure_detail_checks():
    lines = price_lines({}, {("gpu", "H100"): 1000}, {("gpu", "H100"): 1000}, BOOK)
    r, detail = _receipt(lines)
    checks, got = P.verify_detail(r, detail, _books(BOOK))
    assert all(c.status == "pass" for c in checks) and got == lines
    # no detail served: not verified; a detail that is not the signed one: fails
    assert [c.status for c in P.verify_detail(r, None, _books(BOOK))[0]] == ["pending"]
    edited = {**detail, "gaps": [{"family": "gpu"}]}
    assert [c.name for c in P.verify_detail(r, edited, _books(BOOK))[0] if c.failed] == ["receipt.detail_hash"]
    # an amount not following quantity x price (the receipt re-signed over the edited detail)
    bad = [replace(lines[0], amount=lines[0].amount + 1)]
    r2, d2 = _receipt(bad)
    assert {c.name for c in P.verify_detail(r2, d2, _books(BOOK))[0] if c.failed} == {"receipt.line_amounts"}
    # a detail of another receipt (another seq), hashed and signed over: it must name this receipt
    r4, d4 = _receipt(lines, detail_of=lambda r, ls: {**_detail(r, ls), "seq": r.seq + 1})
    assert [c.name for c in P.verify_detail(r4, d4, _books(BOOK))[0] if c.failed] == ["receipt.detail_fields"]
    # a price book not committed on-chain: not verified, never clean
    assert [c.status for c in P.verify_detail(r, detail, _books())[0] if c.name == "receipt.price_book"] == [
        "pending"]
    # a line citing a newer book than the receipt's
    r3, d3 = _receipt([replace(lines[0], price_version=2)])
    assert "receipt.price_book" in {c.name for c in P.verify_detail(r3, d3, _books(BOOK, BOOK2))[0] if c.failed}


def test_book_on_record_binds_the_file_to_the_chain():
    f = BOOK.file_bytes()
    assert P.book_on_record(1, f, hashlib.sha256(f).digest()).book == BOOK
    assert P.book_on_record(1, f, bytes(32)).failed
    assert P.book_on_record(2, f, hashlib.sha256(f).digest()).failed  # committed as v2, the file says v1
    assert not P.book_on_record(1, None, hashlib.sha256(f).digest()).failed  # not served: pending
    assert P.book_on_record(1, b"not json", hashlib.sha256(b"not json").digest()).failed


def test_segments_follow_the_previous_receipt():
    q = {("gpu", "H100"): 1000}
    a = price_lines({}, q, q, BOOK)
    prev = {("gpu", "H100"): a[0]}
    same = price_lines(prev, {("gpu", "H100"): 2500}, {("gpu", "H100"): 1500}, BOOK)
    repriced = price_lines(prev, {("gpu", "H100"): 2500}, {("gpu", "H100"): 1500}, BOOK2)
    assert P.check_segments(a, same) == [] and P.check_segments(a, repriced) == []
    # the operator moves a segment base up (amount still "follows" from it): caught against the previous receipt
    ln = same[0]
    forged = [replace(ln, segment_base_amount=ln.segment_base_amount + 50, amount=ln.amount + 50)]
    assert P.check_segments(a, forged) and "segment base" in P.check_segments(a, forged)[0]
    assert P.check_segments(a, []) == ["gpu/H100 was dropped"]
    assert P.check_segments(None, [replace(a[0], segment_base_quantity=5)])


# --- the customer checks its own bill, one command ---------------------------------------------------------

def _check_bill(world, tmp_path, monkeypatch, *extra):
    from typer.testing import CliRunner

    from contracts import DEFAULT_PROGRAM_ID
    from solmeter.cli import app

    key = tmp_path / "customer.json"
    key.write_text(json.dumps(list(bytes(world["d"].customer))))
    key.chmod(0o600)
    monkeypatch.setenv("SOLMETER_RPC_URL", world["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    return CliRunner().invoke(app, ["customer", "check-bill", "--keypair", str(key), "--api", world["url"], *extra])


def test_a_customer_checks_its_bill_end_to_end(honest, tmp_path, isolated_env, monkeypatch):
    from auditor.audits import audit_bill

    d = honest["d"]
    facts = ChainFacts(ChainReader.connect(honest["node"].rpc_url, PID))
    reports = audit_bill(facts, d.customer.pubkey(), honest["api"])
    assert [r.kind for r in reports] == ["customer", "channel"] and all(r.ok for r in reports), \
        "\n".join(r.render() for r in reports)
    res = _check_bill(honest, tmp_path, monkeypatch, "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["outcome"] == "CLEAN" and "receipt.prices" in {c["name"] for r in doc["reports"] for c in r["checks"]}
    by_output = _check_bill(honest, tmp_path, monkeypatch, "--output", "json")  # the one switch of every command
    assert by_output.exit_code == 0 and json.loads(by_output.stdout)["outcome"] == "CLEAN", by_output.output
    # the text says what its amounts are and shows the amount facts in tokens too (the mint has 6 decimals)
    text = _check_bill(honest, tmp_path, monkeypatch)
    assert text.exit_code == 0, text.output
    escrow = doc["reports"][0]["facts"]["escrow_balance"]
    assert "  amounts in token base units (6 decimals: 1 token = 1,000,000 units)" in text.stdout
    assert f"  escrow_balance: {escrow} ({escrow // 10**6}.{escrow % 10**6:06d} tokens)" in text.stdout


def test_check_bill_catches_the_overpriced_meter(overpriced, tmp_path, isolated_env, monkeypatch):
    res = _check_bill(overpriced, tmp_path, monkeypatch)
    assert res.exit_code == 1 and "FAIL receipt.price_book" in res.output and "audits: FAILED" in res.output, \
        res.output
