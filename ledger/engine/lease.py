"""Job leases: with several replicas on one database, each due run of a job happens exactly once.

A replica claims a job with ONE conditional UPDATE (the lease has expired and the job is due). The database
serialises concurrent UPDATEs of the row (a row lock on PostgreSQL, the write lock on SQLite), so exactly
one replica sees rowcount 1. The lease is short (Service's TTL, 10 s by default) and renewed while held (a
heartbeat every TTL/4, and inside every write transaction of the job), so a replica that dies mid-run
(killed, its host gone) loses the job within one TTL and another replica takes it over.

Fencing: each acquisition writes a holder of its own (the replica's name and a token drawn per
acquisition), and while a job runs every write transaction it commits first re-checks, in that same
transaction, that the row still names this acquisition and has not expired (`fence_in`, hooked on the
session factory's before_commit). A holder that lost its lease (paused past its TTL, taken over) therefore
commits nothing more: its transaction rolls back with LeaseLost, before any intent is marked sent, so it
sends no transaction either. Finishing sets the next due time (the interval after a success, a back-off
after a failure).
"""
from __future__ import annotations

import contextvars
import secrets
import time
from dataclasses import dataclass
from typing import Callable

from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from ledger.accounting.store import _insert

from .backoff import backoff_ms
from .models import JobLease

Clock = Callable[[], int]


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class LeaseLost(Exception):
    """Another replica holds the job now (our lease expired): stop before writing anything else."""


@dataclass
class Lease:
    name: str
    holder: str  # this acquisition's own holder (replica name + token): the fencing token
    ttl_ms: int
    _sf: sessionmaker
    clock: Clock = _now_ms

    def fence_in(self, s: Session, now_ms: int | None = None) -> None:
        """In the caller's transaction: raise LeaseLost unless this acquisition still holds the lease, and
        extend it. The UPDATE takes the row's lock (PostgreSQL) or the write lock (SQLite) first, so a
        takeover either happened before (this transaction rolls back) or waits until it commits."""
        now = self.clock() if now_ms is None else now_ms
        n = s.execute(update(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder,
                                             JobLease.lease_until_ms >= now)
                      .values(lease_until_ms=now + self.ttl_ms)).rowcount
        if n != 1:
            holder = s.execute(select(JobLease.holder).where(JobLease.name == self.name)).scalar_one_or_none()
            if holder == self.holder:
                why = (f"it expired unrenewed for over its {self.ttl_ms // 1000} s TTL (the process or its "
                       f"database stalled) and no one holds it now")
            else:
                why = f"it expired and {holder} took it over" if holder else "it was released"
            raise LeaseLost(f"job {self.name}: lease lost by {self.holder} ({why}): this run stops without "
                            f"committing and runs again when due")

    def renew(self, now_ms: int | None = None) -> None:
        with self._sf.begin() as s:
            self.fence_in(s, now_ms)


# The lease of the job this thread (context) is running; every commit on a session factory that Leases
# serves is fenced by it while it is set.
_current: contextvars.ContextVar[Lease | None] = contextvars.ContextVar("solmeter_job_lease", default=None)


def _fence_before_commit(session: Session) -> None:
    lease = _current.get()
    if lease is not None:
        lease.fence_in(session)


def install_fence(session_factory: sessionmaker) -> None:
    """Fence every commit of `session_factory`'s sessions by the running job's lease (idempotent)."""
    if not event.contains(session_factory, "before_commit", _fence_before_commit):
        event.listen(session_factory, "before_commit", _fence_before_commit)


class running:
    """`with running(lease):` the job's commits are fenced by `lease` (see the module's docstring)."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    def __enter__(self) -> Lease:
        self._token = _current.set(self.lease)
        return self.lease

    def __exit__(self, *exc: object) -> None:
        _current.reset(self._token)


class Leases:
    def __init__(self, session_factory: sessionmaker, holder: str, *, ttl_ms: int = 10_000,
                 backoff_base_ms: int = 500, backoff_cap_ms: int = 30_000, clock: Clock = _now_ms) -> None:
        self._sf = session_factory
        self.holder = holder[:55]  # + "#" + an 8-character token per acquisition: <= 64
        self.ttl_ms = ttl_ms
        self.backoff_base_ms = backoff_base_ms
        self.backoff_cap_ms = backoff_cap_ms
        self.clock = clock
        install_fence(session_factory)

    def ensure(self, name: str) -> None:
        with self._sf.begin() as s:
            s.execute(_insert(s, JobLease).values(name=name).on_conflict_do_nothing(index_elements=["name"]))

    def try_acquire(self, name: str, now_ms: int | None = None) -> Lease | None:
        now = self.clock() if now_ms is None else now_ms
        self.ensure(name)
        holder = f"{self.holder}#{secrets.token_hex(4)}"
        with self._sf.begin() as s:
            n = s.execute(update(JobLease)
                          .where(JobLease.name == name, JobLease.lease_until_ms < now, JobLease.next_due_ms <= now)
                          .values(holder=holder, lease_until_ms=now + self.ttl_ms)).rowcount
        return Lease(name, holder, self.ttl_ms, self._sf, self.clock) if n == 1 else None

    def finish(self, lease: Lease, *, interval_ms: int, error: str | None = None,
               now_ms: int | None = None) -> int:
        """Release the lease and schedule the next run; returns the delay until it is due."""
        now = self.clock() if now_ms is None else now_ms
        with self._sf.begin() as s:
            row = s.execute(select(JobLease).where(JobLease.name == lease.name).with_for_update()).scalar_one()
            if row.holder != lease.holder:
                return 0  # someone took over after our lease expired; leave their schedule alone
            if error is None:
                row.failures = 0
                row.last_error = ""
                delay = interval_ms
            else:
                row.failures += 1
                row.last_error = error[:2000]
                delay = backoff_ms(row.failures, base_ms=self.backoff_base_ms, cap_ms=self.backoff_cap_ms)
            row.runs += 1
            row.last_run_ms = now
            row.next_due_ms = now + delay
            row.lease_until_ms = 0
            row.holder = ""
            return delay

    def status(self) -> list[JobLease]:
        with self._sf() as s:
            return list(s.execute(select(JobLease).order_by(JobLease.name)).scalars())
