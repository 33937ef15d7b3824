"""meter_usage_keys: the migration backfills keys from stored events, ingestion records each key once, and
a customer's events are found through its keys without ever returning another customer's events."""
import time

from sqlalchemy import inspect, select

from db import make_engine, migrate
from meter_helpers import EventFactory, ingest_direct
from metering.ingest.rows import ROW_COLS, insert_rows, to_row
from metering.models import UsageEvent, UsageKey, dedup_key, key_hash
from metering.queries import customer_events
from metering.rollup.usage import FAMILY

UE, UK = UsageEvent.__table__, UsageKey.__table__
A = "4yCvCumrTMguA31fHcDAUieoyUsAtQwMMgyp1LPCkCnq"
B = "11111111111111111111111111111112"
PROV = "Vote111111111111111111111111111111111111111"


def _row(i: int, customer: str, kind: int, resource: str, kh: int | None = None):
    from metering.events import ValidEvent

    e = ValidEvent(f"/providers/{PROV}", f"e{i}", kind, customer, PROV, resource, "H100", 1, 1_000 + i, "{}", b"\0" * 32)
    return to_row(e, dedup_key(e.source, e.event_id),
                  key_hash(PROV, customer, FAMILY[kind], resource) if kh is None else kh, 5)


def test_migration_backfills_keys_and_drops_the_per_event_customer_index(tmp_path):
    # Given a database at the revision before meter_usage_keys, with events of two customers (a GPU lease
    # with a heartbeat and a stop, which are one key, and a bucket)
    e = make_engine(f"sqlite:///{tmp_path / 'm.db'}")
    migrate(e, "0100_ledger")
    with e.begin() as c:
        insert_rows(c, [_row(1, A, 1, "L1"), _row(2, A, 2, "L1"), _row(3, B, 3, "bk")], ROW_COLS[:-1])
    # When it is migrated to head
    migrate(e)
    # Then every key is there once, with its events' key hash, and the customer index is gone
    with e.connect() as c:
        keys = sorted(c.execute(select(UK.c.customer, UK.c.provider, UK.c.family, UK.c.resource, UK.c.key_hash)).all())
    assert keys == sorted([(A, PROV, 1, "L1", key_hash(PROV, A, 1, "L1")), (B, PROV, 3, "bk", key_hash(PROV, B, 3, "bk"))])
    assert "ix_usage_events_customer" not in {i["name"] for i in inspect(e).get_indexes("usage_events")}
    e.dispose()


def test_ingestion_records_each_key_once(engine, cfg, provider_kp, customer):
    from metering.ingest.service import Ingestor
    from metering.registry import add_provider

    now = int(time.time() * 1000)
    add_provider(engine, str(provider_kp.pubkey()), now)
    ing, f = Ingestor(engine, cfg), EventFactory(provider_kp, customer)
    # Given two requests for the same lease and bucket, through two ingestors (two processes' caches)
    for k, i in enumerate((ing, Ingestor(engine, cfg), ing)):
        out = ingest_direct(i, str(provider_kp.pubkey()), [f.hb("L1", now - 3_000 + k), f.sample("bk", now - 3_000 + k, 10)], now)
        assert out.status_code == 200 and out.accepted == 2
    # Then the keys table holds each key once
    with engine.connect() as c:
        assert sorted(c.execute(select(UK.c.family, UK.c.resource)).all()) == [(1, "L1"), (3, "bk")]


def test_a_colliding_key_hash_never_returns_another_customers_events(engine):
    # Given customer B's event stored under the key hash of customer A's lease (a 64-bit collision)
    kh = key_hash(PROV, A, 1, "L1")
    with engine.begin() as c:
        insert_rows(c, [_row(1, A, 1, "L1"), _row(2, B, 1, "L1", kh=kh)], ROW_COLS[:-1])
        c.execute(UK.insert(), [dict(customer=A, provider=PROV, family=1, resource="L1", key_hash=kh),
                                dict(customer=B, provider=PROV, family=1, resource="L1", key_hash=kh)])
    # When each customer's events are read
    with engine.connect() as c:
        got = {cust: [r.event_id for r in c.execute(customer_events(cust, None, 0, 10_000))] for cust in (A, B)}
        only_prov = [r.event_id for r in c.execute(customer_events(A, PROV, 0, 10_000))]
        other_prov = [r.event_id for r in c.execute(customer_events(A, B, 0, 10_000))]
    # Then each gets exactly its own, and a provider filter applies
    assert got == {A: ["e1"], B: ["e2"]}
    assert only_prov == ["e1"] and other_prov == []
