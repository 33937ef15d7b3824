"""When the database cannot take a write: refuse the request whole with a 503 (and Retry-After) instead of a
500, a 30-second wait or, worst, a 200 for events that were not durably stored.

- `StoreUnavailable`: the store cannot take this write now (disk full, locked by another process longer than
  the ingest busy timeout). The request's transaction rolled back whole: nothing of it is stored.
- `DatabaseGone` (a StoreUnavailable that does not pass): the SQLite file the meter opened was removed or
  replaced under it. Its open connections would go on writing into the removed file (or a stranger's), so
  every later write is refused and the process stops (`Tripwire`, `watch_database`): an operator must act.
- `FileIdentity`: the (st_dev, st_ino) of the SQLite file when the meter started; `check()` is one stat()
  call, made after each ingest commit and before its answer (a commit that went to a file no longer at the
  path is not acknowledged).
- `classify`: the driver's error -> StoreUnavailable, for the errors that are the ground moving rather than
  a bug (SQLITE_FULL, SQLITE_BUSY / LOCKED, SQLITE_IOERR, SQLITE_READONLY_DBMOVED; PostgreSQL's disk_full and
  lock_not_available).
"""
from __future__ import annotations

import contextlib
import logging
import os
import threading
import weakref
from typing import Callable

import uvicorn
from sqlalchemy import event

log = logging.getLogger("solmeter.meter")

# What an ingest waits for SQLite's write lock held by another process (another connection's open write
# transaction) before it answers 503: well under the agents' HTTP timeout of 10 s (metering/agents/client.py).
DEFAULT_INGEST_BUSY_TIMEOUT_MS = 2_000
RETRY_LOCKED_S = 2
RETRY_FULL_S = 30
RETRY_GONE_S = 30

# SQLite result codes (primary code = extended & 0xff)
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_READONLY, _SQLITE_IOERR, _SQLITE_FULL = 5, 6, 8, 10, 13
_SQLITE_READONLY_DBMOVED = _SQLITE_READONLY | (4 << 8)


class StoreUnavailable(Exception):
    """The store cannot take this write now; nothing of the request was stored (HTTP 503, Retry-After)."""

    kind = "unavailable"

    def __init__(self, reason: str, retry_after_s: int, kind: str | None = None):
        super().__init__(reason)
        self.reason, self.retry_after_s = reason, retry_after_s
        if kind:
            self.kind = kind


class DatabaseGone(StoreUnavailable):
    """The database file was removed or replaced while the meter had it open: fatal for the process."""

    kind = "gone"

    def __init__(self, reason: str):
        super().__init__(reason, RETRY_GONE_S)


def _ident(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return st.st_dev, st.st_ino


class FileIdentity:
    """The identity of the SQLite file at `path`, taken now (or passed in: a pool process checks against the
    identity its parent started with, not whatever file it finds when it starts)."""

    def __init__(self, path: str, expected: tuple[int, int] | None = None):
        self.path = path
        self.expected = expected if expected is not None else _ident(path)

    def check(self) -> None:
        """Raise DatabaseGone if the file at the path is not the one the meter opened."""
        now = _ident(self.path)
        if now == self.expected:
            return
        what = "removed" if now is None else "replaced by another file (or removed, and a new one made at its path)"
        raise DatabaseGone(
            f"database file {self.path} was {what} while the meter was running: writes since then may have gone "
            "to the removed file, so the meter refuses every write and stops. Restore the database from its "
            "backup (or put the original file back) and start the meter again")


def classify(exc: BaseException) -> StoreUnavailable | None:
    """The StoreUnavailable that `exc` (a SQLAlchemy DBAPIError or a driver error) stands for, or None."""
    orig = getattr(exc, "orig", None) or exc
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int):
        msg = str(orig)
        if code == _SQLITE_READONLY_DBMOVED:
            return DatabaseGone(f"SQLite says the database file was moved or removed ({msg}): restore the "
                                "database from its backup and start the meter again")
        if code & 0xFF == _SQLITE_FULL:
            return StoreUnavailable(f"the database's disk is full ({msg}): free space on its filesystem", RETRY_FULL_S,
                                    "disk-full")
        if code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED):
            return StoreUnavailable(f"the database is locked by another process ({msg})", RETRY_LOCKED_S, "locked")
        if code & 0xFF == _SQLITE_IOERR:
            return StoreUnavailable(f"the database file cannot be read or written ({msg}): check its disk and that "
                                    "the file is still there", RETRY_FULL_S, "io-error")
        return None
    state = getattr(orig, "sqlstate", None)
    if state in ("53100", "53200"):
        return StoreUnavailable(f"the database server is out of disk or memory ({state}: {orig})", RETRY_FULL_S,
                                "disk-full")
    if state == "55P03":
        return StoreUnavailable(f"the database is locked ({state}: {orig})", RETRY_LOCKED_S, "locked")
    return None


# PostgreSQL aborted the transaction to break a lock cycle (40P01) or a serialisation conflict (40001):
# nothing of it was stored and the same transaction again will in all likelihood succeed.
LOCK_CONFLICT_STATES = ("40P01", "40001")


def lock_conflict(exc: BaseException) -> str | None:
    """The SQLSTATE if `exc` is a transaction PostgreSQL aborted on a lock conflict (retry it), else None."""
    orig = getattr(exc, "orig", None) or exc
    state = getattr(orig, "sqlstate", None)
    return state if state in LOCK_CONFLICT_STATES else None


class Tripwire:
    """The first fatal fault of a process: logged once, in words, and `on_trip` callbacks are called once
    (the server is told to stop). Later trips only return."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.message: str | None = None
        self._callbacks: list[Callable[[], None]] = []

    def on_trip(self, cb: Callable[[], None]) -> None:
        with self._lock:
            self._callbacks.append(cb)
            fire = self.message is not None
        if fire:
            cb()

    def trip(self, message: str) -> None:
        with self._lock:
            if self.message is not None:
                return
            self.message = message
            callbacks = list(self._callbacks)
        log.critical("%s", message)
        for cb in callbacks:
            cb()

    @property
    def tripped(self) -> bool:
        return self.message is not None


def watch_database(identity: FileIdentity, tripwire: Tripwire, interval_s: float = 0.5) -> threading.Event:
    """Check the file's identity every `interval_s` in a daemon thread (so that a meter with no ingest traffic
    stops too); set the returned event to end the thread."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            try:
                identity.check()
            except DatabaseGone as e:
                tripwire.trip(str(e))
                return

    threading.Thread(target=run, name="database-watch", daemon=True).start()
    return stop


_GUARDS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()  # engine -> (FileIdentity, Tripwire)


def sqlite_path(engine) -> str | None:
    """The file of a SQLite engine (None: another database, or in memory)."""
    db = engine.url.database if engine.dialect.name == "sqlite" else None
    return db if db and db != ":memory:" and not db.startswith("file:") else None


def guard_engine(engine) -> tuple[FileIdentity, Tripwire] | None:
    """For a SQLite file: check the file's identity as every transaction of `engine` begins (before its
    BEGIN: one stat()), so that the jobs sharing the engine stop at their first transaction after the file
    went, with the tripwire's one line instead of a traceback each. Call it before anything uses the engine
    from another thread (listeners are not added safely under running transactions); idempotent."""
    path = sqlite_path(engine)
    if path is None:
        return None
    if engine in _GUARDS:
        return _GUARDS[engine]
    identity, tripwire = FileIdentity(path), Tripwire()

    def check(_conn) -> None:
        if tripwire.tripped:
            raise DatabaseGone(tripwire.message or "database file gone")
        try:
            identity.check()
        except DatabaseGone as e:
            tripwire.trip(str(e))
            raise

    event.listen(engine, "begin", check, insert=True)
    _GUARDS[engine] = (identity, tripwire)
    return identity, tripwire


def guard_of(engine) -> tuple[FileIdentity, Tripwire] | None:
    """The guard `guard_engine` put on `engine`, if any."""
    return _GUARDS.get(engine)


def serve_guarded(app, host: str, port: int, log_level: str = "warning",
                  on_fatal: tuple[Callable[[], None], ...] = ()) -> str | None:
    """uvicorn.run for the meter's app, stopped as soon as its tripwire trips (the database file removed or
    replaced). Returns the fatal message, or None when the server stopped for another reason (Ctrl-C).
    `on_fatal`: called on the trip (pause the schedulers); APScheduler's job errors are no longer logged then:
    the cause was logged once, and every run still in flight fails on the same missing file (a traceback
    each, otherwise)."""
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level=log_level))
    tripwire: Tripwire = app.state.tripwire
    identity: FileIdentity | None = app.state.db_identity
    stop = watch_database(identity, tripwire) if identity is not None else None

    def _stop() -> None:
        server.should_exit = True
        logging.getLogger("apscheduler").setLevel(logging.CRITICAL + 1)
        for cb in on_fatal:
            with contextlib.suppress(Exception):
                cb()

    tripwire.on_trip(_stop)
    try:
        server.run()
    finally:
        if stop is not None:
            stop.set()
    return tripwire.message
