"""The GPU agent: one tick = a heartbeat per running lease (with NVML telemetry when there is a GPU), a
stop for each lease that disappeared, all spooled and then flushed to the meter. New leases of a paused
customer are not billed: the agent announces no heartbeat for them (the meter refuses them too).

It reports GPU usage only where a GPU is seen (NVML counts at least one, or the fake telemetry was
selected by name), or when run explicitly as a broker (`solmeter agent gpu --broker`) for a job runner on
another host that sees the GPUs; otherwise it refuses to start (NoGpuError): a host without GPUs must not
bill H100 hours."""
from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Callable

from solders.keypair import Keypair

from . import events as E
from .client import FlushReport, MeterClient, flush, wall_clock_ms
from .jobs import JobSource
from .spool import Spool
from .telemetry import GpuTelemetry


class NoGpuError(Exception):
    """This host sees no GPU and the agent was not run as a broker: it refuses to report GPU usage."""


@dataclass
class GpuTick:
    heartbeats: int = 0
    stops: int = 0
    skipped_paused: list[str] = field(default_factory=list)
    flush: FlushReport | None = None


class GpuAgent:
    def __init__(self, provider: Keypair, jobs: JobSource, telemetry: GpuTelemetry, spool: Spool,
                 client: MeterClient, *, interval_ms: int = 30_000, source: str | None = None,
                 clock: Callable[[], int] = wall_clock_ms, broker: bool = False):
        if not broker and not getattr(telemetry, "sees_gpu", False):
            raise NoGpuError(f"{telemetry.status()}: refusing to report GPU usage from a host that sees no GPU "
                             "(run the agent where the GPUs are, or with --broker for a job runner that sees them)")
        self.broker = broker
        self.provider = str(provider.pubkey())
        self.jobs, self.telemetry, self.spool, self.client = jobs, telemetry, spool, client
        self.interval_ms = interval_ms
        self.source = source or f"/providers/{self.provider}/gpu/{socket.gethostname()}"
        self.clock = clock

    def tick(self) -> GpuTick:
        if not self.client.synced:
            self.client.sync_time()  # the first events already carry the meter's time, not a skewed clock's
        now = self.clock() + self.client.offset_ms  # corrected by the meter's clock once it has been learned
        rep = GpuTick()
        # lease id -> customer, for every lease announced and not yet stopped (survives restarts)
        announced: dict[str, str] = self.spool.read_state("gpu-leases", {})
        current = {lease.lease_id: lease for lease in self.jobs.leases()}
        paused_cache: dict[str, bool | None] = {}
        out = []
        for lid, lease in sorted(current.items()):
            if lid not in announced:
                if lease.customer not in paused_cache:
                    paused_cache[lease.customer] = self.client.customer_paused(lease.customer)
                if paused_cache[lease.customer]:
                    rep.skipped_paused.append(lid)
                    continue
            tel = self.telemetry.sample(lease.gpu_indices) if lease.gpu_indices else None
            out.append(E.heartbeat(self.source, self.provider, lease, now, self.interval_ms, tel))
            announced[lid] = lease.customer
            rep.heartbeats += 1
        for lid in sorted(set(announced) - set(current)):
            out.append(E.stop(self.source, self.provider, lid, announced.pop(lid), now, "lease ended"))
            rep.stops += 1
        # spool first, then remember the state: a crash in between resends, never loses
        self.spool.put(out)
        self.spool.write_state("gpu-leases", announced)
        rep.flush = flush(self.spool, self.client)
        return rep
