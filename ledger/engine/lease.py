"""Job leases: with several replicas on one database, each due run of a job happens exactly once.

A replica claims a job with ONE conditional UPDATE (the lease has expired and the job is due). The database
serialises concurrent UPDATEs of the row (a row lock on PostgreSQL, the write lock on SQLite), so exactly
one replica sees rowcount 1. A replica that dies mid-run loses the lease when it expires; a long run
renews it. Finishing sets the next due time (the interval after a success, a back-off after a failure).
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import sessionmaker

from .backoff import backoff_ms
from .models import JobLease


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


class LeaseLost(Exception):
    """Another replica holds the job now (our lease expired): stop before writing anything else."""


@dataclass
class Lease:
    name: str
    holder: str
    ttl_ms: int
    _sf: sessionmaker

    def renew(self, now_ms: int | None = None) -> None:
        now = _now_ms() if now_ms is None else now_ms
        with self._sf.begin() as s:
            n = s.execute(update(JobLease).where(JobLease.name == self.name, JobLease.holder == self.holder,
                                                 JobLease.lease_until_ms >= now)
                          .values(lease_until_ms=now + self.ttl_ms)).rowcount
        if n != 1:
            raise LeaseLost(f"job {self.name}: lease lost by {self.holder}")


class Leases:
    def __init__(self, session_factory: sessionmaker, holder: str, *, ttl_ms: int = 60_000,
                 backoff_base_ms: int = 500, backoff_cap_ms: int = 30_000) -> None:
        self._sf = session_factory
        self.holder = holder[:64]
        self.ttl_ms = ttl_ms
        self.backoff_base_ms = backoff_base_ms
        self.backoff_cap_ms = backoff_cap_ms

    def ensure(self, name: str) -> None:
        from ledger.accounting.store import _insert

        with self._sf.begin() as s:
            s.execute(_insert(s, JobLease).values(name=name).on_conflict_do_nothing(index_elements=["name"]))

    def try_acquire(self, name: str, now_ms: int | None = None) -> Lease | None:
        now = _now_ms() if now_ms is None else now_ms
        self.ensure(name)
        with self._sf.begin() as s:
            n = s.execute(update(JobLease)
                          .where(JobLease.name == name, JobLease.lease_until_ms < now, JobLease.next_due_ms <= now)
                          .values(holder=self.holder, lease_until_ms=now + self.ttl_ms)).rowcount
        return Lease(name, self.holder, self.ttl_ms, self._sf) if n == 1 else None

    def finish(self, lease: Lease, *, interval_ms: int, error: str | None = None,
               now_ms: int | None = None) -> int:
        """Release the lease and schedule the next run; returns the delay until it is due."""
        now = _now_ms() if now_ms is None else now_ms
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
