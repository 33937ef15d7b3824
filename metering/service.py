"""The meter's periodic jobs (seal due windows and issue receipts; close a Merkle batch per interval) and
the APScheduler that runs them beside the API."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from apscheduler.schedulers.background import BackgroundScheduler
from solders.keypair import Keypair
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .batches import BatchInfo, build_batch
from .config import MeterConfig
from .metrics import MeterMetrics
from .models import Batch
from .partitions import ensure_ahead
from .receipts import SealReport, Sealer
from .retention import drop_settled_partitions
from .store_faults import DatabaseGone, StoreUnavailable, classify

log = logging.getLogger("solmeter.meter")
BT = Batch.__table__


@dataclass
class JobsReport:
    seal: SealReport
    batch: BatchInfo | None
    config_version: int = 0
    carried_over: int = 0  # receipts reissued under config_version (channels left on an older version)


class MeterJobs:
    """`config_version_source` tells the version in force on-chain (read each run: every update_config
    bumps it, and settle takes a receipt only under its batch's version). Without one the configured
    `cfg.config_version` is used. If the source fails, the run fails and is retried: no receipt is issued
    for a version that may be stale. `floors`: the chain's last settled seq per channel (metering.chain_floor),
    below which the sealer issues nothing."""

    def __init__(self, engine: Engine, cfg: MeterConfig, meter: Keypair, clock: Callable[[], int],
                 metrics: MeterMetrics | None = None, config_version_source: Callable[[], int] | None = None,
                 floors: dict[tuple[str, str], int] | None = None):
        self.engine, self.cfg, self.meter, self.clock = engine, cfg, meter, clock
        self.metrics = metrics or MeterMetrics()
        self.sealer = Sealer(engine, cfg, meter, self.metrics, floors=floors)
        self.config_version_source = config_version_source
        self._carried_for: int | None = None  # the version every channel was last brought up to
        self._partitions_until_ms: int | None = None  # partitions were last made ahead up to here
        self._store_fault: str | None = None  # the kind of database fault the last run failed on

    def config_version(self) -> int:
        if self.config_version_source is None:
            return self.cfg.config_version
        v = self.config_version_source()
        if not isinstance(v, int) or isinstance(v, bool) or v < 0:
            raise ValueError(f"config version source returned {v!r}, not a non-negative integer")
        return v

    def batch_due(self, now_ms: int) -> bool:
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(BT.c.created_ms))).scalar()
        return last is None or now_ms - last >= self.cfg.batch_interval_ms

    def run_once(self, force_batch: bool = False) -> JobsReport:
        now = self.clock()
        if self._partitions_until_ms is None or now >= self._partitions_until_ms:
            # PostgreSQL: usage_events' day partitions exist before any event needs them, and the oldest
            # go once everything in them is sealed and settled (both no-ops on SQLite)
            ensure_ahead(self.engine, now, self.cfg.limits.lateness_bound_ms)
            drop_settled_partitions(self.engine, now, self.cfg)
            self._partitions_until_ms = now + 3_600_000
        version = self.config_version()
        seal = self.sealer.seal_due(now, version)
        carried = 0
        if version != self._carried_for:
            # Once per version seen (and at start): channels whose newest receipt is of an older version
            # get it reissued under this one, so that everything owed stays settleable.
            carried = self.sealer.carry_over(version, now)
            self._carried_for = version
        batch = None
        if force_batch or self.batch_due(now):
            # Every pending receipt is batched now, in batches of at most MAX_BATCH_RECEIPTS.
            while (built := build_batch(self.engine, str(self.meter.pubkey()), now, version)) is not None:
                batch = built
                self.metrics.batches.inc()
        return JobsReport(seal, batch, version, carried)

    def start_scheduler(self):
        """Run the jobs in a background thread: sealing a few times per window, batching on its interval."""
        sched = BackgroundScheduler(daemon=True)
        every_s = max(1, min(self.cfg.window_ms, self.cfg.batch_interval_ms) // 4000)
        sched.add_job(self._tick, "interval", seconds=every_s, max_instances=1, coalesce=True, id="meter-jobs")
        sched.start()
        return sched

    def _tick(self) -> None:
        try:
            rep = self.run_once()
            if rep.carried_over:
                log.info("config version %d: reissued %d channel(s)' newest receipt", rep.config_version,
                         rep.carried_over)
            if rep.seal.receipts or rep.batch:
                log.info("sealed %d window(s), %d receipt(s)%s", rep.seal.windows, rep.seal.receipts,
                         f"; batch {rep.batch.id} of {rep.batch.count}" if rep.batch else "")
            self._store_fault = None
        except DatabaseGone:
            return  # fatal: the process's tripwire has logged it once and is stopping the server
        except Exception as e:  # a failed run leaves the database as it was (transactions); retry next tick
            fault = e if isinstance(e, StoreUnavailable) else classify(e)
            if fault is None:
                log.exception("meter jobs failed; will retry")
            elif fault.kind != self._store_fault:  # disk full, locked: one line per episode, not a traceback a run
                self._store_fault = fault.kind
                log.warning("meter jobs failed: %s; will retry", fault.reason)
