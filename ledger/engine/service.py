"""Jobs on APScheduler 3, each run guarded by a job lease so that any number of replicas on one database
run each due job once. The lease is short (10 s) and a heartbeat thread renews the leases this replica
holds every TTL/4, so a replica killed mid-run loses its jobs within one TTL and a healthy replica takes
them over; a holder that lost its lease commits nothing more (fencing, see lease.py). The lease row also carries the schedule: after a success the job is due again
after its interval, after a failure (an RPC outage, say) after an exponential back-off, so an outage
slows the jobs down and they resume by themselves when the chain is back."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import update
from sqlalchemy.orm import sessionmaker

from .chain import ChainError
from .lease import Clock, Lease, LeaseLost, Leases, _now_ms, running
from .models import JobLease

log = logging.getLogger("solmeter.engine")

JobFn = Callable[[Lease], object]


class JobBlocked(Exception):
    """A job did what it could but an intent it needs failed for a cause that resending cannot fix (a key
    without SOL, a program error): the run counts as a failure, its cause in words is the job's last error,
    and the job keeps running on its back-off so that it resumes by itself once the cause is gone.
    `key` identifies the cause (the warning is logged once per cause, not once per run)."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key or message


@dataclass
class JobSpec:
    name: str
    interval_ms: int
    fn: JobFn
    description: str = ""


@dataclass
class RunRecord:
    name: str
    ok: bool
    result: object = None
    error: str = ""
    duration_s: float = 0.0
    kind: str = "ok"  # ok | transient (chain unavailable) | blocked (permanent cause) | error (a bug, a bad row)


@dataclass
class Service:
    session_factory: sessionmaker
    jobs: list[JobSpec]
    holder: str = field(default_factory=lambda: f"{socket.gethostname()}:{os.getpid()}:{threading.get_ident()}")
    lease_ttl_ms: int = 10_000  # a dead replica's jobs are taken over this long after its last heartbeat
    backoff_base_ms: int = 500
    backoff_cap_ms: int = 30_000
    on_run: Callable[[RunRecord], None] | None = None
    clock: Clock = _now_ms  # milliseconds; tests drive it by hand

    def __post_init__(self) -> None:
        self.leases = Leases(self.session_factory, self.holder, ttl_ms=self.lease_ttl_ms,
                             backoff_base_ms=self.backoff_base_ms, backoff_cap_ms=self.backoff_cap_ms,
                             clock=self.clock)
        self._scheduler = None
        self._held: dict[str, Lease] = {}  # job -> the lease of its run in progress (the heartbeat renews these)
        self._held_lock = threading.Lock()
        self._stop = threading.Event()
        self._heart: threading.Thread | None = None
        self._by_name = {j.name: j for j in self.jobs}
        self._said: dict[str, str] = {}  # job -> the cause of failure last logged (one warning per cause)

    def _say_once(self, name: str, key: str, level: int, msg: str, *args, exc_info: bool = False) -> None:
        # Quiet at the default level: a failure that repeats every run is logged when it starts (and when its
        # cause changes), its repeats at DEBUG only; `operator jobs` and /metrics show the count.
        if self._said.get(name) == key:
            log.debug(msg, *args)
            return
        self._said[name] = key
        log.log(level, msg, *args, exc_info=exc_info)

    def run_once(self, name: str) -> RunRecord | None:
        """Run job `name` if it is due and no replica holds it; None when it was not this replica's turn."""
        spec = self._by_name[name]
        lease = self.leases.try_acquire(name)
        if lease is None:
            return None
        t0 = time.perf_counter()
        try:
            result = self._call(spec, lease)
        except LeaseLost as e:
            rec = RunRecord(name, False, error=str(e), kind="error")
            log.warning("%s", e)
            return rec
        except JobBlocked as e:
            delay = self.leases.finish(lease, interval_ms=spec.interval_ms, error=str(e))
            rec = RunRecord(name, False, error=str(e), kind="blocked")
            self._say_once(name, "blocked:" + e.key, logging.WARNING, "%s stopped: %s (it resumes by itself once "
                           "the cause is gone; checked again in %d s, backing off to %d s)", name, e,
                           max(1, delay // 1000), self.backoff_cap_ms // 1000)
        except ChainError as e:
            delay = self.leases.finish(lease, interval_ms=spec.interval_ms, error=str(e))
            rec = RunRecord(name, False, error=str(e), kind="transient")
            self._say_once(name, "chain", logging.WARNING, "%s: chain unavailable, retrying with back-off "
                           "(next in %d ms): %s", name, delay, e)
        except Exception as e:  # a bug or a bad row must not stop the other jobs; it is retried with back-off
            delay = self.leases.finish(lease, interval_ms=spec.interval_ms, error=f"{type(e).__name__}: {e}")
            rec = RunRecord(name, False, error=f"{type(e).__name__}: {e}", kind="error")
            self._say_once(name, f"error:{type(e).__name__}:{e}", logging.ERROR,
                           "%s failed, retrying in %d ms", name, delay, exc_info=True)
        else:
            self.leases.finish(lease, interval_ms=spec.interval_ms)
            rec = RunRecord(name, True, result)
            if self._said.pop(name, None) is not None:
                log.info("%s recovered", name)
            log.debug("%s: %s", name, result)
        rec.duration_s = time.perf_counter() - t0
        if self.on_run:
            self.on_run(rec)
        return rec

    def _call(self, spec: JobSpec, lease: Lease) -> object:
        with self._held_lock:
            self._held[spec.name] = lease
        try:
            with running(lease):  # every commit of the job re-checks the lease in its own transaction
                return spec.fn(lease)
        finally:
            with self._held_lock:  # before finish releases it: a beat after that would find it "lost"
                self._held.pop(spec.name, None)

    def heartbeat(self) -> list[str]:
        """Renew every lease this replica holds (a run in progress); returns one line per job whose lease was
        lost, `NAME: why` (expired unrenewed, or taken over by another holder: its run stops at its next commit)."""
        with self._held_lock:
            held = list(self._held.items())
        lost = []
        for name, lease in held:
            try:
                lease.renew()
            except LeaseLost as e:
                with self._held_lock:  # the run may have finished (and released it) since `held` was copied
                    still_running = self._held.get(name) is lease
                if still_running:
                    lost.append(f"{name}: {e}")
            except Exception:  # the database unreachable a moment: the next beat (TTL/4 later) tries again
                log.debug("heartbeat of %s failed", name, exc_info=True)
        return lost

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(self.lease_ttl_ms / 4000):
            for lost in self.heartbeat():
                log.warning("%s", lost)

    def run_all_once(self) -> list[RunRecord]:
        """Every job in order, ignoring the schedule's intervals (a crank pass; used by the demo and tests)."""
        out = []
        for spec in self.jobs:
            self.leases.ensure(spec.name)
            # Make the job due now: an explicit pass must not wait for the interval.
            with self.session_factory.begin() as s:
                s.execute(update(JobLease).where(JobLease.name == spec.name).values(next_due_ms=0))
            rec = self.run_once(spec.name)
            if rec is not None:
                out.append(rec)
        return out

    def start(self, *, poll_s: float = 0.5) -> None:
        sched = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
        for spec in self.jobs:
            self.leases.ensure(spec.name)
            sched.add_job(self.run_once, "interval", args=[spec.name], id=spec.name, name=spec.name,
                          seconds=min(poll_s, spec.interval_ms / 1000))
        sched.start()
        self._scheduler = sched
        self._stop.clear()
        # Its own thread, not a scheduler job: with every worker busy on a long run the beat must still come.
        self._heart = threading.Thread(target=self._heartbeat_loop, name="lease-heartbeat", daemon=True)
        self._heart.start()

    def shutdown(self, wait: bool = True) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=wait)
            self._scheduler = None
        self._stop.set()
        if self._heart is not None:
            self._heart.join()
            self._heart = None
