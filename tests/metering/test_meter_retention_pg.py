"""Retention of usage_events' day partitions (metering.retention): a partition with one unsealed or one
unsettled event is kept; a sealed and settled one is dropped with its dedup keys; and a key whose old
events are gone is billed exactly as if they were still there (the sealer starts from meter_key_base)."""
from __future__ import annotations

import json
import uuid

import pytest
from sqlalchemy import create_engine, text

from db import make_engine, migrate
from meter_helpers import T0, EventFactory, ingest_direct
from metering.config import MeterConfig
from metering.ingest.service import Ingestor
from metering.partitions import DAY_MS, ensure_partitions, partition_days, partition_name
from metering.receipts import Sealer
from metering.registry import add_provider
from metering.retention import drop_settled_partitions

pytestmark = pytest.mark.postgres
HOUR = 3_600_000
D0 = T0 // DAY_MS - 3  # three days before the clock: D0 and D0 + 1 are past the lateness bound at T0


@pytest.fixture
def pg_schema(pg_url):
    made, schemas = [], []
    admin = make_engine(pg_url)

    def engine():
        schema = f"ret_{uuid.uuid4().hex[:12]}"
        with admin.begin() as c:
            c.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        e = create_engine(pg_url, connect_args={"options": f"-csearch_path={schema}"})
        made.append(e)
        migrate(e)
        return e

    yield engine
    for e in made:
        e.dispose()
    with admin.begin() as c:
        for s in schemas:
            c.execute(text(f'DROP SCHEMA "{s}" CASCADE'))
    admin.dispose()


def _cfg() -> MeterConfig:
    return MeterConfig(window_ms=HOUR, grace_ms=0, heartbeat_timeout_ms=90_000, sample_timeout_ms=1_200_000)


def _history(e, provider_kp, customer, meter_kp) -> None:
    """Three days of a storage bucket sampled every 10 minutes and a lease heartbeating every 30 s,
    ingested and sealed hour by hour as the clock moves."""
    add_provider(e, str(provider_kp.pubkey()), D0 * DAY_MS)
    ev = EventFactory(provider_kp, customer)
    cfg = _cfg()
    ing, sealer = Ingestor(e, cfg), Sealer(e, cfg, meter_kp)
    ensure_partitions(e, D0 * DAY_MS, T0)
    for h in range(D0 * DAY_MS, T0 - 3 * HOUR, HOUR):
        batch = [ev.sample("b", t, (1 << 30) + (t // 600_000) % 7 * 4096) for t in range(h, h + HOUR, 600_000)]
        batch += [ev.hb("L2", t, 2) for t in range(h, h + HOUR, 30_000)]
        assert ingest_direct(ing, str(provider_kp.pubkey()), batch, h + HOUR).status_code == 200
        sealer.seal_due(h + HOUR + 1)


def _settled_all(e) -> dict:
    with e.connect() as c:
        return {(cu, pr): s for cu, pr, s in c.execute(text(
            "SELECT customer, provider, max(seq) FROM meter_receipts GROUP BY 1, 2"))}


def _late_sample_then_seal(e, provider_kp, customer, meter_kp):
    ev = EventFactory(provider_kp, customer)
    cfg = _cfg()
    late = [ev.sample("b", T0 - 5 * HOUR + 60_000, 1 << 40, eid="late-sample")]
    out = ingest_direct(Ingestor(e, cfg), str(provider_kp.pubkey()), late, T0)
    assert out.accepted == 1
    assert Sealer(e, cfg, meter_kp).seal_due(T0).late_events == 1
    with e.connect() as c:
        r = c.execute(text("SELECT seq, cum_amount, detail FROM meter_receipts ORDER BY seq DESC LIMIT 1")).one()
    d = json.loads(r.detail)
    return r.seq, r.cum_amount, d["lines"], d["gaps"]


def test_a_partition_with_one_unsealed_or_unsettled_event_is_kept(pg_schema, provider_kp, customer, meter_kp):
    e = pg_schema()
    _history(e, provider_kp, customer, meter_kp)
    settled = _settled_all(e)
    cfg = _cfg()
    # one unsettled receipt (the channel settled one short of the receipt of D0's last events): nothing goes
    (ch, _newest), = settled.items()
    with e.connect() as c:
        covering = c.execute(text(f'SELECT max(seq) FROM meter_receipts WHERE seal_id <= '
                                  f'(SELECT max(seal_id) FROM "{partition_name(D0)}")')).scalar()
    v = drop_settled_partitions(e, T0, cfg, settled=lambda _c: {ch: covering - 1})
    assert [x.drop for x in v] == [False] and "not settled" in v[0].reason
    # one unsealed event in the oldest partition: nothing goes
    with e.begin() as c:
        c.execute(text(f'UPDATE "{partition_name(D0)}" SET seal_id = NULL WHERE id = '
                       f'(SELECT min(id) FROM "{partition_name(D0)}")'))
    v = drop_settled_partitions(e, T0, cfg, settled=lambda _c: settled)
    assert [x.drop for x in v] == [False] and v[0].reason == "has unsealed events"
    with e.connect() as c:
        assert D0 in partition_days(c)
    with e.begin() as c:
        c.execute(text(f'UPDATE "{partition_name(D0)}" SET seal_id = 1 WHERE seal_id IS NULL'))
    # sealed and settled: the two days past the lateness bound go, oldest first, with their dedup keys
    v = drop_settled_partitions(e, T0, cfg, settled=lambda _c: settled)
    assert [(x.day, x.drop) for x in v] == [(D0, True), (D0 + 1, True), (D0 + 2, False)]
    assert v[-1].reason == "within the lateness bound"
    with e.connect() as c:
        assert D0 not in partition_days(c) and D0 + 1 not in partition_days(c)
        assert c.execute(text("SELECT count(*) FROM meter_event_keys WHERE t_ms < :t"),
                         {"t": (D0 + 2) * DAY_MS}).scalar() == 0
        assert c.execute(text("SELECT count(*) FROM meter_key_base")).scalar() == 2  # bucket b and lease L2


def test_a_key_with_dropped_events_is_billed_as_if_they_were_there(pg_schema, provider_kp, customer, meter_kp):
    """The same history in two databases; one drops its two oldest partitions. A late sample of the
    long-lived bucket then recomputes the bucket: the receipts agree exactly."""
    kept, dropped = pg_schema(), pg_schema()
    for e in (kept, dropped):
        _history(e, provider_kp, customer, meter_kp)
    v = drop_settled_partitions(dropped, T0, _cfg(), settled=lambda _c: _settled_all(dropped))
    assert sum(x.drop for x in v) == 2
    ref = _late_sample_then_seal(kept, provider_kp, customer, meter_kp)
    got = _late_sample_then_seal(dropped, provider_kp, customer, meter_kp)
    assert got == ref
    assert any(line["adjustment"] for line in ref[2])  # the late sample really changed the bucket's usage
