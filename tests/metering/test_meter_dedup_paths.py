"""SQLite's insert-first dedup (INSERT ... ON CONFLICT DO NOTHING, look-ups only when some insert did
nothing) against the look-up-first path PostgreSQL uses: on random mixes of new events, stored duplicates,
stored conflicts and repeats inside the batch, both give the same per-event outcome, and what is stored
afterwards is exactly the accepted events (nothing at all when a conflict refuses the batch)."""
import itertools

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from meter_helpers import T0, ingest_direct
from metering.ingest import Ingestor, insert_rows, parse_body
from metering.models import UsageEvent

UE = UsageEvent.__table__
_ns = itertools.count()


def _stored(engine, prefix):
    with engine.connect() as c:
        return dict(c.execute(select(UE.c.event_id, UE.c.value).where(UE.c.event_id.like(f"{prefix}%"))).all())


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(pre=st.lists(st.integers(0, 5), max_size=4, unique=True),
       batch=st.lists(st.tuples(st.integers(0, 7), st.sampled_from([1, 1, 1, 2])), min_size=1, max_size=12))
def test_insert_first_dedup_matches_lookup_first(engine, cfg, ev, provider_kp, pre, batch):
    """`pre`: ids stored beforehand (count 1); `batch`: (id, gpu count) pairs, a count of 2 on a stored or
    repeated id is a conflicting payload."""
    p = f"n{next(_ns)}-"
    evt = lambda i, count: ev.hb("L1", T0 - 60_000 + i, count=count, eid=f"{p}{i}")  # noqa: E731
    ing = Ingestor(engine, cfg)
    pk = str(provider_kp.pubkey())
    if pre:
        assert ingest_direct(ing, pk, [evt(i, 1) for i in pre], T0).status_code == 200
    events = [evt(i, c) for i, c in batch]
    items = parse_body(__import__("json").dumps(events).encode(), batch=True, max_batch=100, max_body_bytes=1 << 20)
    with engine.connect() as conn:  # the look-up-first path, rolled back
        with conn.begin() as tx:
            ref, rows = ing._dedup(conn, items, *ing._prepare(items, T0))
            if rows:
                insert_rows(conn, rows)
            tx.rollback()
    out = ingest_direct(ing, pk, events, T0)
    conflict = any(r.status == "conflict" for r in ref)
    if conflict:
        assert out.status_code == 409
        assert [r.status for r in out.results] == [("conflict" if r.status == "conflict" else "valid") for r in ref]
        assert _stored(engine, p) == {f"{p}{i}": 1 for i in pre}
    else:
        assert out.status_code == 200
        assert [r.status for r in out.results] == [r.status for r in ref]
        expect = {f"{p}{i}": 1 for i in pre}
        for (i, c), r in zip(batch, ref):
            if r.status == "accepted":
                expect[f"{p}{i}"] = c
        assert _stored(engine, p) == expect


def test_conflict_inside_one_batch(engine, cfg, ev, provider_kp):
    ing = Ingestor(engine, cfg)
    a = ev.hb("L1", T0 - 5000, eid="same")
    b = ev.hb("L1", T0 - 5000, count=3, eid="same")
    out = ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb("L2", T0 - 1000), a, b], T0)
    assert out.status_code == 409 and [r.status for r in out.results] == ["valid", "valid", "conflict"]
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(UE)).scalar() == 0


def test_wal_is_checkpointed_off_the_request_path(tmp_path, cfg, ev, provider_kp):
    """The ingest connection does not checkpoint (threshold raised); the background checkpointer copies the
    committed WAL into the database file soon after the request."""
    import os
    import time

    from ledger.db import make_engine, migrate
    from metering.registry import add_provider

    db = tmp_path / "wal.db"
    engine = make_engine(f"sqlite:///{db}")
    migrate(engine)
    add_provider(engine, str(provider_kp.pubkey()), T0)
    import sqlite3

    engine.dispose()
    raw = sqlite3.connect(db)  # start from an empty WAL (outside SQLAlchemy's BEGIN IMMEDIATE)
    raw.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    raw.close()
    size0 = os.path.getsize(db)
    ing = Ingestor(engine, cfg)
    out = ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb(f"L{i % 5}", T0 - 50_000 + i) for i in range(300)], T0)
    assert out.accepted == 300
    deadline = time.monotonic() + 30
    while os.path.getsize(db) <= size0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert os.path.getsize(db) > size0, "the committed rows never reached the database file"
    with engine.connect() as c:
        assert c.execute(select(func.count()).select_from(UE)).scalar() == 300
    engine.dispose()
