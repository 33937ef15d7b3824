"""Ingestion in a pool of processes: parsing, validation and the transaction of each request run in
whichever pool process is free, so N processes use N cores whatever connection a request came on.

Why processes: ingestion is CPU-bound Python (decode, validate, canonical body, hashes) around one short
SQLite write, and one process runs one thread of Python at a time. Why a pool behind ONE HTTP process (and
not N HTTP workers): a keep-alive connection stays with the worker that accepted it, so with N workers the
load follows the connections (two busy providers on one worker leave the other core idle); here every
request goes to the next free process. The pool processes serialize only their transactions, on
`metering.ingest.sqlite_store.SqliteWriteLock` (a flock on the database file's side).

Metrics: a pool process records what it would count (`MetricsRecorder`) and the HTTP process replays it on
the app's `MeterMetrics`, so /metrics stays one process's registry."""
from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import SimpleNamespace

from db import make_engine

from ..ingest.service import Ingestor
from ..ingest.sqlite_store import _sqlite_file
from ..store_faults import FileIdentity
from .ingest_routes import parse_and_ingest

_state: SimpleNamespace | None = None  # in a pool process: cfg, ingestor, metrics recorder


class _Recorded:
    def __init__(self, ops: list, name: str, labels: tuple = ()):
        self._ops, self._name, self._labels = ops, name, labels

    def labels(self, **kw) -> "_Recorded":
        return _Recorded(self._ops, self._name, tuple(sorted(kw.items())))

    def inc(self, amount: float = 1) -> None:
        self._ops.append((self._name, self._labels, "inc", amount))

    def observe(self, value: float) -> None:
        self._ops.append((self._name, self._labels, "observe", value))


class MetricsRecorder:
    """Stands in for MeterMetrics where ingestion counts (the names Ingestor and the routes use)."""

    NAMES = ("accepted", "duplicates", "rejected", "requests_refused", "ingest_lag")

    def __init__(self):
        self.ops: list = []
        for n in self.NAMES:
            setattr(self, n, _Recorded(self.ops, n))

    def take(self) -> list:
        ops, self.ops[:] = list(self.ops), []
        return ops


def replay(ops: list, metrics) -> None:
    for name, labels, method, value in ops:
        m = getattr(metrics, name)
        if labels:
            m = m.labels(**dict(labels))
        getattr(m, method)(value)


def _init(database_url: str, cfg, db_identity=None) -> None:
    global _state
    rec = MetricsRecorder()
    engine = make_engine(database_url)
    path = _sqlite_file(engine)
    # the file the HTTP process opened, not whatever is at the path when this process starts
    identity = FileIdentity(path, db_identity) if path and db_identity else None
    _state = SimpleNamespace(cfg=cfg, metrics=rec, ingestor=Ingestor(engine, cfg, rec, identity))


def _ready() -> bool:
    return _state is not None


def _job(raw: bytes, batch: bool, signed, now: int, on_chain) -> tuple[int, bytes, list]:
    status, body = parse_and_ingest(_state, raw, batch, signed, now, on_chain)
    return status, body, _state.metrics.take()


_RETRY = (b'{"error":"an ingest process failed: send the request again (events it stored come back as '
          b'duplicates)","field":null,"retry_after":1}')


class IngestPool:
    def __init__(self, database_url: str, cfg, processes: int, db_identity: tuple[int, int] | None = None):
        self.database_url, self.cfg, self.processes = database_url, cfg, processes
        self.db_identity = db_identity
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        # spawn: the HTTP process has threads (event loop, scheduler); forking it would copy their locks
        ex = ProcessPoolExecutor(self.processes, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init, initargs=(self.database_url, self.cfg, self.db_identity))
        for f in [ex.submit(_ready) for _ in range(self.processes)]:  # start them now, not on the first request
            f.result()
        return ex

    async def run(self, metrics, raw: bytes, batch: bool, signed, now: int, on_chain=None) -> tuple[int, bytes]:
        ex = self._executor
        try:
            status, body, ops = await asyncio.get_running_loop().run_in_executor(ex, _job, raw, batch, signed, now,
                                                                                 on_chain)
        except BrokenProcessPool:
            # A pool process died (killed, out of memory). Its transaction either committed or rolled back
            # whole, and the kernel released its flock. Requests in flight on the broken pool all land
            # here; the first one replaces the pool.
            if self._executor is ex:
                ex.shutdown(wait=False, cancel_futures=True)
                self._executor = self._start()
            return 503, _RETRY
        replay(ops, metrics)
        return status, body

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)
