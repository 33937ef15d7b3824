"""Nothing lost when the ground moves (issue 14): the database locked by another process, its disk full, its
file removed or replaced under a running meter. Each fault is injected for real (a second SQLite connection
holding BEGIN IMMEDIATE, a small tmpfs filled up, the file unlinked or swapped); ingest answers 503 with
Retry-After and the cause, never a 200 for an event it did not durably store, nothing of a refused batch is
written, and it recovers when the fault goes."""
import contextlib
import logging
import os
import sqlite3
import subprocess
import sys
import threading
import time

import httpx
import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from typer.testing import CliRunner

from db import make_engine, migrate
from meter_helpers import EventFactory, Poster, ServerThread, free_port, lease_bodies_for, sign_leases_for
from metering.agents.client import MeterClient, flush
from metering.agents.spool import Spool
from metering.api import create_app
from metering.auth import sign_request
from metering.config import MeterConfig
from metering.registry import add_provider
from metering.store_faults import DatabaseGone, FileIdentity, StoreUnavailable, classify

CUSTOMER = str(Keypair.from_seed(bytes([2]) * 32).pubkey())


def _count(engine) -> int:
    with engine.connect() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM usage_events").scalar()


class HeldLock:
    """Another process's open write transaction: a plain sqlite3 connection holding BEGIN IMMEDIATE until
    `release()` or `hold_s` (a backstop) has passed."""

    def __init__(self, path: str, hold_s: float = 20.0):
        self.path, self.hold_s = path, hold_s
        self.taken, self.done = threading.Event(), threading.Event()
        self.released_by_backstop = False
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        c = sqlite3.connect(self.path, isolation_level=None, timeout=5)
        c.execute("BEGIN IMMEDIATE")
        self.taken.set()
        if not self.done.wait(self.hold_s):
            self.released_by_backstop = True
        c.execute("ROLLBACK")
        c.close()

    def __enter__(self):
        self._t.start()
        assert self.taken.wait(10)
        return self

    def release(self):
        self.done.set()
        self._t.join(10)

    def __exit__(self, *exc):
        self.release()


@pytest.fixture
def fast_busy_cfg():
    return MeterConfig(window_ms=60_000, grace_ms=10_000, ingest_busy_timeout_ms=500)


def test_a_write_lock_held_by_another_process_is_a_503_with_retry_after_not_a_30_s_wait(
        engine, fast_busy_cfg, meter_kp, clock, provider_kp, ev, caplog):
    app = create_app(engine, fast_busy_cfg, meter_kp, clock=clock)
    with TestClient(app) as client:
        poster = Poster(client, clock, provider_kp)
        batch = [ev.hb("L1", clock.t - 60_000 + i * 1_000) for i in range(20)]
        sign_leases_for(engine, batch)
        # Given another process holds the database's write lock (an open BEGIN IMMEDIATE) for up to 20 s
        with caplog.at_level(logging.WARNING, logger="solmeter.meter"), HeldLock(engine.url.database) as lock:
            # When a batch arrives, twice
            r = poster.post(batch, sign_leases=False)
            r2 = poster.post(batch, sign_leases=False)
            lock.release()
        # Then each is answered 503 while the lock is still held (the ingest busy timeout, 0.5 s here, not the
        # engine's 30 s: a 30 s wait would have outlasted the holder and stored the batch), with Retry-After
        # and the cause, and nothing of it was stored
        assert not lock.released_by_backstop
        assert r.status_code == 503 and r2.status_code == 503, r.text
        assert int(r.headers["retry-after"]) >= 1
        assert "locked by another process" in r.json()["error"] and "nothing of this request was stored" in r.json()["error"]
        assert _count(engine) == 0
        # and the operator sees ONE warning for the episode, not one per request
        warnings = [m for m in caplog.messages if "locked by another process" in m]
        assert len(warnings) == 1, caplog.messages
        # When the lock is gone, the same events sent again are all stored
        r = poster.post(batch, sign_leases=False)
        assert r.status_code == 200 and r.json()["accepted"] == 20
        assert _count(engine) == 20
        # and the jobs' own connections kept the engine's longer busy timeout (only ingestion waits less)
        with engine.connect() as conn:
            assert conn.connection.dbapi_connection.execute("PRAGMA busy_timeout").fetchone()[0] == 30000


def test_the_agent_keeps_its_spool_on_a_503_and_delivers_once_the_lock_is_gone(
        engine, fast_busy_cfg, meter_kp, provider_kp, ev, tmp_path):
    now = time.time_ns() // 1_000_000
    app = create_app(engine, fast_busy_cfg, meter_kp)
    server = ServerThread(app, free_port()).start()
    try:
        events = [ev.hb("L2", now - 30_000 + i * 1_000) for i in range(10)]
        sign_leases_for(engine, events)
        spool = Spool(tmp_path / "spool")
        spool.put(events)
        client = MeterClient(server.url, provider_kp)
        with HeldLock(engine.url.database) as lock:
            rep = flush(spool, client)
            lock.release()
        assert not lock.released_by_backstop
        assert rep.error and "503" in rep.error and rep.remaining == 10 and rep.accepted == 0
        assert spool.count_events() == 10 and _count(engine) == 0
        rep = flush(spool, client)
        assert rep.error is None and rep.accepted == 10 and spool.count_events() == 0
        assert _count(engine) == 10
    finally:
        server.stop()


def test_a_removed_database_file_is_never_acknowledged_and_trips_the_meter(client, poster, ev, clock, engine):
    path = engine.url.database
    ok = poster.post([ev.hb("L3", clock.t - 50_000)])
    assert ok.status_code == 200
    # When the database file is removed under the running meter (its connections stay open)
    os.remove(path)
    r = poster.post([ev.hb("L3", clock.t - 40_000), ev.hb("L3", clock.t - 39_000)], sign_leases=False)
    # Then the write is refused with 503 (never 200: what was committed went to the removed file), the cause
    # and the fix are named, and the meter's tripwire has tripped (the server stops)
    assert r.status_code == 503, r.text
    assert "was removed while the meter was running" in r.json()["error"]
    assert "Restore the database from its backup" in r.json()["error"]
    assert client.app.state.tripwire.tripped
    # and every later write is refused too, even with a new file at the path (the meter's connections are
    # to the old one)
    e2 = make_engine(f"sqlite:///{path}")
    migrate(e2)
    r = poster.post([ev.hb("L3", clock.t - 30_000)], sign_leases=False)
    assert r.status_code == 503 and r.headers["retry-after"]
    assert _count(e2) == 0
    e2.dispose()


def test_a_replaced_database_file_is_refused(engine, cfg, meter_kp, clock, provider_kp, ev, tmp_path):
    app = create_app(engine, cfg, meter_kp, clock=clock)
    with TestClient(app) as client:
        poster = Poster(client, clock, provider_kp)
        assert poster.post([ev.hb("L4", clock.t - 50_000)]).status_code == 200
        other = tmp_path / "other.db"
        e2 = make_engine(f"sqlite:///{other}")
        migrate(e2)
        add_provider(e2, str(provider_kp.pubkey()), clock(), "p")
        e2.dispose()
        os.replace(other, engine.url.database)  # e.g. a backup restored over the live file
        r = poster.post([ev.hb("L4", clock.t - 40_000)])
        assert r.status_code == 503
        assert "was replaced by another file" in r.json()["error"]


def test_file_identity_and_fault_classification():
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "x.db")
        open(p, "w").close()
        ident = FileIdentity(p)
        ident.check()  # the same file: fine
        os.rename(p, p + ".old")
        open(p, "w").close()
        with pytest.raises(DatabaseGone, match="replaced"):
            ident.check()
        os.remove(p)
        with pytest.raises(DatabaseGone, match="removed"):
            ident.check()

    def sqlite_error(code: int):
        e = sqlite3.OperationalError("x")
        e.sqlite_errorcode = code
        return e

    assert classify(sqlite_error(13)).kind == "disk-full"
    assert classify(sqlite_error(5)).kind == "locked"
    assert classify(sqlite_error(5 | (1 << 8))).kind == "locked"  # SQLITE_BUSY_RECOVERY
    assert isinstance(classify(sqlite_error(8 | (4 << 8))), DatabaseGone)  # SQLITE_READONLY_DBMOVED
    assert classify(sqlite_error(1)) is None  # a plain SQL error is a bug, not the ground moving
    assert isinstance(classify(sqlite_error(13)), StoreUnavailable)


# ---- disk full: a real small filesystem --------------------------------------------------------------------

@pytest.fixture
def small_fs(tmp_path):
    """A 4 MiB tmpfs (the meter runs as root here and in CI); unmounted after the test."""
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs (needs root): {r.stderr.strip()}")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def _fill(directory) -> str:
    """Fill the filesystem to the last byte; returns the filler's path."""
    path = os.path.join(directory, "filler")
    with open(path, "wb", buffering=0) as f:
        chunk = b"\0" * 65536
        while True:
            try:
                f.write(chunk)
            except OSError:
                break
        for n in (4096, 512, 1):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * n)
    return path


def test_disk_full_is_a_503_with_retry_after_nothing_half_written_and_recovers(small_fs, meter_kp, clock, caplog):
    engine = make_engine(f"sqlite:///{small_fs / 'meter.db'}")
    migrate(engine)
    cfg = MeterConfig(window_ms=60_000, grace_ms=10_000)
    kp = Keypair.from_seed(bytes([1]) * 32)
    add_provider(engine, str(kp.pubkey()), clock(), "p")
    ev = EventFactory(kp, CUSTOMER)
    app = create_app(engine, cfg, meter_kp, clock=clock)
    try:
        with TestClient(app) as client, caplog.at_level(logging.WARNING, logger="solmeter.meter"):
            poster = Poster(client, clock, kp)
            assert poster.post([ev.hb("F0", clock.t - 59_000)]).status_code == 200
            # Given the database's filesystem is full
            big = [ev.hb(f"F{i % 7 + 1}", clock.t - 3_000_000 + i * 10, eid=f"full-{i}") for i in range(1000)]
            sign_leases_for(engine, big)
            filler = _fill(small_fs)
            # When a batch of 1,000 events arrives, twice
            answers = [poster.post(big, sign_leases=False) for _ in range(2)]
            # Then each is a 503 with Retry-After naming the disk, and none of the batch is stored
            for r in answers:
                assert r.status_code == 503, r.text
                assert int(r.headers["retry-after"]) >= 1
                assert "disk is full" in r.json()["error"]
            os.remove(filler)
            assert _count(engine) == 1
            assert len([m for m in caplog.messages if "disk is full" in m]) == 1, caplog.messages
            # When space returns, the same batch is stored whole
            r = poster.post(big, sign_leases=False)
            assert r.status_code == 200 and r.json()["accepted"] == 1000, r.text
            assert _count(engine) == 1001
            assert any("succeed again" in m for m in caplog.messages)
    finally:
        engine.dispose()


# ---- the serving process: exits with one line ----------------------------------------------------------------

def test_meter_serve_exits_non_zero_with_one_line_when_its_database_file_is_removed(isolated_env, monkeypatch):
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    kp = Keypair()
    r = CliRunner().invoke(__import__("solmeter.cli", fromlist=["app"]).app,
                           ["meter", "providers", "add", str(kp.pubkey())])
    assert r.exit_code == 0, r.output
    db = isolated_env / "data" / "solmeter.db"
    assert db.exists(), list((isolated_env / "data").iterdir())
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "meter", "serve", "--port", str(port),
                             "--no-follow-chain", "--window-s", "1", "--grace-s", "0", "--batch-interval-s", "1"],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/healthz", timeout=5).status_code == 200:
                    break
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline
            time.sleep(0.1)
        f = EventFactory(kp, CUSTOMER)
        now = time.time_ns() // 1_000_000
        events = [f.hb("S1", now - 5_000 + i * 1_000) for i in range(3)]
        [lease] = lease_bodies_for(events)
        assert httpx.post(url + "/v1/leases", json=lease).status_code == 201

        def post(k, evs):
            body = __import__("json").dumps(evs).encode()
            h = sign_request(kp, "POST", "/v1/events/batch", body, now + k)
            return httpx.post(url + "/v1/events/batch", content=body, timeout=10,
                              headers={**h, "content-type": "application/cloudevents-batch+json"})

        assert post(0, events).status_code == 200
        # When the database file is removed, and usage keeps coming
        os.remove(db)
        answers = []
        for k in range(1, 200):
            try:
                answers.append(post(k, [f.hb("S1", now + k, eid=f"after-{k}")]).status_code)
            except httpx.HTTPError:
                break  # the server has stopped
            if proc.poll() is not None:
                break
        # Then no event after the removal is acknowledged
        assert 200 not in answers, answers
        # and the process exits non-zero with one clear line, no traceback
        assert proc.wait(timeout=60) == 1
        err = proc.stderr.read().decode()
        assert "Traceback" not in err, err
        # removed (or "replaced" when the jobs' new connection made an empty file at the path first)
        lines = [ln for ln in err.splitlines() if " was removed" in ln or " was replaced" in ln]
        assert len(lines) <= 2 and any(ln.startswith("error: database file ") for ln in lines), err
        assert "Restore the database from its backup" in lines[-1]
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=30)


class _PgAbort(Exception):
    """What psycopg raises when PostgreSQL aborts a transaction: the SQLSTATE on the driver's exception."""

    def __init__(self, sqlstate: str):
        super().__init__(f"deadlock detected (SQLSTATE {sqlstate})\nDETAIL: Process 1 waits for ShareLock ...")
        self.sqlstate = sqlstate


@pytest.mark.parametrize("sqlstate", ["40P01", "40001"])
def test_a_transaction_aborted_on_a_lock_conflict_is_retried_and_never_a_500(
        client, poster, ev, clock, engine, monkeypatch, caplog, sqlstate):
    """Replicas on one PostgreSQL: a transaction the server aborts on a deadlock or a serialisation failure
    stored nothing and is run again; if it keeps being aborted, the answer is 503 with Retry-After (load),
    never a 500."""
    from sqlalchemy.exc import OperationalError

    from metering.ingest.service import Ingestor

    real = Ingestor._transaction
    aborts = {"left": 1}

    def flaky(self, *a, **kw):
        if aborts["left"] > 0:
            aborts["left"] -= 1
            raise OperationalError("INSERT ...", {}, _PgAbort(sqlstate))
        return real(self, *a, **kw)

    monkeypatch.setattr(Ingestor, "_transaction", flaky)
    batch = [ev.hb("L1", clock.t - 60_000 + i * 1_000) for i in range(5)]
    r = poster.post(batch)
    assert r.status_code == 200 and r.json()["accepted"] == 5, r.text
    assert _count(engine) == 5
    aborts["left"] = 3  # every attempt aborted
    again = [ev.hb("L1", clock.t - 30_000 + i * 1_000) for i in range(5)]
    with caplog.at_level(logging.WARNING, logger="solmeter.meter"):
        r = poster.post(again)
    assert r.status_code == 503 and int(r.headers["retry-after"]) >= 1, r.text
    assert "lock conflict three times" in r.json()["error"] and sqlstate in r.json()["error"]
    assert _count(engine) == 5 and aborts["left"] == 0
    # once the conflict is gone the same events are stored
    r = poster.post(again)
    assert r.status_code == 200 and r.json()["accepted"] == 5 and _count(engine) == 10
