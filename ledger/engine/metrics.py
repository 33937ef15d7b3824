"""Prometheus metrics of the settlement engine, on the meter API's registry (served at /metrics beside the
ingest metrics). Every label set is fixed: job names from `jobs.JOB_NAMES`, outcomes from `OUTCOMES`,
intent kinds and states from `INTENT_KINDS` x `INTENT_STATES`; nothing a caller sends becomes a label.

    solmeter_job_runs_total{job,outcome}      runs by outcome (ok, transient, blocked, error)
    solmeter_job_failures_total{job}          runs that failed (any outcome but ok)
    solmeter_job_duration_seconds{job}        run durations (histogram)
    solmeter_job_failing{job}                 consecutive failures now (0 when the last run succeeded)
    solmeter_intents{kind,state}              intents by kind and state (read from the database per scrape)
    solmeter_batch_backlog                    batches built by the meter and not yet posted on-chain
    solmeter_meter_key_lamports               the meter key's SOL (it pays each batch's rent), in lamports
    solmeter_customers_paused                 customers whose escrow does not cover what they owe (paused)
    solmeter_rpc_requests_total{method,outcome}  the engine's JSON-RPC requests (ok, unavailable, error)
    solmeter_rpc_duration_seconds{method}     their latency (histogram)
"""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from chain import ChainUnavailable
from metering.settlement import SettlementPort, SqlSettlement

from .chain import ChainError
from .models import INTENT_STATES, Intent, JobLease
from .service import RunRecord

OUTCOMES = ("ok", "transient", "blocked", "error")
RPC_OUTCOMES = ("ok", "unavailable", "error")
# the JSON-RPC requests the engine sends (chain/requests.py's bodies); anything else is counted as "other"
RPC_METHODS = ("GetAccountInfo", "GetMultipleAccounts", "GetProgramAccounts", "GetBalance", "GetLatestBlockhash",
               "GetBlockHeight", "GetSlot", "GetGenesisHash", "GetMinimumBalanceForRentExemption",
               "GetSignatureStatuses", "GetSignaturesForAddress", "GetTransaction", "SendRawTransaction",
               "SimulateLegacyTransaction", "SimulateVersionedTransaction", "RequestAirdrop", "batch", "other")
INTENT_KINDS = ("post_batch", "prepare_settle", "settle", "close_batch", "top_up", "fund_epoch")
LAMPORTS_MAX_AGE_S = 5.0  # a scrape reads the meter key's balance at most this often (one RPC call)


class EngineMetrics:
    def __init__(self, registry: CollectorRegistry, session_factory, job_names, chain=None, meter=None) -> None:
        self.jobs = tuple(job_names)
        self.runs = Counter("solmeter_job_runs", "Engine job runs by outcome", ["job", "outcome"], registry=registry)
        self.failures = Counter("solmeter_job_failures", "Engine job runs that failed", ["job"], registry=registry)
        self.duration = Histogram("solmeter_job_duration_seconds", "Engine job run durations", ["job"],
                                  buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60), registry=registry)
        for j in self.jobs:
            self.failures.labels(job=j)
            self.duration.labels(job=j)
            for o in OUTCOMES:
                self.runs.labels(job=j, outcome=o)
        self.rpc_requests = Counter("solmeter_rpc_requests", "The engine's JSON-RPC requests by outcome",
                                    ["method", "outcome"], registry=registry)
        self.rpc_duration = Histogram("solmeter_rpc_duration_seconds", "The engine's JSON-RPC request latency",
                                      ["method"], buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10),
                                      registry=registry)
        for m in RPC_METHODS:
            self.rpc_duration.labels(method=m)
            for o in RPC_OUTCOMES:
                self.rpc_requests.labels(method=m, outcome=o)
        registry.register(_StateCollector(session_factory, self.jobs, chain, meter))
        client = getattr(chain, "client", None)
        if client is not None:
            client.observer = self.on_rpc

    def on_rpc(self, method: str, seconds: float, error: BaseException | None) -> None:
        m = method if method in RPC_METHODS else "other"
        outcome = "ok" if error is None else "unavailable" if isinstance(error, ChainUnavailable) else "error"
        self.rpc_requests.labels(method=m, outcome=outcome).inc()
        self.rpc_duration.labels(method=m).observe(seconds)

    def on_run(self, rec: RunRecord) -> None:
        if rec.name not in self.jobs:
            return
        self.runs.labels(job=rec.name, outcome=rec.kind if rec.kind in OUTCOMES else "error").inc()
        if not rec.ok:
            self.failures.labels(job=rec.name).inc()
        self.duration.labels(job=rec.name).observe(rec.duration_s)


class _StateCollector:
    """Gauges read at scrape time from the database (and the meter key's balance from the chain)."""

    def __init__(self, session_factory, jobs, chain, meter, port: SettlementPort | None = None) -> None:
        self._sf = session_factory
        self._port: SettlementPort = port if port is not None else SqlSettlement()
        self._jobs = jobs
        self._chain = chain
        self._meter = meter
        self._lamports: tuple[float, int] | None = None

    def describe(self):
        return []  # no describe at registration: collect() reads the database only when scraped

    def _meter_lamports(self) -> int | None:
        now = time.monotonic()
        if self._lamports is None or now - self._lamports[0] > LAMPORTS_MAX_AGE_S:
            try:
                self._lamports = (now, int(self._chain.lamports(self._meter)))
            except ChainError:
                return None if self._lamports is None else self._lamports[1]
        return self._lamports[1]

    def collect(self):
        intents = GaugeMetricFamily("solmeter_intents", "Engine intents by kind and state", labels=["kind", "state"])
        failing = GaugeMetricFamily("solmeter_job_failing", "Consecutive failed runs of each job now", labels=["job"])
        with self._sf() as s:
            counts = {(k, st): n for k, st, n in s.execute(
                select(Intent.kind, Intent.state, func.count()).group_by(Intent.kind, Intent.state))}
            leases = {name: n for name, n in s.execute(select(JobLease.name, JobLease.failures))}
            stale = s.execute(select(func.count()).select_from(Intent).where(
                Intent.kind == "post_batch", Intent.state == "failed",
                Intent.error.startswith("stale config version"))).scalar_one()
            unposted = self._port.unposted_batches(s)
            paused = self._port.customers_paused(s)
        for k in INTENT_KINDS:
            for st in INTENT_STATES:
                intents.add_metric([k, st], counts.get((k, st), 0))
        for j in self._jobs:
            failing.add_metric([j], leases.get(j, 0))
        yield intents
        yield failing
        yield GaugeMetricFamily("solmeter_batch_backlog", "Meter batches built and not yet posted on-chain "
                                "(batches refused as stale excluded)", value=max(0, unposted - stale))
        yield GaugeMetricFamily("solmeter_customers_paused", "Customers whose escrow does not cover what they owe "
                                "(the meter refuses their new work)", value=paused)
        if self._chain is not None and self._meter is not None:
            lamports = self._meter_lamports()
            if lamports is not None:
                yield GaugeMetricFamily("solmeter_meter_key_lamports", "SOL of the meter key, which pays each "
                                        "batch's rent, in lamports", value=lamports)
