"""SQLite's side of ingestion: the write lock across threads and ingest processes (`SqliteWriteLock`), the
WAL checkpointer off the ingest path (`WalCheckpointer`), and `SqliteEventStore`, the store the Ingestor
writes through (metering/ingest/store.py): the request's transaction and the insert-then-dedup of a batch."""
from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import threading
import time
from typing import ContextManager
from urllib.parse import quote

from sqlalchemy.engine import Engine

from ..config import MeterConfig
from ..events import ValidEvent
from .results import AllAccepted, EventResult
from .rows import ROW_COLS


class WalCheckpointer:
    """Moves SQLite's WAL checkpoints off the ingest path. By default the committing connection copies the
    WAL back into the database (and fsyncs both) whenever the WAL passes 1,000 pages: with batches of
    1,000 events (~200 pages) every fifth request paid for it. The ingest connection raises its automatic
    threshold to `AUTO_PAGES` (a backstop if this thread falls behind) and, after each commit, wakes this
    thread, which runs a PASSIVE checkpoint (it never blocks writers or readers) on its own connection at
    most every `min_interval_s`. Durability is unchanged: a commit is in the WAL either way."""

    AUTO_PAGES = 16_384

    def __init__(self, db_path: str, min_interval_s: float = 1.0, idle_exit_s: float = 5.0):
        self.db_path, self.min_interval_s, self.idle_exit_s = db_path, min_interval_s, idle_exit_s
        self._wake = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def committed(self) -> None:
        self._wake.set()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="wal-checkpoint", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            if not self._wake.wait(self.idle_exit_s):
                with self._lock:  # exit only if no commit came in meanwhile (committed() checks under it too)
                    if not self._wake.is_set():
                        self._thread = None
                        return
                continue
            self._wake.clear()
            try:
                # mode=rw: never create a database file (the meter's may have been removed meanwhile)
                with contextlib.closing(sqlite3.connect(f"file:{quote(self.db_path)}?mode=rw", uri=True,
                                                         timeout=5)) as c:
                    c.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error:
                pass  # the committing connections' automatic checkpoint is the backstop
            time.sleep(self.min_interval_s)


def _sqlite_file(engine: Engine) -> str | None:
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    return db if db and db != ":memory:" and not db.startswith("file:") else None


class SqliteWriteLock:
    """One writer at a time across the threads AND processes (the ingest pool) writing one SQLite file.
    flock blocks in the kernel and wakes the next writer as soon as the lock is released; SQLite's own
    busy handler would sleep in growing steps (1, 2, 5, 10 ... 100 ms) and turn contention into latency."""

    def __init__(self, db_path: str):
        self._path = db_path + "-writelock"
        self._thread_lock = threading.Lock()
        self._fd: int | None = None
        self._pid = 0

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():  # a forked worker opens its own description
            self._fd, self._pid = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o600), os.getpid()
        return self._fd

    def __enter__(self):
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        return self

    def __exit__(self, *exc):
        try:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()


class SqliteEventStore:
    """The EventStore of a SQLite database (metering/ingest/store.py)."""

    def __init__(self, engine: Engine, cfg: MeterConfig):
        self.engine, self.cfg = engine, cfg
        db_file = _sqlite_file(engine)
        self.checkpointer = WalCheckpointer(db_file) if db_file else None
        # SQLite has one writer; threads of this process queue on a lock instead of in SQLite's busy
        # handler, which sleeps in growing steps and turns contention into latency spikes.
        self.write_lock: ContextManager = SqliteWriteLock(db_file) if db_file else threading.Lock()

    def committed(self) -> None:
        if self.checkpointer:
            self.checkpointer.committed()

    @contextlib.contextmanager
    def begin(self):
        """The request's transaction: BEGIN IMMEDIATE waits at most `cfg.ingest_busy_timeout_ms` for a write
        lock held by another process (the engine's connections wait 30 s, right for the jobs, far past an
        agent's timeout for ingestion); the connection's own timeout is restored afterwards."""
        with self.engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            prev = dbapi.execute("PRAGMA busy_timeout").fetchone()[0]
            dbapi.execute(f"PRAGMA busy_timeout={int(self.cfg.ingest_busy_timeout_ms)}")
            try:
                with conn.begin():
                    yield conn
            finally:
                with contextlib.suppress(Exception):
                    dbapi.execute(f"PRAGMA busy_timeout={int(prev)}")

    def write(self, conn, evs: list[ValidEvent], dks: list[bytes], rows: list[tuple]):
        """SQLite: insert everything with ON CONFLICT DO NOTHING and look at stored rows only when some
        insert did nothing (the common all-new batch costs no dedup look-up at all). The write lock is held
        (BEGIN IMMEDIATE), so the rows with an id above the previous maximum are exactly ours; a conflict
        raises and the whole transaction rolls back."""
        dbapi = conn.connection.dbapi_connection
        if self.checkpointer:  # per connection; cheap, and the pool may hand us a fresh one
            conn.exec_driver_sql(f"PRAGMA wal_autocheckpoint={WalCheckpointer.AUTO_PAGES}")
        max_id = conn.exec_driver_sql("SELECT max(id) FROM usage_events").scalar() or 0
        before = dbapi.total_changes
        conn.exec_driver_sql(f"INSERT INTO usage_events ({', '.join(ROW_COLS)}) VALUES ({', '.join(['?'] * len(ROW_COLS))}) "
                             "ON CONFLICT (dedup_key) DO NOTHING", rows)
        if dbapi.total_changes - before == len(rows):
            return AllAccepted(evs), rows
        stored: dict[bytes, tuple] = {}
        uniq = list(dict.fromkeys(dks))
        for k in range(0, len(uniq), 900):
            chunk = uniq[k:k + 900]
            for rid, dk, h, src, eid in conn.exec_driver_sql(
                    "SELECT id, dedup_key, payload_hash, source, event_id FROM usage_events WHERE dedup_key IN "
                    f"({', '.join(['?'] * len(chunk))})", tuple(chunk)):
                stored[bytes(dk)] = (rid > max_id, bytes(h), src, eid)
        results: list[EventResult] = []
        new_rows: list[tuple] = []
        seen: set[bytes] = set()
        for i, e in enumerate(evs):
            new, h, src, eid = stored[dks[i]]
            if new and dks[i] not in seen:  # the first of the batch with this key is the one inserted
                results.append(EventResult(i, e.event_id, e.source, "accepted"))
                new_rows.append(rows[i])
            elif (src, eid) == (e.source, e.event_id) and h == e.payload_hash:
                results.append(EventResult(i, e.event_id, e.source, "duplicate"))
            else:  # a different payload, or (odds ~2^-128) another (source, id) under the same key
                results.append(EventResult(i, e.event_id, e.source, "conflict", "id",
                                           "this (source, id) was already stored with a different payload", 409))
            seen.add(dks[i])
        return results, new_rows
