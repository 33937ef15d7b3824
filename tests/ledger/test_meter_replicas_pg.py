"""Two meter replicas on one PostgreSQL database (migrated: partitioned usage_events), against the real
localnet: each ingests usage and runs every meter job (seal, carry over, batch) in a loop while two
settlement-engine replicas run theirs (post batches, settle, ...), all at once. Every event is sealed
once, every channel's receipts are seq 1..n with no gap or twin, every receipt is in one batch, every
batch is posted once and every channel settled exactly what its newest receipt says."""
from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from db import make_session_factory, migrate
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.engine.service import JobSpec, Service
from ledger_helpers import MeterSim, start_node
from metering.config import MeterConfig
from metering.models import Batch, ReceiptRow, Seal, UsageEvent
from metering.service import MeterJobs
from test_crash_recovery import check_invariants
from test_service import FAST, PROGRAM, _wait

pytestmark = pytest.mark.postgres
RR, BT, SE, UE = ReceiptRow.__table__, Batch.__table__, Seal.__table__, UsageEvent.__table__



def test_two_meter_replicas_run_every_job_at_once_exactly_once(pg_schema, tmp_path):
    from ledger.ops.bootstrap import bootstrap
    from ledger.ops.deployment import InitParams

    db = pg_schema()
    migrate(db)
    sf = make_session_factory(db)
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        w = bootstrap(chain, program_id=PROGRAM, n_providers=2, n_customers=2, wallet_tokens=1_000 * 10**6,
                      stake=10**6, deposit=500 * 10**6, params=InitParams(fee_bps=200, burn_bps=100))
        cfg = MeterConfig(program_id=DEFAULT_PROGRAM_ID, window_ms=60_000, grace_ms=0)
        replicas = [pg_schema() for _ in range(2)]  # own engines: own connections, as two processes
        sims = [MeterSim(e, w.meter, DEFAULT_PROGRAM_ID) for e in replicas]
        jobs = [MeterJobs(e, cfg, w.meter, clock=lambda: int(time.time() * 1000)) for e in replicas]
        stop = threading.Event()
        errors: list[BaseException] = []
        runs = [0, 0]

        def meter_replica(i: int) -> None:
            while not stop.is_set():
                try:
                    jobs[i].run_once(force_batch=True)
                    runs[i] += 1
                except BaseException as e:  # noqa: BLE001 - every failure is asserted on below
                    errors.append(e)

        active: dict[str, int] = {}
        peak: dict[str, int] = {}
        lock = threading.Lock()

        def guarded(name, fn):
            def run(lease):
                with lock:
                    active[name] = active.get(name, 0) + 1
                    peak[name] = max(peak.get(name, 0), active[name])
                try:
                    return fn(lease)
                finally:
                    with lock:
                        active[name] -= 1
            return run

        engines, services = [], []
        for i in range(2):
            eng = Engine(sf, RpcChain(node.rpc_url), BillingProgram(PROGRAM), payer=w.admin, meter=w.meter,
                         intervals_ms=FAST)
            services.append(Service(sf, [JobSpec(s.name, s.interval_ms, guarded(s.name, s.fn)) for s in eng.job_specs()],
                                    holder=f"engine-{i}"))
            engines.append(eng)
        threads = [threading.Thread(target=meter_replica, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for s in services:
            s.start(poll_s=0.03)
        try:
            base = (int(time.time() * 1000) - 6 * 3_600_000) // 60_000 * 60_000
            for r in range(4):  # usage keeps arriving through both replicas while the jobs run
                for pi, p in enumerate(w.providers):
                    for ci, c in enumerate(w.customers):
                        sim = sims[(r + pi + ci) % 2]
                        sim._registered = sims[0]._registered  # one registry row per provider
                        out = sim.heartbeats(p, c, f"l-{r}-{pi}-{ci}", base + r * 600_000, 10,
                                             now_ms=int(time.time() * 1000))
                        assert out.status_code == 200 and out.accepted == 10
                time.sleep(0.2)  # let the jobs interleave with ingestion (not for correctness)

            def done() -> bool:
                with db.connect() as c:
                    if c.execute(select(func.count()).select_from(UE).where(UE.c.seal_id.is_(None))).scalar() or \
                            c.execute(select(func.count()).select_from(RR).where(RR.c.batch_id.is_(None))).scalar():
                        return False
                    newest = c.execute(select(RR.c.customer, RR.c.provider, func.max(RR.c.seq))
                                       .group_by(RR.c.customer, RR.c.provider)).all()
                confirmed = {i.key for i in engines[0].intents.all("settle") if i.state == "confirmed"}
                return bool(newest) and all(f"settle:{c}:{p}:{s}" in confirmed for c, p, s in newest)
            _wait(done, timeout_s=180, what="every channel settled through its newest receipt")
        finally:
            stop.set()
            for t in threads:
                t.join()
            for s in services:
                s.shutdown()
        for _ in range(20):
            if engines[0].follow_chain() == 0:
                break
        assert errors == [], errors[:3]
        assert min(runs) > 0, runs  # both replicas really ran the jobs
        assert peak and max(peak.values()) == 1, peak
        with db.connect() as c:
            n_events = c.execute(select(func.count()).select_from(UE)).scalar()
            assert n_events == 4 * 2 * 2 * 10
            assert c.execute(select(func.sum(SE.c.events))).scalar() == n_events  # each event sealed once
            seqs: dict[tuple, list[int]] = {}
            for cu, pr, seq in c.execute(select(RR.c.customer, RR.c.provider, RR.c.seq).order_by(RR.c.seq)):
                seqs.setdefault((cu, pr), []).append(seq)
            assert len(seqs) == 4 and all(s == list(range(1, len(s) + 1)) for s in seqs.values()), seqs
            batches = c.execute(select(BT.c.id, BT.c.count, BT.c.posted_signature)).all()
            for bid, count, _sig in batches:
                idx = sorted(r[0] for r in c.execute(select(RR.c.batch_index).where(RR.c.batch_id == bid)))
                assert idx == list(range(count))
        posts = engines[0].intents.all("post_batch")
        assert sorted(int(i.key.split(":")[1]) for i in posts if i.state == "confirmed") == sorted(b[0] for b in batches)
        settles = engines[0].intents.all("settle")
        assert len({i.key for i in settles}) == len(settles) and all(i.state == "confirmed" for i in settles)
        check_invariants(sf, chain, engines[0], w)
    finally:
        node.stop()
