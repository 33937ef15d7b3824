"""The same meter on PostgreSQL: migrations, signed ingestion with dedup and 409, sealing, batches."""
import uuid

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from contracts.merkle import verify_proof
from contracts.receipt import Receipt
from db import make_engine, migrate
from meter_helpers import T0, Clock, EventFactory, Poster
from metering.api import create_app
from metering.batches import build_batch, proof_for
from metering.config import MeterConfig
from metering.read_client import SignedReader
from metering.receipts import Sealer
from metering.registry import add_provider

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(pg_url):
    schema = f"meter_{uuid.uuid4().hex[:12]}"  # a schema of the test's own: other tests share the database
    admin = make_engine(pg_url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    from sqlalchemy import create_engine
    e = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
    migrate(e)
    yield e
    e.dispose()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_meter_on_postgres(pg_engine, provider_kp, customer, customer_kp, meter_kp):
    clock = Clock()
    add_provider(pg_engine, str(provider_kp.pubkey()), clock())
    cfg = MeterConfig(window_ms=60_000, grace_ms=10_000)
    app = create_app(pg_engine, cfg, meter_kp, clock=clock)
    ev = EventFactory(provider_kp, customer)
    base = T0 - 10 * 60_000
    with TestClient(app) as client:
        poster = Poster(client, clock, provider_kp)
        evs = [ev.hb("L1", base + t, 4) for t in range(0, 150_001, 30_000)] + [ev.sample("b", base, 1 << 40),
                                                                           ev.sample("b", base + 120_000, 1 << 40)]
        r = poster.post(evs)
        assert r.status_code == 200 and r.json()["accepted"] == len(evs), r.text
        r = poster.post(evs[:2])
        assert [x["status"] for x in r.json()["results"]] == ["duplicate", "duplicate"]
        bad = ev.hb("L1", base, 5, eid=evs[0]["id"])
        assert poster.post([bad]).status_code == 409
        Sealer(pg_engine, cfg, meter_kp).seal_due(base + 4 * 60_000)
        b = build_batch(pg_engine, str(meter_kp.pubkey()), clock())
        assert b is not None and b.count == 3
        with pg_engine.connect() as c:
            rows = c.execute(text("SELECT receipt_id, encoding, batch_index FROM meter_receipts ORDER BY seq")).all()
            last = Receipt.decode(bytes(rows[-1].encoding))
            assert last.cum_gpu_ms == 4 * 150_000
            assert last.cum_byte_seconds == (1 << 40) * 120
            for r_ in rows:
                assert verify_proof(bytes(r_.receipt_id), proof_for(c, b.id, r_.batch_index), b.root)
        reader = SignedReader(keypair=customer_kp, http=client, clock=clock)
        body = reader.get("/v1/usage", params={"customer": customer, "start_ms": base, "end_ms": base + 240_000}).json()
        assert body["channels"][0]["lines"][0]["quantity"] == 4 * 150_000


def test_concurrent_identical_batches_on_postgres(pg_engine, provider_kp, customer):
    import threading

    from meter_helpers import ingest_direct
    from metering.ingest.service import Ingestor

    add_provider(pg_engine, str(provider_kp.pubkey()), T0)
    ing = Ingestor(pg_engine, MeterConfig())
    ev = EventFactory(provider_kp, customer)
    batch = [ev.hb(f"L{i % 5}", T0 - 60_000 + i) for i in range(200)]
    outs, errors = [], []

    def post():
        try:
            outs.append(ingest_direct(ing, str(provider_kp.pubkey()), batch, T0))
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(o.accepted for o in outs) == [0, 0, 0, 200]
    with pg_engine.connect() as c:
        assert c.execute(text("SELECT count(*) FROM usage_events")).scalar() == 200


def test_headroom_and_sealing_isolation_on_postgres(pg_engine, provider_kp, customer, meter_kp):
    """The headroom rows (locked FOR UPDATE) and the per-channel savepoints of sealing on PostgreSQL."""
    from solders.keypair import Keypair

    from metering.headroom import U64
    from metering.prices import publish_price_book
    from metering.rollup.pricing import DEFAULT_PRICE_BOOK, Price, PriceBook

    clock = Clock()
    add_provider(pg_engine, str(provider_kp.pubkey()), clock())
    cfg = MeterConfig(window_ms=60_000, grace_ms=10_000)
    a, b = EventFactory(provider_kp, customer), EventFactory(provider_kp, str(Keypair.from_seed(bytes([3]) * 32).pubkey()))
    with TestClient(create_app(pg_engine, cfg, meter_kp, clock=clock)) as client:
        poster = Poster(client, clock, provider_kp)
        assert poster.post([a.hb("LA", T0 - 50_000, cls="BIG"), a.hb("LA", T0 - 20_000, cls="BIG"),
                            b.hb("LB", T0 - 50_000), b.hb("LB", T0 - 20_000)]).status_code == 200
        big = PriceBook(2, gpu={**DEFAULT_PRICE_BOOK.gpu, "BIG": Price(U64, 1)}, storage=dict(DEFAULT_PRICE_BOOK.storage),
                        egress=dict(DEFAULT_PRICE_BOOK.egress))
        publish_price_book(pg_engine, big, T0 - 3_600_000, clock())
        r = poster.post([a.hb("LA", T0 - 10_000, cls="BIG")])
        # refused, nothing stored: LA's lease agreed to price book v1 (a new book needs a new lease), and the
        # new price would be the headroom ceiling besides
        assert r.status_code in (403, 422) and ("price book" in r.json()["error"] or "cum_amount" in r.json()["error"])
        rep = Sealer(pg_engine, cfg, meter_kp).seal_due(T0 + 10_001)
        assert rep.receipts == 1 and [f.customer for f in rep.failed] == [customer]
        with pg_engine.connect() as c:
            assert c.execute(text("SELECT count(*) FROM usage_events WHERE seal_id IS NULL")).scalar() == 2
