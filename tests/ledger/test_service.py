"""The engine as a service on APScheduler against the real localnet: an RPC outage makes the jobs back off
and they catch up once the chain is back; several replicas on one database run each job one at a time
and settle everything exactly once."""
from __future__ import annotations

import threading
import time

from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.engine.service import JobSpec, Service
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams

from ledger_helpers import MeterSim, start_node
from test_crash_recovery import check_invariants

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
FAST = {"follow_chain": 100, "accrue_receipts": 100, "post_batches": 100, "settle_channels": 100, "top_up": 500,
        "fund_epochs": 500, "apply_pauses": 200, "reconcile": 300}


def _world(node, engine, n_usage_rounds=1):
    chain = RpcChain(node.rpc_url)
    w = bootstrap(chain, program_id=PROGRAM, n_providers=2, n_customers=2, wallet_tokens=1_000 * 10**6,
                  stake=10**6, deposit=500 * 10**6, params=InitParams(fee_bps=200, burn_bps=100))
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    base = (int(time.time() * 1000) - 6 * 3_600_000) // 60_000 * 60_000
    for r in range(n_usage_rounds):
        for pi, p in enumerate(w.providers):
            for ci, c in enumerate(w.customers):
                meter.heartbeats(p, c, f"l-{r}-{pi}-{ci}", base + r * 600_000, 10)
        meter.seal_and_batch(base + r * 600_000 + 8 * 60_000)
    return chain, w


def _wait(cond, timeout_s=60.0, what="condition"):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _all_settled(eng) -> bool:
    try:
        return not eng.intents.open() and eng.intents.counts().get("confirmed", 0) >= 5 and \
            eng.reconcile().ok and eng.follow_chain() == 0
    except Exception:
        return False


def test_an_rpc_outage_backs_off_and_the_jobs_catch_up(engine, session_factory, tmp_path):
    node = start_node(tmp_path / "chain")
    chain, w = _world(node, engine)
    port, ws, ledger_dir = node.port, node.ws_port, node.ledger_dir
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter, intervals_ms=FAST)
    svc = Service(session_factory, eng.job_specs(), backoff_base_ms=200, backoff_cap_ms=1_000)
    svc.start(poll_s=0.05)
    node2 = None
    try:
        _wait(lambda: _all_settled(eng), what="the first round to settle")
        first = eng.intents.counts().get("confirmed", 0)
        node.stop()  # the cluster goes away mid-run ...
        meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)  # ... while the meter keeps issuing receipts
        base = (int(time.time() * 1000) - 2 * 3_600_000) // 60_000 * 60_000
        for pi, p in enumerate(w.providers):
            for ci, c in enumerate(w.customers):
                meter.heartbeats(p, c, f"late-{pi}-{ci}", base, 10)
        meter.seal_and_batch(base + 8 * 60_000)
        _wait(lambda: any(l.failures >= 2 for l in svc.leases.status() if l.name == "follow_chain"),
              what="failures to be recorded")
        status = {l.name: l for l in svc.leases.status()}
        assert "unreachable" in status["follow_chain"].last_error
        assert status["accrue_receipts"].failures == 0  # jobs that need no chain keep running
        assert status["follow_chain"].next_due_ms > status["follow_chain"].last_run_ms  # backing off
        node2 = start_node(ledger_dir, port=port, ws_port=ws)  # the cluster is back, same URL
        try:
            _wait(lambda: _all_settled(eng) and eng.intents.counts().get("confirmed", 0) >= first + 5,
                  what="settlement after the outage")
        except AssertionError as e:  # say what the engine was doing
            raise AssertionError(f"{e}: first {first}, intents {eng.intents.counts()}, jobs "
                                 f"{[(l.name, l.failures, l.last_error[:160]) for l in svc.leases.status()]}, last "
                                 f"{[(i.key[:40], i.state, i.error[:100]) for i in eng.intents.all()][-6:]}") from None
        assert all(l.failures == 0 for l in svc.leases.status() if l.name in ("settle_channels", "follow_chain"))
    finally:
        svc.shutdown()
        if node2:
            check_invariants(session_factory, chain, eng, type("W", (), {"customers": w.customers})())
            node2.stop()


def test_replicas_on_one_database_run_each_job_one_at_a_time(engine, session_factory, tmp_path):
    node = start_node(tmp_path / "chain")
    try:
        chain, w = _world(node, engine, n_usage_rounds=2)
        active: dict[str, int] = {}
        peak: dict[str, int] = {}
        lock = threading.Lock()

        def guarded(name, fn):
            def run(lease):
                with lock:
                    active[name] = active.get(name, 0) + 1
                    peak[name] = max(peak.get(name, 0), active[name])
                try:
                    time.sleep(0.02)  # widen the window in which a second replica could slip in
                    return fn(lease)
                finally:
                    with lock:
                        active[name] -= 1
            return run

        services, engines = [], []
        for i in range(3):
            eng = Engine(session_factory, RpcChain(node.rpc_url), BillingProgram(PROGRAM), payer=w.admin,
                         meter=w.meter, intervals_ms=FAST)
            specs = [JobSpec(s.name, s.interval_ms, guarded(s.name, s.fn)) for s in eng.job_specs()]
            services.append(Service(session_factory, specs, holder=f"replica-{i}"))
            engines.append(eng)
        for s in services:
            s.start(poll_s=0.03)
        try:
            _wait(lambda: _all_settled(engines[0]), what="settlement by the replicas")
        finally:
            for s in services:
                s.shutdown()
        # A replica may have sent its last settle after the wait's own follow_chain looked: let the
        # follower catch up with the chain before the books are compared with it.
        for _ in range(20):
            if engines[0].follow_chain() == 0:
                break
        assert peak and max(peak.values()) == 1, peak
        settles = engines[0].intents.all("settle")
        assert len({i.key for i in settles}) == len(settles) and all(i.state == "confirmed" for i in settles)
        check_invariants(session_factory, chain, engines[0], w)
    finally:
        node.stop()
