"""The meter's periodic jobs (seal due windows and issue receipts; close a Merkle batch per interval) and
the APScheduler that runs them beside the API."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Callable

from solders.keypair import Keypair
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from .batches import BatchInfo, build_batch
from .config import MeterConfig
from .metrics import MeterMetrics
from .models import Batch
from .receipts import SealReport, Sealer

log = logging.getLogger("solmeter.meter")
BT = Batch.__table__


@dataclass
class JobsReport:
    seal: SealReport
    batch: BatchInfo | None


class MeterJobs:
    def __init__(self, engine: Engine, cfg: MeterConfig, meter: Keypair, clock: Callable[[], int],
                 metrics: MeterMetrics | None = None):
        self.engine, self.cfg, self.meter, self.clock = engine, cfg, meter, clock
        self.metrics = metrics or MeterMetrics()
        self.sealer = Sealer(engine, cfg, meter, self.metrics)

    def batch_due(self, now_ms: int) -> bool:
        with self.engine.connect() as conn:
            last = conn.execute(select(func.max(BT.c.created_ms))).scalar()
        return last is None or now_ms - last >= self.cfg.batch_interval_ms

    def run_once(self, force_batch: bool = False) -> JobsReport:
        now = self.clock()
        seal = self.sealer.seal_due(now)
        batch = None
        if force_batch or self.batch_due(now):
            # Every pending receipt is batched now, in batches of at most MAX_BATCH_RECEIPTS.
            while (built := build_batch(self.engine, str(self.meter.pubkey()), now)) is not None:
                batch = built
                self.metrics.batches.inc()
        return JobsReport(seal, batch)

    def start_scheduler(self):
        """Run the jobs in a background thread: sealing a few times per window, batching on its interval."""
        from apscheduler.schedulers.background import BackgroundScheduler

        sched = BackgroundScheduler(daemon=True)
        every_s = max(1, min(self.cfg.window_ms, self.cfg.batch_interval_ms) // 4000)
        sched.add_job(self._tick, "interval", seconds=every_s, max_instances=1, coalesce=True, id="meter-jobs")
        sched.start()
        return sched

    def _tick(self) -> None:
        try:
            rep = self.run_once()
            if rep.seal.receipts or rep.batch:
                log.info("sealed %d window(s), %d receipt(s)%s", rep.seal.windows, rep.seal.receipts,
                         f"; batch {rep.batch.id} of {rep.batch.count}" if rep.batch else "")
        except Exception:  # a failed run leaves the database as it was (transactions); retry next tick
            log.exception("meter jobs failed; will retry")
