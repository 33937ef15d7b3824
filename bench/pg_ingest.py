"""The PostgreSQL half of bench/metering_ingest.py (`--database-url`): N events through R meter replicas
(each a `solmeter meter serve --no-jobs` process on 127.0.0.1, one ingest process each) into one PostgreSQL
database, in signed batches of 1,000, two connections per replica; the rate over all N and per million
events (so decay shows); baseline in the same run: the same rows, as the meter stored them, COPYed by R
connections into a fresh schema of the same shape (partitioned usage_events, same indexes), 1,000 rows per
COPY and transaction. Everything runs in throw-away schemas of the database at URL, dropped at the end.

The customers' 500 leases are signed and stored before the clock starts (customers sign before any usage);
a batch the meter does not accept whole ends the run with one line and a nonzero exit: refused events are
not throughput. The JSON line also gives the CPU per event of the replica processes, of the whole
PostgreSQL server (same machine, /proc) and of this load generator, over the timed part."""
from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from solders.keypair import Keypair
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db import make_engine, migrate  # noqa: E402
from metering.auth import sign_request  # noqa: E402
from metering.events import GPU_HEARTBEAT  # noqa: E402
from metering.ingest.rows import ROW_COLS  # noqa: E402
from metering.partitions import ensure_ahead  # noqa: E402
from metering.registry import add_provider  # noqa: E402
from metering_ingest import free_port, proc_cpu_s, sign_leases  # noqa: E402  (the script this module serves)

SERVER = r'''
import sys, uvicorn
sys.path.insert(0, {root!r})
from solders.keypair import Keypair
from sqlalchemy import create_engine
from metering.api import create_app
from metering.config import MeterConfig
from metering.events.limits import Limits

app = create_app(create_engine({url!r}, connect_args={{"options": "-csearch_path={schema}"}}, pool_size=4),
                 MeterConfig(limits=Limits(max_batch=10_000)), Keypair.from_seed(bytes([7]) * 32))
uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
'''
BATCH = 1000


class Events:
    """Batch k of a deterministic stream of distinct heartbeats (500 leases, 10 customers, times in the
    last hour), built from a template: the load generator must stay light beside the meter."""

    def __init__(self, provider: Keypair, now_ms: int):
        pk = str(provider.pubkey())
        self.customers = [str(Keypair.from_seed(bytes([i + 10]) * 32).pubkey()) for i in range(10)]
        self.t0 = now_ms - 3_600_000
        self.head = '{"specversion":"1.0","id":"L%d:hb:%d","source":"/providers/' + pk + \
            '/bench","type":"' + GPU_HEARTBEAT + '","subject":"%s","time":"%s.%03dZ","data":{"lease_id":"L%d",' \
            '"provider":"' + pk + '","gpu_class":"H100","gpu_count":8,"interval_ms":30000}}'
        self._sec: dict[int, str] = {}

    def _iso(self, s: int) -> str:
        v = self._sec.get(s)
        if v is None:
            v = self._sec[s] = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(s))
        return v

    def body(self, b: int) -> bytes:
        parts = []
        for i in range(BATCH):
            k = b * BATCH + i
            lease = k % 500
            t = self.t0 + (k * 7) % 3_540_000
            parts.append(self.head % (lease, k, self.customers[lease % 10], self._iso(t // 1000), t % 1000, lease))
        return ("[" + ",".join(parts) + "]").encode()


def _schema(url: str, tag: str) -> tuple[str, object]:
    name = f"bench_{tag}_{uuid.uuid4().hex[:8]}"
    admin = make_engine(url)
    with admin.begin() as c:
        c.execute(text(f'CREATE SCHEMA "{name}"'))
    e = create_engine(url, connect_args={"options": f"-csearch_path={name}"})
    migrate(e)
    return name, e


def _drop(url: str, name: str) -> None:
    admin = make_engine(url)
    with admin.begin() as c:
        c.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
    admin.dispose()


def _per_million(done: list[tuple[float, int]], t_start: float, n: int) -> list[int]:
    """Events per second within each successive million (the last part, if short, is its own)."""
    done.sort()
    out, count, t_prev, mark = [], 0, t_start, 1_000_000
    for t, k in done:
        count += k
        if count >= mark or count == n:
            out.append(round((count - (mark - 1_000_000)) / (t - t_prev)))
            t_prev, mark = t, mark + 1_000_000
    return out


class Refused(Exception):
    """A batch the meter did not accept whole (the run stops: the figure would count refusals)."""


def _refusal(b: int, status: int, content: bytes) -> str:
    try:
        out = json.loads(content)
    except ValueError:
        return f"batch {b}: HTTP {status}: {content[:200]!r}"
    first = next((r for r in out.get("results", []) if r.get("status") != "accepted"), None) \
        if isinstance(out, dict) else None
    why = f"{first.get('field')}: {first.get('reason')}" if first else (out.get("error") if isinstance(out, dict) else out)
    accepted = out.get("accepted") if isinstance(out, dict) else None
    return f"batch {b}: HTTP {status}, {accepted} of {BATCH} accepted: {why}"


def _postmaster(engine) -> int:
    """The PostgreSQL server's postmaster pid (the parent of this connection's backend; same machine)."""
    with engine.connect() as c:
        backend = c.execute(text("SELECT pg_backend_pid()")).scalar()
    return int(Path(f"/proc/{backend}/stat").read_text().rsplit(")", 1)[1].split()[1])


def pg_cpu_s(postmaster: int) -> float:
    """CPU seconds of the whole PostgreSQL server: its live processes (backends, WAL writer, checkpointer,
    autovacuum) and those already ended (counted into the postmaster's cutime/cstime when reaped)."""
    fields = Path(f"/proc/{postmaster}/stat").read_text().rsplit(")", 1)[1].split()
    return proc_cpu_s(postmaster) + (int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def run_api(url: str, schema: str, events: Events, provider: Keypair, n_batches: int, replicas: int,
            postmaster: int) -> dict:
    ports = [free_port() for _ in range(replicas)]
    procs = []
    with tempfile.TemporaryDirectory() as d:
        for i, port in enumerate(ports):
            f = Path(d) / f"replica{i}.py"
            f.write_text(SERVER.format(root=str(ROOT), url=url, schema=schema, port=port))
            procs.append(subprocess.Popen([sys.executable, str(f)]))
        try:
            for port in ports:
                for _ in range(600):
                    try:
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                        c.request("GET", "/healthz")
                        c.getresponse().read()
                        break
                    except OSError:
                        time.sleep(0.1)
            local = threading.local()
            done: list[tuple[float, int]] = []
            lock = threading.Lock()
            next_thread = iter(range(1 << 30))
            stop = threading.Event()

            def post(b: int) -> None:
                if stop.is_set():
                    return
                body = events.body(b)
                h = sign_request(provider, "POST", "/v1/events/batch", body, int(time.time() * 1000))
                h["content-type"] = "application/cloudevents-batch+json"
                conn = getattr(local, "conn", None)
                if conn is None:
                    with lock:  # each connection to the next replica in turn: two per replica
                        port = ports[next(next_thread) % replicas]
                    conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                conn.request("POST", "/v1/events/batch", body=body, headers=h)
                r = conn.getresponse()
                content = r.read()
                if r.status != 200 or json.loads(content).get("accepted") != BATCH:
                    stop.set()
                    raise Refused(_refusal(b, r.status, content))
                with lock:
                    done.append((time.perf_counter(), BATCH))

            meter0, pg0, client0 = sum(proc_cpu_s(p.pid) for p in procs), pg_cpu_s(postmaster), time.process_time()
            t0 = time.perf_counter()
            with ThreadPoolExecutor(2 * replicas) as pool:
                list(pool.map(post, range(n_batches)))
            total = time.perf_counter() - t0
            meter_cpu, pg_cpu = sum(proc_cpu_s(p.pid) for p in procs) - meter0, pg_cpu_s(postmaster) - pg0
            client_cpu = time.process_time() - client0
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                p.wait()
    n = n_batches * BATCH
    return {"events": n, "seconds": round(total, 2), "events_per_s": round(n / total),
            "events_per_s_per_million": _per_million(done, t0, n),
            "meter_cpu_us_per_event": round(meter_cpu / n * 1e6, 1), "pg_cpu_us_per_event": round(pg_cpu / n * 1e6, 1),
            "client_cpu_us_per_event": round(client_cpu / n * 1e6, 1)}


def run_baseline(src, dst, replicas: int, n: int) -> dict:
    """COPY the rows the meter stored (text format, 1,000 a COPY and transaction) into `dst` over
    `replicas` connections at once."""
    cols = ", ".join(ROW_COLS)
    with tempfile.TemporaryDirectory() as d:
        files = []
        raw = src.raw_connection()
        try:
            cur = raw.cursor()
            for i in range(replicas):
                f = Path(d) / f"part{i}.copy"
                with open(f, "wb") as out, cur.copy(f"COPY (SELECT {cols} FROM usage_events WHERE id % {replicas} = {i}) "
                                                    "TO STDOUT") as cp:
                    for chunk in cp:
                        out.write(chunk)
                files.append(f)
        finally:
            raw.close()
        ensure_ahead(dst, int(time.time() * 1000), 24 * 3_600_000)

        def load(f: Path) -> None:
            lines = f.read_bytes().splitlines(keepends=True)
            conn = dst.raw_connection()
            try:
                cur = conn.cursor()
                for k in range(0, len(lines), BATCH):
                    with cur.copy(f"COPY usage_events ({cols}) FROM STDIN") as cp:
                        cp.write(b"".join(lines[k:k + BATCH]))
                    conn.commit()
            finally:
                conn.close()

        t0 = time.perf_counter()
        with ThreadPoolExecutor(replicas) as pool:
            list(pool.map(load, files))
        total = time.perf_counter() - t0
    return {"events": n, "seconds": round(total, 2), "events_per_s": round(n / total)}


def main(a) -> None:
    provider = Keypair.from_seed(bytes([1]) * 32)
    n_batches = max(1, a.events // BATCH)
    schema, e = _schema(a.database_url, "api")
    base_schema, base = _schema(a.database_url, "copy")
    try:
        add_provider(e, str(provider.pubkey()), int(time.time() * 1000))
        sign_leases(e, provider, int(time.time() * 1000))  # the customers' consent, before the clock starts
        ensure_ahead(e, int(time.time() * 1000), 24 * 3_600_000)  # the meter's job, run before the clock starts
        load0 = os.getloadavg()[0]
        try:
            api = run_api(a.database_url, schema, Events(provider, int(time.time() * 1000)), provider, n_batches,
                          a.replicas, _postmaster(e))
        except Refused as r:
            raise SystemExit(f"pg_ingest: the meter refused {r}: no figure (refused events are not throughput)") from None
        with e.connect() as c:
            stored = c.execute(text("SELECT count(*) FROM usage_events")).scalar()
        assert stored == api["events"], (stored, api["events"])
        baseline = run_baseline(e, base, a.replicas, api["events"])
        load1 = os.getloadavg()[0]
    finally:
        e.dispose()
        base.dispose()
        _drop(a.database_url, schema)
        _drop(a.database_url, base_schema)
    pm = api["events_per_s_per_million"]
    result = {
        "database": "postgresql", "events": api["events"], "replicas": a.replicas, "batch_size": BATCH,
        "events_per_s": api["events_per_s"], "baseline_events_per_s": baseline["events_per_s"],
        "ratio": round(api["events_per_s"] / baseline["events_per_s"], 3),
        "events_per_s_per_million": pm,
        "drop_first_to_last_million": round(1 - pm[-1] / pm[0], 3) if len(pm) > 1 else None,
        "api_seconds": api["seconds"], "baseline_seconds": baseline["seconds"],
        **{k: api[k] for k in ("meter_cpu_us_per_event", "pg_cpu_us_per_event", "client_cpu_us_per_event")},
        "cpus": os.cpu_count(), "loadavg_1m_before_after": [round(load0, 2), round(load1, 2)],
    }
    print(json.dumps(result) if a.json else json.dumps(result, indent=2), flush=True)
