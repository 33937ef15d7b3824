"""The dedup rule on both write paths (SQLite's insert-first with ON CONFLICT DO NOTHING, PostgreSQL's COPY
into a staging table and ON CONFLICT on meter_event_keys) against the rule itself: on random mixes of new
events, stored duplicates, stored conflicts and repeats inside the batch, both give the rule's per-event
outcome, and what is stored afterwards is exactly the accepted events (nothing at all when a conflict
refuses the batch)."""
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from meter_helpers import T0, ingest_direct
from metering.ingest.service import Ingestor
from metering.models import UsageEvent
from metering.registry import add_provider

UE = UsageEvent.__table__
_ns = itertools.count()


def _stored(engine, prefix):
    with engine.connect() as c:
        return dict(c.execute(select(UE.c.event_id, UE.c.value).where(UE.c.event_id.like(f"{prefix}%"))).all())


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request, engine, provider_kp):
    """The meter's database on either backend (PostgreSQL: migrated, so usage_events is partitioned)."""
    if request.param == "sqlite":
        yield engine
        return
    from sqlalchemy import create_engine

    from db import make_engine, migrate
    url = request.getfixturevalue("pg_url")
    schema = f"dedup_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{schema}"'))
    e = create_engine(url, connect_args={"options": f"-csearch_path={schema}"})
    migrate(e)
    add_provider(e, str(provider_kp.pubkey()), T0)
    yield e
    e.dispose()
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _rule(pre: list[int], batch: list[tuple[int, int]]) -> list[str]:
    """The dedup rule: (source, id) stored with the same payload is a duplicate, with another a conflict;
    inside a batch the first event with an id is the one stored and later ones are compared with it."""
    seen = {i: 1 for i in pre}
    out = []
    for i, c in batch:
        if i not in seen:
            seen[i] = c
            out.append("accepted")
        else:
            out.append("duplicate" if seen[i] == c else "conflict")
    return out


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(pre=st.lists(st.integers(0, 5), max_size=4, unique=True),
       batch=st.lists(st.tuples(st.integers(0, 7), st.sampled_from([1, 1, 1, 2])), min_size=1, max_size=12))
def test_both_write_paths_follow_the_dedup_rule(store, cfg, ev, provider_kp, pre, batch):
    """`pre`: ids stored beforehand (count 1); `batch`: (id, gpu count) pairs, a count of 2 on a stored or
    repeated id is a conflicting payload."""
    p = f"n{next(_ns)}-"
    evt = lambda i, count: ev.hb("L1", T0 - 60_000 + i, count=count, eid=f"{p}{i}")  # noqa: E731
    ing = Ingestor(store, cfg)
    pk = str(provider_kp.pubkey())
    if pre:
        assert ingest_direct(ing, pk, [evt(i, 1) for i in pre], T0).status_code == 200
    ref = _rule(pre, batch)
    out = ingest_direct(ing, pk, [evt(i, c) for i, c in batch], T0)
    if "conflict" in ref:
        assert out.status_code == 409
        assert [r.status for r in out.results] == [("conflict" if r == "conflict" else "valid") for r in ref]
        assert _stored(store, p) == {f"{p}{i}": 1 for i in pre}
    else:
        assert out.status_code == 200
        assert [r.status for r in out.results] == ref
        expect = {f"{p}{i}": 1 for i in pre}
        for (i, c), r in zip(batch, ref):
            if r == "accepted":
                expect[f"{p}{i}"] = c
        assert _stored(store, p) == expect


def test_conflict_inside_one_batch(store, cfg, ev, provider_kp):
    ing = Ingestor(store, cfg)
    a = ev.hb("L1", T0 - 5000, eid="same")
    b = ev.hb("L1", T0 - 5000, count=3, eid="same")
    out = ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb("L2", T0 - 1000), a, b], T0)
    assert out.status_code == 409 and [r.status for r in out.results] == ["valid", "valid", "conflict"]
    with store.connect() as c:
        assert c.execute(select(func.count()).select_from(UE)).scalar() == 0


def test_wal_is_checkpointed_off_the_request_path(tmp_path, cfg, ev, provider_kp):
    """The ingest connection does not checkpoint (threshold raised); the background checkpointer copies the
    committed WAL into the database file soon after the request."""
    import os
    import time

    from db import make_engine, migrate
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
