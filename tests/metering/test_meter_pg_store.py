"""PostgreSQL as the production store: the COPY / ON CONFLICT write path, day partitions of usage_events,
the dedup rule across partitions and across meter replicas, and migration 0420 over existing events."""
from __future__ import annotations

import json
import threading

import pytest
from sqlalchemy import text

from db import migrate
from meter_helpers import T0, EventFactory, ingest_direct
from metering.config import MeterConfig
from metering.ingest.parse import parse_body
from metering.ingest.rows import ROW_COLS, insert_rows, to_row
from metering.ingest.service import Ingestor
from metering.models import dedup_key, key_hash
from metering.partitions import AHEAD_DAYS, DAY_MS, ensure_ahead, partition_days
from metering.registry import add_provider
from metering.rollup.usage import FAMILY

pytestmark = pytest.mark.postgres



@pytest.fixture
def pg(pg_schema, provider_kp):
    e = pg_schema()
    migrate(e)
    add_provider(e, str(provider_kp.pubkey()), T0)
    return e


def _count(e, sql: str) -> int:
    with e.connect() as c:
        return c.execute(text(sql)).scalar()


def test_events_land_in_day_partitions_made_on_demand(pg, provider_kp, customer):
    ev = EventFactory(provider_kp, customer)
    with pg.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('usage_events')")).scalar() == "p"
        assert partition_days(c) == set()
    midnight = T0 // DAY_MS * DAY_MS
    batch = [ev.hb("L1", midnight - 30_000), ev.hb("L1", midnight + 30_000)]  # two days, no partition yet
    out = ingest_direct(Ingestor(pg, MeterConfig()), str(provider_kp.pubkey()), batch, T0)
    assert out.status_code == 200 and out.accepted == 2
    with pg.connect() as c:
        assert partition_days(c) == {midnight // DAY_MS - 1, midnight // DAY_MS}
        per_part = dict(c.execute(text("SELECT tableoid::regclass::text, count(*) FROM usage_events GROUP BY 1")).all())
    assert sorted(per_part.values()) == [1, 1] and all(n.startswith("usage_events_p") for n in per_part)
    assert _count(pg, "SELECT count(*) FROM meter_event_keys") == 2


def test_the_job_makes_partitions_ahead_and_is_idempotent(pg):
    lateness = MeterConfig().limits.lateness_bound_ms
    made = ensure_ahead(pg, T0, lateness)
    days = set(range((T0 - lateness) // DAY_MS, (T0 + AHEAD_DAYS * DAY_MS) // DAY_MS + 1))
    with pg.connect() as c:
        assert partition_days(c) == days
    assert len(made) == len(days) and ensure_ahead(pg, T0, lateness) == []
    # two replicas at once: the advisory lock makes one create and the other find them
    results, errors = [], []

    def run():
        try:
            results.append(ensure_ahead(pg, T0 + 5 * DAY_MS, lateness))
        except Exception as e:  # noqa: BLE001 - asserted below
            errors.append(e)
    ts = [threading.Thread(target=run) for _ in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    new = set(range((T0 + 5 * DAY_MS - lateness) // DAY_MS, (T0 + (5 + AHEAD_DAYS) * DAY_MS) // DAY_MS + 1)) - days
    assert errors == [] and sorted(len(r) for r in results) == [0, len(new)]
    with pg.connect() as c:
        assert partition_days(c) == days | new


def test_a_conflicting_replay_in_another_partition_is_409(pg, provider_kp, customer):
    """The dedup key is unique across partitions: the same (source, id) with another time (another day,
    another partition) is a conflict, and nothing of its batch is written."""
    ev = EventFactory(provider_kp, customer)
    ing = Ingestor(pg, MeterConfig())
    first = ev.hb("L1", T0 - 20 * 3_600_000, eid="same-id")
    assert ingest_direct(ing, str(provider_kp.pubkey()), [first], T0).accepted == 1
    replay = ev.hb("L1", T0 - 60_000, eid="same-id")  # another day
    out = ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb("L2", T0 - 1000), replay], T0)
    assert out.status_code == 409 and [r.status for r in out.results] == ["valid", "conflict"]
    assert _count(pg, "SELECT count(*) FROM usage_events") == 1
    assert _count(pg, "SELECT count(*) FROM meter_event_keys") == 1
    again = ingest_direct(ing, str(provider_kp.pubkey()), [first, ev.hb("L2", T0 - 1000)], T0)
    assert [r.status for r in again.results] == ["duplicate", "accepted"]


def test_duplicates_within_one_batch(pg, provider_kp, customer):
    ev = EventFactory(provider_kp, customer)
    ing = Ingestor(pg, MeterConfig())
    a = ev.hb("L1", T0 - 60_000)
    out = ingest_direct(ing, str(provider_kp.pubkey()), [a, ev.hb("L1", T0 - 30_000), a], T0)
    assert [r.status for r in out.results] == ["accepted", "accepted", "duplicate"] and out.accepted == 2
    b = ev.hb("L3", T0 - 60_000)
    b2 = ev.hb("L3", T0 - 60_000, count=2, eid=b["id"])
    out = ingest_direct(ing, str(provider_kp.pubkey()), [b, b2], T0)
    assert out.status_code == 409 and [r.status for r in out.results] == ["valid", "conflict"]
    assert _count(pg, "SELECT count(*) FROM usage_events") == 2


def test_two_replicas_ingest_overlapping_batches_at_once(pg_schema, pg, provider_kp, customer):
    """Two meter replicas (own engines, own Ingestors) post batches that overlap in opposite orders: every
    event is stored once, accepted exactly once over both, no deadlock, no error."""
    ev = EventFactory(provider_kp, customer)
    events = [ev.hb(f"L{i % 7}", T0 - 3_000_000 + i * 10) for i in range(3000)]
    batches = [events[k:k + 500] for k in range(0, 3000, 250)]  # each event in two batches
    replicas = [Ingestor(pg_schema(), MeterConfig()) for _ in range(2)]
    accepted, errors = [], []

    def run(ing, order):
        try:
            for b in order:
                out = ingest_direct(ing, str(provider_kp.pubkey()), b, T0)
                assert out.status_code == 200
                accepted.append(out.accepted)
        except Exception as e:  # noqa: BLE001 - asserted below
            errors.append(e)
    ts = [threading.Thread(target=run, args=(replicas[0], batches)),
          threading.Thread(target=run, args=(replicas[1], [list(reversed(b)) for b in reversed(batches)]))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert errors == []
    assert sum(accepted) == 3000
    assert _count(pg, "SELECT count(*) FROM usage_events") == 3000
    assert _count(pg, "SELECT count(DISTINCT dedup_key) FROM usage_events") == 3000
    assert _count(pg, "SELECT count(*) FROM meter_event_keys") == 3000


def test_migration_moves_existing_events_into_partitions_and_back(pg_schema, provider_kp, customer):
    e = pg_schema()
    migrate(e, "0300_sealed_key_index")
    add_provider(e, str(provider_kp.pubkey()), T0)
    ev = EventFactory(provider_kp, customer)
    # events as a meter before 0420 stored them (its write path needs meter_event_keys, which is 0420's)
    items = parse_body(json.dumps([ev.hb("L1", T0 - 23 * 3_600_000 + i * 3_600_000) for i in range(23)]).encode(),
                       batch=True, max_batch=100, max_body_bytes=1 << 20)
    with e.begin() as c:
        insert_rows(c, [to_row(i, dedup_key(i.source, i.event_id),
                               key_hash(i.provider, i.customer, FAMILY[i.kind], i.resource), T0) for i in items],
                    ROW_COLS[:-1])
    with e.connect() as c:
        before = c.execute(text("SELECT id, dedup_key, t_ms, body FROM usage_events ORDER BY id")).all()
    e.dispose()
    migrate(e)
    with e.connect() as c:
        assert c.execute(text("SELECT id, dedup_key, t_ms, body FROM usage_events ORDER BY id")).all() == before
        assert len(partition_days(c)) == 2
        assert c.execute(text("SELECT count(*) FROM meter_event_keys")).scalar() == 23
    e.dispose()
    out = ingest_direct(Ingestor(e, MeterConfig()), str(provider_kp.pubkey()),
                        [ev.hb("L1", T0 - 23 * 3_600_000), ev.hb("L1", T0 - 1000)], T0)
    assert [r.status for r in out.results] == ["duplicate", "accepted"]
    with e.connect() as c:
        assert c.execute(text("SELECT max(id) FROM usage_events")).scalar() == before[-1].id + 1  # ids continue
    e.dispose()
    from alembic import command

    from db import alembic_config
    command.downgrade(alembic_config(e), "0300_sealed_key_index")
    with e.connect() as c:
        assert c.execute(text("SELECT relkind FROM pg_class WHERE oid = to_regclass('usage_events')")).scalar() == "r"
        assert c.execute(text("SELECT count(*) FROM usage_events")).scalar() == 24


def test_replicas_close_batches_one_at_a_time(pg, pg_schema, provider_kp, customer, meter_kp):
    """A replica closing a batch holds the meter state row: another replica's build_batch waits for it and
    then numbers its batch after it (without the lock both take max(id) + 1 and one fails)."""
    from metering.batches import build_batch
    from metering.models import Batch
    from metering.receipts import Sealer, lock_state

    ev = EventFactory(provider_kp, customer)
    cfg = MeterConfig(window_ms=60_000, grace_ms=0)
    ingest_direct(Ingestor(pg, cfg), str(provider_kp.pubkey()), [ev.hb("L1", T0 - 300_000 + i * 30_000) for i in range(8)], T0)
    assert Sealer(pg, cfg, meter_kp).seal_due(T0).receipts > 0
    other = pg_schema()
    result, errors = [], []
    with pg.connect() as a:
        tx = a.begin()
        lock_state(a)  # replica A is closing batch 1
        a.execute(Batch.__table__.insert().values(id=1, root=bytes(32), count=0, total=0, created_ms=T0,
                                                  meter_pubkey=str(meter_kp.pubkey())))

        def replica_b():
            try:
                result.append(build_batch(other, str(meter_kp.pubkey()), T0))
            except Exception as e:  # noqa: BLE001 - asserted below
                errors.append(e)
        t = threading.Thread(target=replica_b)
        t.start()
        with pg.connect() as watch:  # B is waiting for a lock held by A (a condition, not a sleep)
            for _ in range(100_000):
                waiting = watch.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                             "AND datname = current_database()")).scalar()
                watch.rollback()  # a new snapshot of pg_stat_activity each time
                if waiting:
                    break
            else:
                raise AssertionError("replica B never waited for replica A")
        tx.commit()
    t.join()
    assert errors == [] and result[0] is not None and result[0].id == 2


def test_the_meter_jobs_make_the_partitions(pg, meter_kp):
    from metering.service import MeterJobs

    cfg = MeterConfig(window_ms=60_000, grace_ms=0)
    MeterJobs(pg, cfg, meter_kp, clock=lambda: T0).run_once()
    lateness = cfg.limits.lateness_bound_ms
    with pg.connect() as c:
        assert partition_days(c) == set(range((T0 - lateness) // DAY_MS, (T0 + AHEAD_DAYS * DAY_MS) // DAY_MS + 1))
