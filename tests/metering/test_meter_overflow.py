"""One provider must not stop receipts for everyone: an event that could overflow a cumulative field of the
receipt encoding is refused at ingest (422 naming the field), and a channel that fails while sealing (here: a
price book published since makes its amount overflow u64) is held back and reported while the other channels
get their receipts in the same window; nothing of the held channel's usage is lost."""
import logging
from fractions import Fraction

from solders.keypair import Keypair

from contracts.receipt import Receipt
from meter_helpers import T0, EventFactory
from metering.events.limits import MAX_EGRESS_BYTES
from metering.headroom import U64, U128, first_overflow
from metering.prices import publish_price_book
from metering.receipts import Sealer
from metering.rollup.pricing import DEFAULT_PRICE_BOOK, Price, PriceBook
from metering.rollup.usage import EGRESS, GPU_HEARTBEAT, STORAGE_SAMPLE


def _count(engine) -> int:
    with engine.connect() as c:
        return c.exec_driver_sql("SELECT count(*) FROM usage_events").scalar()


def _receipts(engine, customer):
    with engine.connect() as c:
        return [Receipt.decode(bytes(r[0])) for r in c.exec_driver_sql(
            "SELECT encoding FROM meter_receipts WHERE customer = ? ORDER BY seq", (customer,))]


def test_egress_that_would_overflow_u64_is_refused_at_ingest_to_the_byte(poster, ev, engine, provider_kp, clock,
                                                                         cfg, meter_kp):
    per_batch = 4096  # 4 x 4096 events of 2^50 bytes = 2^64: the last one would not fit a u64
    for b in range(3):
        batch = [ev.egress("net", T0 - 60_000 + b * per_batch + i, MAX_EGRESS_BYTES, eid=f"e{b}-{i}")
                 for i in range(per_batch)]
        assert poster.post(batch).status_code == 200
    last = [ev.egress("net", T0 - 40_000 + i, MAX_EGRESS_BYTES, eid=f"e3-{i}") for i in range(per_batch)]
    r = poster.post(last)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "data.bytes" and "cum_egress_bytes" in body["error"] and str(U64) in body["error"]
    assert body["results"][-1]["status"] == "rejected" and body["results"][0]["status"] == "valid"
    assert _count(engine) == 3 * per_batch  # nothing of the refused batch
    # exactly up to u64::MAX is fine, one byte more is not
    assert poster.post(last[:-1]).status_code == 200
    assert poster.post(ev.egress("net", T0 - 30_000, MAX_EGRESS_BYTES - 1, eid="fill")).status_code == 200
    r = poster.post(ev.egress("net", T0 - 29_000, 1, eid="one-more"))
    assert r.status_code == 422 and r.json()["field"] == "data.bytes"
    # another customer of the same provider is not affected
    other = EventFactory(provider_kp, str(Keypair.from_seed(bytes([3]) * 32).pubkey()))
    assert poster.post(other.egress("net-o", T0 - 29_000, MAX_EGRESS_BYTES, eid="o1")).status_code == 200
    # and the channel at exactly u64::MAX still gets its receipt
    clock.t = T0 + 60_000
    rep = Sealer(engine, cfg, meter_kp).seal_due(clock())
    assert not rep.failed
    assert _receipts(engine, ev.customer)[-1].cum_egress_bytes == U64


def test_an_amount_that_would_overflow_u64_is_refused_at_ingest(poster, ev, engine, clock):
    book = PriceBook(2, gpu=dict(DEFAULT_PRICE_BOOK.gpu), storage=dict(DEFAULT_PRICE_BOOK.storage),
                     egress={"*": Price(1 << 40, 1)})
    publish_price_book(engine, book, T0 - 3_600_000, clock())
    # two leases of one channel, each within its own cap (u64), together past what a receipt can carry
    assert poster.post(ev.egress("net", T0 - 5000, 1 << 23, eid="a")).status_code == 200  # 2^63 owed
    r = poster.post(ev.egress("net2", T0 - 4000, 1 << 23, eid="b"))  # 2^64 owed on the channel: past u64
    assert r.status_code == 422 and r.json()["field"] == "data.bytes" and "cum_amount" in r.json()["error"]
    assert _count(engine) == 1


def test_gpu_and_storage_bounds_use_the_timeouts():
    """The bound is what the rollup could bill at most: GPUs (bytes) x the heartbeat (sample) timeout."""
    kw = dict(heartbeat_timeout_ms=90_000, sample_timeout_ms=600_000, prices=lambda f, c: Fraction(0))
    n = U64 // 90_000
    _, over = first_overflow({}, [(GPU_HEARTBEAT, "H100", n)], **kw)
    assert over is None
    # the GPU-ms of every class add up in the receipt's one cum_gpu_ms
    _, over = first_overflow({(GPU_HEARTBEAT, "H100"): n}, [(GPU_HEARTBEAT, "A100", 1)], **kw)
    assert over is not None and over.index == 0 and over.field == "data.gpu_count" and "cum_gpu_ms" in over.reason
    m = U128 // 600 + 1  # the fewest bytes whose x 600 s passes u128 byte-seconds
    _, over = first_overflow({}, [(STORAGE_SAMPLE, "STANDARD", m - 1)], **kw)
    assert over is None
    _, over = first_overflow({}, [(STORAGE_SAMPLE, "STANDARD", m - 1), (STORAGE_SAMPLE, "STANDARD", 1)], **kw)
    assert over is not None and over.index == 1 and "cum_byte_seconds" in over.reason
    _, over = first_overflow({}, [(EGRESS, "INTERNET", U64)], **kw)  # exactly u64::MAX fits
    assert over is None
    _, over = first_overflow({(EGRESS, "INTERNET"): U64}, [(EGRESS, "INTERNET", 1)], **kw)
    assert over is not None and "cum_egress_bytes" in over.reason
    # the amount: each line at its own class's price
    prices = {"CHEAP": Fraction(1), "DEAR": Fraction(1 << 40)}
    kw["prices"] = lambda f, c: prices[c]
    sums, over = first_overflow({}, [(EGRESS, "CHEAP", U64 - (1 << 40)), (EGRESS, "DEAR", 1)], **kw)
    assert over is None and sums == {(EGRESS, "CHEAP"): U64 - (1 << 40), (EGRESS, "DEAR"): 1}
    _, over = first_overflow(sums, [(EGRESS, "CHEAP", 1)], **kw)
    assert over is not None and "cum_amount" in over.reason


def _book(version: int, big: Price) -> PriceBook:
    return PriceBook(version, gpu={**DEFAULT_PRICE_BOOK.gpu, "BIG": big}, storage=dict(DEFAULT_PRICE_BOOK.storage),
                     egress=dict(DEFAULT_PRICE_BOOK.egress))


def test_one_failing_channel_never_blocks_the_others(poster, ev, engine, provider_kp, clock, cfg, meter_kp, caplog,
                                                     app, client, monkeypatch):
    """Channel A's receipt cannot be encoded (injected: what a price book published after its usage was
    accepted can cause, metering/headroom.py): A is held back and reported, B gets its receipts."""
    from contracts.receipt import ReceiptEncodingError

    a = ev
    b = EventFactory(provider_kp, str(Keypair.from_seed(bytes([3]) * 32).pubkey()))
    assert poster.post([a.hb("LA", T0 - 50_000), a.hb("LA", T0 - 20_000),
                        b.hb("LB", T0 - 50_000), b.hb("LB", T0 - 20_000)]).status_code == 200
    broken = {a.customer}
    issue = Sealer._issue

    def failing_issue(self, conn, ch, *args, **kw):
        if ch[0] in broken:
            raise ReceiptEncodingError("cum_amount does not fit a u64")
        return issue(self, conn, ch, *args, **kw)

    monkeypatch.setattr(Sealer, "_issue", failing_issue)
    sealer = Sealer(engine, cfg, meter_kp, app.state.metrics)
    caplog.set_level(logging.WARNING, logger="solmeter.meter")

    clock.t = T0 + 10_001
    rep = sealer.seal_due(clock())
    assert rep.receipts == 1 and [(f.customer, f.provider) for f in rep.failed] == [(a.customer, a.provider)]
    assert "receipt encoding" in rep.failed[0].cause and "price book" in rep.failed[0].action
    assert _receipts(engine, b.customer)[0].cum_gpu_ms == 30_000 and _receipts(engine, a.customer) == []
    with engine.connect() as c:  # A's events wait, unsealed: nothing of its usage is dropped
        assert c.exec_driver_sql("SELECT count(*) FROM usage_events WHERE seal_id IS NULL AND customer = ?",
                                 (a.customer,)).scalar() == 2
    metrics = client.get("/metrics").text
    assert "solmeter_seal_failing_channels 1.0" in metrics and "solmeter_seal_channel_failures_total 1.0" in metrics

    # the next window: A fails again (said once, not once per window), B goes on
    assert poster.post([b.hb("LB", T0 + 10_000)]).status_code == 200
    clock.t = T0 + 70_001
    rep = sealer.seal_due(clock())
    assert rep.receipts == 1 and len(rep.failed) == 1
    warnings = [r for r in caplog.records if a.customer in r.getMessage() and "no receipt" in r.getMessage()]
    assert len(warnings) == 1 and "price book" in warnings[0].getMessage()

    # the cause gone: A's receipt comes, with all of its usage
    broken.clear()
    assert poster.post([b.hb("LB", T0 + 70_000)]).status_code == 200
    clock.t = T0 + 130_001
    rep = sealer.seal_due(clock())
    assert not rep.failed and rep.receipts == 2
    (ra,) = _receipts(engine, a.customer)
    assert ra.cum_gpu_ms == 30_000 and ra.cum_amount > 0
    assert _receipts(engine, b.customer)[-1].cum_gpu_ms == 120_000
    assert "solmeter_seal_failing_channels 0.0" in client.get("/metrics").text


def test_a_mistaken_price_book_refuses_new_work_it_would_overflow(poster, ev, engine, clock):
    publish_price_book(engine, _book(2, Price(U64, 1)), T0 - 3_600_000, clock())
    r = poster.post([ev.hb("LA", T0 - 50_000, cls="BIG")])
    # refused before anything is stored: by the lease's cap bound (a lease cap is a u64, so a single lease can
    # never bill past a receipt's cum_amount), else by the channel's headroom
    assert r.status_code in (403, 422) and ("cap" in r.json()["error"] or "cum_amount" in r.json()["error"]), r.text
    assert _count(engine) == 0
    assert poster.post([ev.hb("LB", T0 - 50_000, cls="H100")]).status_code == 200  # other classes: their price
