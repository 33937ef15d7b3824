"""Sealing windows into receipts: exact quantities and amounts, chain, signatures, late events, batches."""
import hashlib
import json

from solders.pubkey import Pubkey
from solders.signature import Signature
from sqlalchemy import select

from contracts.merkle import verify_proof
from contracts.receipt import ZERO_HASH, Receipt
from meter_helpers import T0, ingest_direct
from metering.batches import build_batch, proof_for
from metering.ingest.service import Ingestor
from metering.models import ReceiptRow
from metering.prices import publish_price_book
from metering.receipts import Sealer
from metering.rollup.pricing import HOUR_MS, Price, PriceBook

RR = ReceiptRow.__table__
W = 60_000
BASE = T0 - 30 * W  # well inside the lateness bound


def receipts(engine):
    with engine.connect() as c:
        return c.execute(select(RR).order_by(RR.c.customer, RR.c.provider, RR.c.seq)).all()


def setup(engine, cfg, meter_kp):
    return Ingestor(engine, cfg), Sealer(engine, cfg, meter_kp)


def test_receipts_chain_sign_and_price_exactly(engine, cfg, meter_kp, ev, provider_kp):
    ing, sealer = setup(engine, cfg, meter_kp)
    prov = str(provider_kp.pubkey())
    # window 0: heartbeats at +0, +30 s (2 GPUs); window 1: +60 s, +90 s and a stop at +100 s
    evs = [ev.hb("L1", BASE + t, 2) for t in (0, 30_000, 60_000, 90_000)] + [ev.stop("L1", BASE + 100_000)]
    evs += [ev.sample("bk", BASE + 0, 1 << 30), ev.sample("bk", BASE + 45_000, 1 << 30), ev.egress("web", BASE + 70_000, 5 << 30)]
    out = ingest_direct(ing, prov, evs, T0)
    assert out.status_code == 200 and out.accepted == len(evs)
    rep = sealer.seal_due(BASE + 2 * W + cfg.grace_ms)
    assert rep.windows == 2 and rep.receipts == 2
    rows = receipts(engine)
    assert [r.seq for r in rows] == [1, 2]
    r1, r2 = (Receipt.decode(bytes(r.encoding)) for r in rows)
    assert r1.cum_gpu_ms == 2 * 30_000 and r2.cum_gpu_ms == 2 * 100_000
    assert r1.cum_byte_seconds == (1 << 30) * 45 and r2.cum_byte_seconds == (1 << 30) * 45
    assert r1.cum_egress_bytes == 0 and r2.cum_egress_bytes == 5 << 30
    # amounts: f(cumulative) with the default book
    assert r1.cum_amount == 60_000 * 2_500_000 // HOUR_MS + (1 << 30) * 45 * 20_000 // ((1 << 30) * 30 * 86_400)
    gpu2 = 200_000 * 2_500_000 // HOUR_MS
    sto2 = (1 << 30) * 45 * 20_000 // ((1 << 30) * 30 * 86_400)
    assert r2.cum_amount == gpu2 + sto2 + 5 * 50_000
    assert rows[1].new_amount == r2.cum_amount - r1.cum_amount
    # the chain, the detail hash and the meter's signature
    assert r1.prev_receipt_id == ZERO_HASH and r2.prev_receipt_id == bytes(rows[0].receipt_id)
    assert (r1.period_start, r1.period_end, r2.period_start, r2.period_end) == (
        BASE // 1000, (BASE + W) // 1000, (BASE + W) // 1000, (BASE + 2 * W) // 1000)
    for row, r in zip(rows, (r1, r2)):
        assert r.receipt_id == bytes(row.receipt_id) == hashlib.sha256(bytes(row.encoding)).digest()
        assert hashlib.sha256(row.detail.encode()).digest() == r.detail_hash
        assert Signature.from_bytes(bytes(row.signature)).verify(meter_kp.pubkey(), r.receipt_id)
        assert r.program_id == Pubkey.from_string(cfg.program_id) and r.config_version == cfg.config_version
        assert r.customer == Pubkey.from_string(ev.customer) and r.provider == provider_kp.pubkey()
    d2 = json.loads(rows[1].detail)
    gpu_line = [ln for ln in d2["lines"] if ln["family"] == "gpu"][0]
    assert (gpu_line["quantity"], gpu_line["adjustment"], gpu_line["cumulative"]) == (140_000, 0, 200_000)
    # sealing again changes nothing
    assert sealer.seal_due(BASE + 2 * W + cfg.grace_ms).receipts == 0 and len(receipts(engine)) == 2


def test_gaps_are_reported_in_the_detail(engine, cfg, meter_kp, ev, provider_kp):
    ing, sealer = setup(engine, cfg, meter_kp)
    ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb("L1", BASE), ev.hb("L1", BASE + 30_000),
                                                  ev.hb("L1", BASE + 200_000), ev.hb("L1", BASE + 230_000)], T0)
    sealer.seal_due(BASE + 5 * W)
    rows = receipts(engine)
    last = Receipt.decode(bytes(rows[-1].encoding))
    assert last.cum_gpu_ms == 60_000
    gaps = [g for r in rows for g in json.loads(r.detail)["gaps"]]
    assert gaps == [{"family": "gpu", "resource": "L1", "start_ms": BASE + 30_000, "end_ms": BASE + 200_000}]


def test_late_event_becomes_an_adjustment_of_the_next_receipt(engine, cfg, meter_kp, ev, provider_kp):
    ing, sealer = setup(engine, cfg, meter_kp)
    prov = str(provider_kp.pubkey())
    ingest_direct(ing, prov, [ev.hb("L1", BASE), ev.hb("L1", BASE + 50_000), ev.hb("L1", BASE + 120_000)], T0)
    sealer.seal_due(BASE + W + cfg.grace_ms)  # seals window 0 only
    first = receipts(engine)
    assert len(first) == 1 and Receipt.decode(bytes(first[0].encoding)).cum_gpu_ms == 50_000
    # window 0 is sealed; a late heartbeat inside it (and a new one in window 2)
    out = ingest_direct(ing, prov, [ev.hb("L1", BASE + 20_000, 3), ev.hb("L1", BASE + 130_000)], T0)
    assert out.status_code == 200
    sealer.seal_due(BASE + 3 * W + cfg.grace_ms)
    rows = receipts(engine)
    assert bytes(rows[0].encoding) == bytes(first[0].encoding)  # a signed receipt is never rewritten
    # cumulative after: 0-20 s x1, 20-50 s x3, 50-120 s x1, 120-130 s x1
    final = Receipt.decode(bytes(rows[-1].encoding))
    assert final.cum_gpu_ms == 20_000 + 90_000 + 70_000 + 10_000
    adj = [json.loads(r.detail)["lines"][0] for r in rows[1:]]
    assert sum(ln["adjustment"] for ln in adj) == (20_000 + 90_000) - 50_000
    assert adj[0]["adjustment"] == 60_000  # the first receipt after the late event carries it
    assert all(Receipt.decode(bytes(b.encoding)).prev_receipt_id == bytes(a.receipt_id) for a, b in zip(rows, rows[1:]))


def test_price_book_version_in_force(engine, cfg, meter_kp, ev, provider_kp, clock):
    ing, sealer = setup(engine, cfg, meter_kp)
    publish_price_book(engine, PriceBook(5, gpu={"*": Price(3_600, HOUR_MS)}), 0, clock())
    publish_price_book(engine, PriceBook(6, gpu={"*": Price(7_200, HOUR_MS)}), BASE + W, clock())
    # the customer's lease L1 agreed to version 5; from BASE + W version 6 is in force: usage under L1 is
    # refused from then on, and the customer signs L2 under version 6 (metering/leases.py)
    prov = str(provider_kp.pubkey())
    ingest_direct(ing, prov, [ev.hb("L1", BASE + t) for t in (0, 30_000)], T0)
    refused = ingest_direct(ing, prov, [ev.hb("L1", BASE + 60_000)], T0)
    assert refused.status_code == 403 and "price book version 5" in refused.error
    ingest_direct(ing, prov, [ev.hb("L2", BASE + t) for t in range(60_000, 120_001, 30_000)], T0)
    sealer.seal_due(BASE + 3 * W + cfg.grace_ms)
    rows = receipts(engine)
    amounts = [Receipt.decode(bytes(r.encoding)).cum_amount for r in rows]
    # 30 s at 1/ms-hour price 3600 -> 30; L2 bills from its second heartbeat: 30 s at 7200 -> 30 + 60;
    # then 30 s more -> 150
    assert amounts == [30, 90, 150]
    assert [json.loads(r.detail)["price_book_version"] for r in rows] == [5, 6, 6]


def test_batches_proofs_and_totals(engine, cfg, meter_kp, ev, provider_kp, clock, client, reader, customer):
    ing, sealer = setup(engine, cfg, meter_kp)
    from meter_helpers import EventFactory
    from solders.keypair import Keypair
    evs = [ev.hb("L1", BASE + t, 2) for t in range(0, 180_001, 30_000)]
    other = EventFactory(provider_kp, str(Keypair.from_seed(bytes([9]) * 32).pubkey()))
    evs += [other.hb("L9", BASE + t, 1, "A100") for t in range(0, 180_001, 30_000)]
    ingest_direct(ing, str(provider_kp.pubkey()), evs, T0)
    sealer.seal_due(BASE + 2 * W)
    b1 = build_batch(engine, str(meter_kp.pubkey()), clock())
    sealer.seal_due(BASE + 4 * W)
    b2 = build_batch(engine, str(meter_kp.pubkey()), clock())
    assert build_batch(engine, str(meter_kp.pubkey()), clock()) is None
    rows = receipts(engine)
    assert b1.count + b2.count == len(rows) == 6
    for b in (b1, b2):
        mine = [r for r in rows if r.batch_id == b.id]
        assert b.total == sum(r.new_amount for r in mine)
        with engine.connect() as c:
            for r in mine:
                assert verify_proof(bytes(r.receipt_id), proof_for(c, b.id, r.batch_index), b.root)
    # the API serves the receipt with its signature and a proof that verifies
    rid = bytes(rows[-1].receipt_id)
    body = client.get(f"/v1/receipts/{rid.hex()}").json()
    assert Signature.from_string(body["signature"]).verify(Pubkey.from_string(body["meter_pubkey"]), rid)
    assert verify_proof(rid, [bytes.fromhex(h) for h in body["proof"]], bytes.fromhex(body["batch"]["root"]))
    lst = reader.get("/v1/receipts", params={"customer": customer}).json()["receipts"]
    assert [x["seq"] for x in lst] == [1, 2, 3]
    bt = client.get(f"/v1/batches/{b2.id}").json()
    assert bt["count"] == b2.count and len(bt["receipt_ids"]) == b2.count
    assert client.get("/v1/batches/999").status_code == 404
    assert client.get("/v1/receipts/" + "00" * 32).status_code == 404


def test_late_event_with_no_new_window_rides_on_the_latest_due_window(engine, cfg, meter_kp, ev, provider_kp):
    ing, sealer = setup(engine, cfg, meter_kp)
    prov = str(provider_kp.pubkey())
    ingest_direct(ing, prov, [ev.egress("web", BASE + 1000, 100)], T0)
    sealer.seal_due(BASE + W + cfg.grace_ms)
    ingest_direct(ing, prov, [ev.egress("web", BASE + 2000, 50)], T0)  # late: window 0 is sealed
    assert sealer.seal_due(BASE + W + cfg.grace_ms).receipts == 0  # no later window is due yet
    rep = sealer.seal_due(BASE + 3 * W + cfg.grace_ms)
    assert (rep.receipts, rep.late_events) == (1, 1)
    rows = receipts(engine)
    last = json.loads(rows[-1].detail)
    assert (last["seq"], last["period_start"], last["period_end"]) == (2, (BASE + W) // 1000, (BASE + 3 * W) // 1000)
    assert last["lines"][0]["adjustment"] == 50 and last["lines"][0]["quantity"] == 0
    assert Receipt.decode(bytes(rows[-1].encoding)).cum_egress_bytes == 150


def test_config_version_is_an_explicit_input(engine, meter_kp, ev, provider_kp):
    from metering.config import MeterConfig
    cfg7 = MeterConfig(window_ms=W, grace_ms=0, config_version=7)
    ing, sealer = Ingestor(engine, cfg7), Sealer(engine, cfg7, meter_kp)
    ingest_direct(ing, str(provider_kp.pubkey()), [ev.egress("web", BASE, 1)], T0)
    sealer.seal_due(BASE + W)
    r = Receipt.decode(bytes(receipts(engine)[0].encoding))
    assert r.config_version == 7


def test_signatures_verify_with_an_independent_ed25519_tool(engine, cfg, meter_kp, ev, provider_kp, tmp_path):
    """OpenSSL, not solders, checks the meter's receipt signature and an agent's request signature."""
    import base64
    import subprocess

    from metering.auth import canonical_message, sign_request

    def openssl_verify(pubkey: bytes, msg: bytes, sig: bytes) -> bool:
        der = bytes.fromhex("302a300506032b6570032100") + pubkey  # SubjectPublicKeyInfo of an Ed25519 key
        pem = b"-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(der) + b"\n-----END PUBLIC KEY-----\n"
        (tmp_path / "pub.pem").write_bytes(pem)
        (tmp_path / "msg").write_bytes(msg)
        (tmp_path / "sig").write_bytes(sig)
        r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", str(tmp_path / "pub.pem"), "-rawin",
                            "-in", str(tmp_path / "msg"), "-sigfile", str(tmp_path / "sig")], capture_output=True)
        return r.returncode == 0

    ing, sealer = setup(engine, cfg, meter_kp)
    ingest_direct(ing, str(provider_kp.pubkey()), [ev.egress("web", BASE, 10)], T0)
    sealer.seal_due(BASE + W + cfg.grace_ms)
    row = receipts(engine)[0]
    assert openssl_verify(bytes(meter_kp.pubkey()), bytes(row.receipt_id), bytes(row.signature))
    assert not openssl_verify(bytes(meter_kp.pubkey()), bytes(32), bytes(row.signature))
    h = sign_request(provider_kp, "POST", "/v1/events/batch", b"[]", 123)
    sig = bytes(Signature.from_string(h["X-Solmeter-Signature"]))
    assert openssl_verify(bytes(provider_kp.pubkey()), canonical_message("POST", "/v1/events/batch", 123, b"[]"), sig)


def test_an_interval_with_more_receipts_than_a_batch_holds_becomes_several_batches(
        engine, cfg, meter_kp, ev, provider_kp, monkeypatch):
    # Given more pending receipts than one batch may hold (the cap keeps proofs short enough for settle)
    import metering.batches as batches
    from metering.service import MeterJobs

    assert batches.MAX_BATCH_RECEIPTS == 2048  # 2^11: an 11-hash proof is the most a settle transaction fits
    monkeypatch.setattr(batches, "MAX_BATCH_RECEIPTS", 2)
    ing, sealer = setup(engine, cfg, meter_kp)
    from meter_helpers import EventFactory
    from solders.keypair import Keypair
    evs = []
    for i in range(5):
        f = EventFactory(provider_kp, str(Keypair.from_seed(bytes([20 + i]) * 32).pubkey()))
        evs += [f.hb(f"L{i}", BASE + t, 1) for t in (0, 30_000)]
    ingest_direct(ing, str(provider_kp.pubkey()), evs, T0)
    jobs = MeterJobs(engine, cfg, meter_kp, clock=lambda: BASE + W + cfg.grace_ms)
    # When the batch job runs once
    jobs.run_once(force_batch=True)
    # Then every receipt is in a batch of at most two, and each proof verifies against its own batch
    rows = receipts(engine)
    assert len(rows) == 5 and all(r.batch_id is not None for r in rows)
    sizes = {}
    for r in rows:
        sizes[r.batch_id] = sizes.get(r.batch_id, 0) + 1
    assert sorted(sizes.values()) == [1, 2, 2]
    with engine.connect() as c:
        for r in rows:
            b = batches.get_batch(c, r.batch_id)
            assert verify_proof(bytes(r.receipt_id), proof_for(c, b.id, r.batch_index), b.root)
