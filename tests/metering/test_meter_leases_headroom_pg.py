"""The PostgreSQL branches of the lease states (metering/leases.py: one locking SELECT, one UPDATE FROM
unnest) and of the headroom reservation (metering/headroom.py: three statements a batch): what they store
is what the SQLite paths store, a refused batch leaves both untouched, and replicas reserving the same
leases and channels in opposite orders wait for each other (ordered locks) instead of failing."""
import threading

import pytest
from alembic import command
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from sqlalchemy import text

from db import alembic_config, migrate
from meter_helpers import T0, Clock, EventFactory, Poster, ingest_direct
from metering.api import create_app
from metering.config import MeterConfig
from metering.events.limits import MAX_EGRESS_BYTES
from metering.headroom import U64
from metering.ingest.service import Ingestor
from metering.registry import add_provider
from metering.rollup.usage import EGRESS, GPU_HEARTBEAT, STORAGE_SAMPLE

pytestmark = pytest.mark.postgres

CFG = MeterConfig(window_ms=60_000, grace_ms=10_000, heartbeat_timeout_ms=90_000, sample_timeout_ms=600_000)


def _rows(engine, sql: str) -> list[tuple]:
    with engine.connect() as c:
        return [tuple(r) for r in c.execute(text(sql))]


def test_lease_states_and_channel_bounds_on_postgres(pg_schema, provider_kp):
    e = pg_schema()
    migrate(e)
    clock = Clock()
    add_provider(e, str(provider_kp.pubkey()), clock())
    a = EventFactory(provider_kp, str(Keypair.from_seed(bytes([2]) * 32).pubkey()))
    b = EventFactory(provider_kp, str(Keypair.from_seed(bytes([3]) * 32).pubkey()))
    with TestClient(create_app(e, CFG, Keypair.from_seed(bytes([7]) * 32), clock=clock)) as client:
        poster = Poster(client, clock, provider_kp)
        batch = [a.hb("LA1", T0 - 50_000, 4), a.hb("LA2", T0 - 40_000, 2), a.egress("LA1:net", T0 - 30_000, 1000),
                 b.hb("LB", T0 - 45_000, 8), b.sample("LS", T0 - 20_000, 5000), a.hb("LA1", T0 - 20_000, 4)]
        r = poster.post(batch)
        assert r.status_code == 200 and r.json()["accepted"] == len(batch), r.text
        assert _rows(e, "SELECT lease_id, last_event_ms, egress_bytes FROM meter_leases ORDER BY lease_id") == [
            ("LA1", T0 - 20_000, "1000"), ("LA2", T0 - 40_000, "0"), ("LB", T0 - 45_000, "0"), ("LS", T0 - 20_000, "0")]
        bounds = "SELECT customer, provider, family, rclass, total FROM meter_channel_bounds ORDER BY 1, 2, 3, 4"
        pk = str(provider_kp.pubkey())
        want = sorted([(a.customer, pk, GPU_HEARTBEAT, "H100", "10"), (a.customer, pk, EGRESS, "INTERNET", "1000"),
                       (b.customer, pk, GPU_HEARTBEAT, "H100", "8"), (b.customer, pk, STORAGE_SAMPLE, "STANDARD", "5000")])
        assert _rows(e, bounds) == want, _rows(e, bounds)
        # a later batch adds to both (an earlier event time does not move last_event_ms back)
        assert poster.post([a.hb("LA1", T0 - 60_000, 4), a.egress("LA1:net", T0 - 10_000, 24)]).status_code == 200
        assert _rows(e, "SELECT last_event_ms, egress_bytes FROM meter_leases WHERE lease_id = 'LA1'") == [
            (T0 - 10_000, "1024")]
        assert [r[4] for r in _rows(e, bounds) if r[0] == a.customer] == ["14", "1024"]
        # a batch with an event past u64 in one channel is refused whole: neither the leases nor the bounds move
        for k in range(3):  # 3 x 4096 x 2^50 = 3 x 2^62 egress bytes so far
            fill = [a.egress("LA1:net", T0 - 40_000 + k * 4096 + i, MAX_EGRESS_BYTES, eid=f"f{k}-{i}") for i in range(4096)]
            assert poster.post(fill).status_code == 200
        before = (_rows(e, "SELECT * FROM meter_leases ORDER BY lease_id"), _rows(e, bounds))
        over = [b.hb("LB", T0 - 5000, 8)] + [a.egress("LA1:net", T0 - 20_000 + i, MAX_EGRESS_BYTES, eid=f"x{i}")
                                             for i in range(4096)]
        r = poster.post(over)
        assert r.status_code == 422 and "cum_egress_bytes" in r.json()["error"] and str(U64) in r.json()["error"]
        assert (_rows(e, "SELECT * FROM meter_leases ORDER BY lease_id"), _rows(e, bounds)) == before


def test_replicas_locking_the_same_leases_in_opposite_orders_all_succeed(pg_schema, provider_kp):
    """Two replicas (engines of their own), each batch naming the same 40 leases and 4 channels in an order
    opposite to the other's: every batch is stored whole, none fails on a deadlock."""
    engines = [pg_schema(), pg_schema()]
    migrate(engines[0])
    add_provider(engines[0], str(provider_kp.pubkey()), T0)
    facts = [EventFactory(provider_kp, str(Keypair.from_seed(bytes([2 + c]) * 32).pubkey())) for c in range(4)]

    def batch(r: int, k: int) -> list[dict]:
        order = range(40) if (r + k) % 2 == 0 else range(39, -1, -1)
        return [facts[i % 4].hb(f"L{i}", T0 - 100_000 + 100 * k + i, eid=f"r{r}-{k}-{i}") for i in order]

    ingest_direct(Ingestor(engines[0], CFG), str(provider_kp.pubkey()), batch(9, 0), T0)  # leases signed once
    ings = [Ingestor(en, CFG) for en in engines]
    errors, accepted = [], []

    def replica(r: int) -> None:
        try:
            for k in range(1, 16):
                accepted.append(ingest_direct(ings[r], str(provider_kp.pubkey()), batch(r, k), T0,
                                              sign_leases=False).accepted)
        except Exception as ex:  # noqa: BLE001 - reported below
            errors.append(ex)

    threads = [threading.Thread(target=replica, args=(r,)) for r in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and accepted == [40] * 30
    assert _rows(engines[0], "SELECT total FROM meter_channel_bounds ORDER BY customer") == [("310",)] * 4


def test_lease_and_bounds_rows_are_updated_in_place_hot_by_migration_0440(pg_schema, provider_kp, customer):
    """Every request rewrites its leases' and channels' rows: with 0440's fillfactor the new versions stay on
    their pages (HOT, no index entries) so meter_leases does not grow with the number of requests; the
    downgrade takes the settings away."""
    e = pg_schema()
    migrate(e)
    opts = ("SELECT relname, reloptions FROM pg_class WHERE relname IN ('meter_leases', 'meter_channel_bounds') "
            "AND relnamespace = current_schema()::regnamespace ORDER BY relname")
    assert [(n, sorted(o)) for n, o in _rows(e, opts)] == [
        (n, ["autovacuum_vacuum_scale_factor=0", "autovacuum_vacuum_threshold=5000", "fillfactor=50"])
        for n in ("meter_channel_bounds", "meter_leases")]
    add_provider(e, str(provider_kp.pubkey()), T0)
    ing, ev = Ingestor(e, CFG), EventFactory(provider_kp, customer)
    ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb(f"L{i}", T0 - 100_000) for i in range(200)], T0)
    size = "SELECT pg_relation_size('meter_leases')"
    start = _rows(e, size)[0][0]
    for k in range(1, 11):  # 2,000 lease row versions: ~600 KB more if each went to a new page
        out = ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb(f"L{i}", T0 - 100_000 + k * 1000) for i in range(200)],
                            T0, sign_leases=False)
        assert out.accepted == 200
    assert _rows(e, size)[0][0] <= 2 * start, (start, _rows(e, size))
    e.dispose()
    command.downgrade(alembic_config(e), "0430_usage_evidence")
    assert _rows(e, opts) == [("meter_channel_bounds", None), ("meter_leases", None)]
