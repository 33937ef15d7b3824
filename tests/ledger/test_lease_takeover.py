"""Job leases under faults, with two replicas on one database (SQLite file and PostgreSQL): a replica killed
(SIGKILL, mid-run, holding the lease) loses its job within one short TTL and the survivor takes it over
within a bounded number of its own ticks; a live holder's heartbeat keeps a long run's lease; and a holder
that lost its lease (stalled past its TTL, taken over) commits nothing more (fencing). Time is a clock the
test moves by hand (a file both processes read), never sleeps."""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from db import make_engine, make_session_factory
from ledger.engine.intents import IntentStore
from ledger.engine.lease import LeaseLost, Leases
from ledger.engine.models import Intent, JobLease
from ledger.engine.service import JobSpec, Service

JOB = "settle_channels"
T0 = 1_700_000_000_000
TICK_MS = 1_000  # the survivor's poll (Service.start's poll_s is 0.5 s; 1 s is the slower case)

# The doomed replica: takes the job's lease and is killed in the middle of its run.
HOLDER = r'''
import pathlib, sys, time
from db import make_engine, make_session_factory
from ledger.engine.service import JobSpec, Service
url, clock_file, marker = sys.argv[1:4]
sf = make_session_factory(make_engine(url))

def job(lease):
    tmp = pathlib.Path(marker + ".tmp")
    tmp.write_text(lease.holder)
    tmp.replace(marker)  # whole or absent: the test reads it as soon as it exists
    while True:
        time.sleep(1)

svc = Service(sf, [JobSpec("settle_channels", 1000, job)], holder="doomed",
              clock=lambda: int(pathlib.Path(clock_file).read_text()))
svc.run_once("settle_channels")
'''


class FileClock:
    def __init__(self, path: Path, t: int) -> None:
        self.path = path
        self.set(t)

    def set(self, t: int) -> None:
        self.t = t
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(str(t))
        tmp.replace(self.path)

    def advance(self, ms: int) -> None:
        self.set(self.t + ms)

    def __call__(self) -> int:
        return self.t


def _until(cond, what: str, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s  # a fail-safe only: the condition, not the time, decides
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def test_a_killed_holders_job_is_taken_over_within_a_few_ticks(db_url, engine, session_factory, tmp_path):
    clock = FileClock(tmp_path / "clock", T0)
    marker = tmp_path / "holding"
    p = subprocess.Popen([sys.executable, "-c", HOLDER, db_url, str(clock.path), str(marker)])
    try:
        _until(lambda: marker.exists() or p.poll() is not None, "the doomed replica to hold the lease")
        assert marker.exists(), f"the holder exited with {p.returncode}"
    finally:
        p.kill()  # SIGKILL: no polite release of the lease
        p.wait()
    with session_factory() as s:
        row = s.execute(select(JobLease).where(JobLease.name == JOB)).scalar_one()
    assert row.holder == marker.read_text() and row.lease_until_ms > T0  # it died holding it

    ran: list[int] = []
    survivor = Service(session_factory, [JobSpec(JOB, 1_000, lambda lease: ran.append(clock()))], holder="survivor",
                       clock=clock)
    ticks = 0
    while not ran:
        assert ticks < 100, "the survivor never took the job over"
        clock.advance(TICK_MS)
        ticks += 1
        survivor.run_once(JOB)
    # Never twice at once: not before the dead holder's lease ran out; and then within one short TTL (10 s)
    # of its death (its last renewal was at T0), not the old 60 s.
    assert 10 <= ticks <= 11, ticks
    assert ran == [T0 + ticks * TICK_MS]


@pytest.fixture
def second_session_factory(db_url, engine):
    e = make_engine(db_url)  # own connections, as a second process has
    yield make_session_factory(e)
    e.dispose()


def test_a_live_holders_heartbeat_keeps_a_long_run_and_nobody_runs_it_twice(session_factory, second_session_factory):
    t = [T0]
    clock = lambda: t[0]  # noqa: E731
    started, release = threading.Event(), threading.Event()
    b_ran: list[int] = []

    def long_job(lease):
        started.set()
        release.wait()

    a = Service(session_factory, [JobSpec(JOB, 1_000, long_job)], holder="a", clock=clock)
    b = Service(second_session_factory, [JobSpec(JOB, 1_000, lambda lease: b_ran.append(t[0]))], holder="b",
                clock=clock)
    th = threading.Thread(target=a.run_once, args=(JOB,))
    th.start()
    try:
        assert started.wait(30)
        for _ in range(35):  # three and a half TTLs of a run that is alive and beating
            t[0] += TICK_MS
            if t[0] % (a.lease_ttl_ms // 4) < TICK_MS:  # the heartbeat's period, TTL/4
                assert a.heartbeat() == []
            assert b.run_once(JOB) is None, "a live holder's job was run by a second replica at once"
    finally:
        release.set()
        th.join()
    assert b_ran == []
    t[0] += 1_000
    assert b.run_once(JOB).ok and b_ran == [t[0]]  # once the run finished, the next due run is anyone's


def test_the_schedulers_heartbeat_renews_a_held_lease(session_factory):
    started, release = threading.Event(), threading.Event()

    def job(lease):
        started.set()
        release.wait()

    svc = Service(session_factory, [JobSpec(JOB, 60_000, job)], holder="a", lease_ttl_ms=400)
    svc.start(poll_s=0.05)
    try:
        assert started.wait(30)
        with session_factory() as s:
            first = s.execute(select(JobLease.lease_until_ms).where(JobLease.name == JOB)).scalar_one()
        # Real time here: the lease (400 ms) would have run out long before the fail-safe of _until.
        _until(lambda: _lease_until(session_factory) > first + 300, "a heartbeat renewal")
        assert svc.heartbeat() == []  # still ours
    finally:
        release.set()
        svc.shutdown()


def _lease_until(sf) -> int:
    with sf() as s:
        return s.execute(select(JobLease.lease_until_ms).where(JobLease.name == JOB)).scalar_one()


def test_a_stale_holder_cannot_commit_after_a_takeover(session_factory, second_session_factory):
    """Holder A stalls (a GC pause, a frozen VM) past its TTL; B takes the job over and runs it. When A wakes
    up, its next write transaction (marking an intent sent: the step before any transaction reaches the RPC)
    is refused inside that transaction, so it sends nothing and changes nothing."""
    t = [T0]
    clock = lambda: t[0]  # noqa: E731
    store = IntentStore(session_factory)
    pending = store.record("settle:c:p:1", "settle", "c:p", {"seq": 1})
    started, wake = threading.Event(), threading.Event()
    out = {}

    def stale_job(lease):
        started.set()
        wake.wait()
        ok = IntentStore(session_factory).mark_sent(pending.id, from_state="pending", signature="sigA", tx=b"A",
                                                    last_valid_block_height=1)
        out["a_marked"] = ok
        IntentStore(session_factory).record("probe:A", "settle", "a", {})

    def fresh_job(lease):
        IntentStore(second_session_factory).record("probe:B", "settle", "b", {})

    a = Service(session_factory, [JobSpec(JOB, 1_000, stale_job)], holder="a", clock=clock)
    b = Service(second_session_factory, [JobSpec(JOB, 1_000, fresh_job)], holder="b", clock=clock)
    th = threading.Thread(target=lambda: out.setdefault("a", a.run_once(JOB)))
    th.start()
    try:
        assert started.wait(30)
        t[0] += a.lease_ttl_ms + 1  # A stalled, no heartbeat: its lease ran out
        rec_b = b.run_once(JOB)
        assert rec_b is not None and rec_b.ok
    finally:
        wake.set()
        th.join()
    rec_a = out["a"]
    assert rec_a is not None and not rec_a.ok and "lease lost" in rec_a.error
    assert "a_marked" not in out  # the commit itself raised: rolled back
    with session_factory() as s:
        got = s.get(Intent, pending.id)
        keys = set(s.execute(select(Intent.key)).scalars())
    assert got.state == "pending" and got.signature is None and got.tx is None
    assert keys == {"settle:c:p:1", "probe:B"}


def test_a_lease_is_fenced_per_acquisition_even_for_the_same_replica(session_factory):
    r = Leases(session_factory, "same-replica", ttl_ms=5_000)
    old = r.try_acquire(JOB, now_ms=10_000)
    new = r.try_acquire(JOB, now_ms=15_001)  # the old run stalled past its TTL; the same replica runs it again
    assert old is not None and new is not None and old.holder != new.holder
    with pytest.raises(LeaseLost):
        old.renew(now_ms=15_002)
    new.renew(now_ms=15_003)


def test_a_lost_lease_says_whether_another_holder_took_it_or_it_only_expired(session_factory):
    """Found running `operator serve` alone: the log warned `lease lost (this replica stalled past the 10 s lease
    and another one took the job over)` with no other replica anywhere. The message now tells the two apart."""
    r = Leases(session_factory, "only-replica", ttl_ms=10_000)
    alone = r.try_acquire(JOB, now_ms=10_000)
    with pytest.raises(LeaseLost) as e:
        alone.renew(now_ms=20_001)  # nobody else: it only expired
    assert "expired unrenewed for over its 10 s TTL" in str(e.value) and "no one holds it now" in str(e.value)
    assert "took it over" not in str(e.value)
    other = Leases(session_factory, "other-replica", ttl_ms=10_000)
    with session_factory.begin() as s:
        s.get(JobLease, JOB).next_due_ms = 0
    taker = other.try_acquire(JOB, now_ms=20_002)
    assert taker is not None
    with pytest.raises(LeaseLost) as e:
        alone.renew(now_ms=20_003)
    assert f"it expired and {taker.holder} took it over" in str(e.value)


def test_a_run_that_finished_while_the_heartbeat_renewed_it_is_not_reported_lost(session_factory):
    """Found running `operator serve` alone: it warned `lease lost ... took it over` a few times an hour with no
    other replica. The heartbeat copies the held leases, and a run that finishes (releasing its lease) before
    the copy's renewal made that renewal fail: a lost lease of a run that no longer exists."""
    svc = Service(session_factory, [JobSpec(JOB, 60_000, lambda lease: None)], holder="alone")
    lease = svc.leases.try_acquire(JOB)
    assert lease is not None
    svc._held[JOB] = lease
    renew = lease.renew

    def finished_first(now_ms=None):  # the run ends between the heartbeat's copy and its renewal
        svc._held.pop(JOB)
        svc.leases.finish(lease, interval_ms=60_000)
        renew(now_ms)

    lease.renew = finished_first
    assert svc.heartbeat() == []
    with pytest.raises(LeaseLost) as e:
        renew()
    assert "it was released" in str(e.value)
