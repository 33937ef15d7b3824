"""Settlement-engine building blocks that need no chain: the crash-recovery decision table, back-off, job
leases (several replicas on one database: each run once; a dead holder's lease expires), and intents."""
from __future__ import annotations

import threading

import pytest

from ledger.engine.backoff import backoff_ms
from ledger.engine.chain import SigStatus
from ledger.engine.executor import Step, decide
from ledger.engine.intents import IntentStore
from ledger.engine.lease import LeaseLost, Leases

OK = SigStatus(5, None, "confirmed")
BAD = SigStatus(5, "InstructionError(0, Custom(6003))", "confirmed")


@pytest.mark.parametrize("status,expired,done,step", [
    (OK, False, None, Step.CONFIRM),
    (BAD, False, True, Step.CONFIRM),     # failed because another tx already did it: the action is done
    (BAD, False, False, Step.FAIL),
    (None, False, None, Step.RESEND_SAME),  # may still land: resend the same bytes, never a new tx
    (None, True, True, Step.CONFIRM),
    (None, True, False, Step.REBUILD),    # can never land and not done: only now build a new one
])
def test_recovery_decision_table(status, expired, done, step):
    assert decide(status, expired=expired, done_on_chain=done) is step


def test_backoff_doubles_and_caps():
    assert [backoff_ms(n, base_ms=100, cap_ms=1000) for n in range(7)] == [0, 100, 200, 400, 800, 1000, 1000]


def test_each_due_run_is_won_by_exactly_one_replica(session_factory):
    replicas = [Leases(session_factory, f"replica-{i}", ttl_ms=10_000) for i in range(5)]
    replicas[0].ensure("settle")
    winners_per_tick = []
    for tick in range(8):
        now = 1_000_000 + tick * 1_000  # every tick the job (interval 1 s) is due again
        barrier = threading.Barrier(len(replicas))
        won = []

        def attempt(r: Leases, barrier=barrier, now=now, won=won):
            barrier.wait()
            lease = r.try_acquire("settle", now_ms=now)
            if lease is not None:
                won.append(r.holder)
                r.finish(lease, interval_ms=1_000, now_ms=now)

        threads = [threading.Thread(target=attempt, args=(r,)) for r in replicas]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # latecomers in the same tick find it not due any more
        assert all(r.try_acquire("settle", now_ms=now) is None for r in replicas)
        winners_per_tick.append(won)
    assert all(len(w) == 1 for w in winners_per_tick), winners_per_tick
    status = {row.name: row for row in replicas[0].status()}
    assert status["settle"].runs == 8


def test_a_dead_holders_lease_expires_and_the_job_is_taken_over(session_factory):
    a, b = Leases(session_factory, "a", ttl_ms=5_000), Leases(session_factory, "b", ttl_ms=5_000)
    lease = a.try_acquire("post_batches", now_ms=10_000)
    assert lease is not None
    assert b.try_acquire("post_batches", now_ms=14_999) is None  # a still holds it
    taken = b.try_acquire("post_batches", now_ms=15_001)          # a died: its lease ran out
    assert taken is not None
    with pytest.raises(LeaseLost):
        lease.renew(now_ms=15_002)
    assert a.finish(lease, interval_ms=1_000, now_ms=15_003) == 0  # a stale finish changes nothing
    assert b.finish(taken, interval_ms=1_000, now_ms=15_004) == 1_000


def test_failures_back_off_then_reset(session_factory):
    r = Leases(session_factory, "r")
    delays = []
    now = 1_000
    for err in ["rpc down", "rpc down", "rpc down", None]:
        lease = r.try_acquire("reconcile", now_ms=now)
        assert lease is not None
        d = r.finish(lease, interval_ms=2_000, error=err, now_ms=now)
        delays.append(d)
        assert r.try_acquire("reconcile", now_ms=now + d - 1) is None  # not due before the back-off ends
        now += d
    assert delays == [backoff_ms(1), backoff_ms(2), backoff_ms(3), 2_000]
    assert r.status()[0].failures == 0


def test_an_intent_key_is_recorded_once(session_factory):
    store = IntentStore(session_factory)
    a = store.record("settle:x:y:3", "settle", "x:y", {"seq": 3})
    b = store.record("settle:x:y:3", "settle", "x:y", {"seq": 3})
    assert a.id == b.id and a.state == "pending"
    assert store.mark_sent(a.id, from_state="pending", signature="s", tx=b"t", last_valid_block_height=9)
    assert not store.mark_sent(a.id, from_state="pending", signature="s2", tx=b"t2", last_valid_block_height=9)
    assert store.get(a.id).signature == "s" and store.get(a.id).attempts == 1
    assert [i.key for i in store.open()] == ["settle:x:y:3"]
    store.reopen(a.id, "expired")
    assert store.get(a.id).state == "pending"
