"""Ingest benchmark: events per second through the HTTP API into SQLite with dedup, in signed batches of
1,000 events, p50/p99 latency per batch; baseline in the same run: a plain bulk insert (executemany) of
the same rows into the same schema, no HTTP, validation or dedup.

    .venv/bin/python bench/metering_ingest.py [--batches 100] [--batch-size 1000] [--runs 3]
                                              [--workers N] [--concurrency C] [--breakdown]
    .venv/bin/python bench/metering_ingest.py --database-url postgresql+psycopg://... --events N
                                              --replicas R [--json]     (PostgreSQL: bench/pg_ingest.py)

The meter runs as `solmeter meter serve --workers N --no-jobs` does (default: N = one ingest process
per core behind the HTTP process, one SQLite file) on 127.0.0.1; this process is the providers: C
keep-alive connections (default 2 per ingest process), each posting its next batch as soon as the previous one is answered. Requests are signed
before the clock starts (providers sign on their own machines), so the client's CPU share stays small; it
is reported per event beside the server's."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import msgspec
from solders.keypair import Keypair

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from db import make_engine, migrate  # noqa: E402
from contracts.evidence import H_EVIDENCE  # noqa: E402
from metering.auth import sign_request  # noqa: E402
from metering.agents.evidence import sign_request_groups  # noqa: E402
from metering.events import GPU_HEARTBEAT  # noqa: E402
from metering.ingest.parse import parse_body  # noqa: E402
from metering.ingest.rows import insert_rows, to_row  # noqa: E402
from metering.models import dedup_key, key_hash  # noqa: E402
from metering.rollup.usage import FAMILY  # noqa: E402
from metering.registry import add_provider  # noqa: E402

SERVER = r'''
import sys, uvicorn
sys.path.insert(0, {root!r})
from solders.keypair import Keypair
from db import make_engine
from metering.api import create_app
from metering.config import MeterConfig
from metering.events.limits import Limits

if __name__ == "__main__":  # the ingest pool spawns processes that import this module
    app = create_app(make_engine({url!r}), MeterConfig(limits=Limits(max_batch=10_000)),
                     Keypair.from_seed(bytes([7]) * 32), ingest_processes={procs})
    uvicorn.run(app, host="127.0.0.1", port={port}, log_level="warning", access_log=False)
'''


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    kids = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in kids.read_text().split()] if kids.exists() else []


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its live children (Linux /proc): a figure that other
    load on the machine does not inflate, unlike wall-clock throughput."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return 0.0
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return own + sum(proc_cpu_s(c) for c in _children(pid))


def make_batches(provider: Keypair, n_batches: int, size: int, now_ms: int) -> list[bytes]:
    pk = str(provider.pubkey())
    customers = [str(Keypair.from_seed(bytes([i + 10]) * 32).pubkey()) for i in range(10)]
    out = []
    t0 = now_ms - 3_600_000
    for b in range(n_batches):
        evs = []
        for i in range(size):
            k = b * size + i
            lease = k % 500
            t = t0 + (k // 500) * 30_000 % 3_000_000 + lease
            evs.append({"specversion": "1.0", "id": f"L{lease}:hb:{k}", "source": f"/providers/{pk}/bench",
                        "type": GPU_HEARTBEAT, "subject": customers[lease % 10],
                        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t // 1000)) + f".{t % 1000:03d}Z",
                        "data": {"lease_id": f"L{lease}", "provider": pk, "gpu_class": "H100", "gpu_count": 8,
                                 "interval_ms": 30_000}})
        out.append(json.dumps(evs, separators=(",", ":")).encode())
    return out


def sign_leases(engine, provider: Keypair, now_ms: int) -> None:
    """The customers' consent to what make_batches reports: lease L{i} of customer i % 10, 8 H100 (signed
    before the clock starts, as customers sign before any usage)."""
    from solders.pubkey import Pubkey

    from contracts import DEFAULT_PROGRAM_ID
    from contracts.lease import GpuResource, Lease
    from metering.leases import accept_lease, lease_body

    customers = [Keypair.from_seed(bytes([i + 10]) * 32) for i in range(10)]
    for lease in range(500):
        c = customers[lease % 10]
        doc = Lease(Pubkey.from_string(DEFAULT_PROGRAM_ID), f"L{lease}", c.pubkey(), provider.pubkey(), 1, (1 << 64) - 1,
                    now_ms - 2 * 3_600_000, now_ms + 86_400_000, lease.to_bytes(16, "little"), GpuResource("H100", 8))
        body = lease_body(doc, c)
        accept_lease(engine, body["encoding"], body["signature"], DEFAULT_PROGRAM_ID, now_ms)


def run_api(bodies: list[bytes], workdir: Path, provider: Keypair, workers: int = 1, concurrency: int = 1) -> dict:
    from concurrent.futures import ThreadPoolExecutor

    url = f"sqlite:///{workdir / 'api.db'}"
    engine = make_engine(url)
    migrate(engine)
    add_provider(engine, str(provider.pubkey()), int(time.time() * 1000))
    sign_leases(engine, provider, int(time.time() * 1000))
    engine.dispose()
    port = free_port()
    # The meter as `solmeter meter serve --workers N --no-jobs` runs it: one HTTP process and, for N > 1,
    # a pool of N ingest processes; batches of up to 10,000 allowed
    server = workdir / "bench_meter_server.py"
    server.write_text(SERVER.format(root=str(ROOT), url=url, port=port, procs=workers if workers > 1 else 0))
    proc = subprocess.Popen([sys.executable, str(server)])
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
        for _ in range(600):
            try:
                client.get("/healthz")
                break
            except httpx.HTTPError:
                time.sleep(0.05)
        # (the ingest pool has started: create_app waits for its processes)
        # The load generator stays light, so that the two cores measure the meter: requests are signed
        # before the clock starts (a provider signs on its own machine) and sent over keep-alive
        # connections with the standard library's http.client, one per concurrent provider.
        import http.client
        import threading

        now = int(time.time() * 1000)
        signed = []
        for body in bodies:
            h = sign_request(provider, "POST", "/v1/events/batch", body, now)
            h["content-type"] = "application/cloudevents-batch+json"
            h[H_EVIDENCE] = sign_request_groups(provider, body)  # per customer, as the agents send it
            signed.append((body, h))
        local = threading.local()

        def post(i: int) -> float:
            body, h = signed[i]
            conn = getattr(local, "conn", None)
            if conn is None:
                conn = local.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            t = time.perf_counter()
            conn.request("POST", "/v1/events/batch", body=body, headers=h)
            r = conn.getresponse()
            content = r.read()
            dt = time.perf_counter() - t
            # msgspec: the stdlib decoder of the 1,000 per-event results would take CPU from the server here
            assert r.status == 200 and msgspec.json.decode(content)["accepted"] == body.count(b'"specversion"'), content[:300]
            return dt

        cpu0 = proc_cpu_s(proc.pid)
        client_cpu0 = time.process_time()
        t_all = time.perf_counter()
        with ThreadPoolExecutor(concurrency) as pool:
            lat = list(pool.map(post, range(len(bodies))))
        total = time.perf_counter() - t_all
        server_cpu = proc_cpu_s(proc.pid) - cpu0
        client_cpu = time.process_time() - client_cpu0
        # replaying one batch: all duplicates (dedup is on the measured path, and it works)
        h = sign_request(provider, "POST", "/v1/events/batch", bodies[0], int(time.time() * 1000))
        r = client.post("/v1/events/batch", content=bodies[0], headers=h)
        assert r.json()["duplicates"] == bodies[0].count(b'"specversion"')
    finally:
        proc.terminate()
        proc.wait()
    n = sum(b.count(b'"specversion"') for b in bodies)
    lat.sort()
    return {"events": n, "seconds": total, "events_per_s": n / total, "server_cpu_s": server_cpu,
            "events_per_server_cpu_s": n / server_cpu if server_cpu else float("nan"),
            "client_cpu_us_per_event": client_cpu / n * 1e6,
            "p50_ms": statistics.median(lat) * 1000,
            "p99_ms": lat[min(len(lat) - 1, int(len(lat) * 0.99))] * 1000}


def run_bulk(bodies: list[bytes], workdir: Path, provider: Keypair) -> dict:  # noqa: ARG001
    """The same rows, already validated, inserted with executemany in one transaction per batch."""
    engine = make_engine(f"sqlite:///{workdir / 'bulk.db'}")
    migrate(engine)
    now = int(time.time() * 1000)
    rows_per_batch = []
    for body in bodies:
        items = parse_body(body, batch=True, max_batch=100_000, max_body_bytes=1 << 30)
        rows_per_batch.append([to_row(e, dedup_key(e.source, e.event_id),
                                      key_hash(e.provider, e.customer, FAMILY[e.kind], e.resource), now) for e in items])
    t = time.perf_counter()
    c0 = time.process_time()
    for rows in rows_per_batch:
        with engine.begin() as conn:
            insert_rows(conn, rows)
    total = time.perf_counter() - t
    cpu = time.process_time() - c0
    n = sum(len(r) for r in rows_per_batch)
    engine.dispose()
    return {"events": n, "seconds": total, "events_per_s": n / total, "events_per_cpu_s": n / cpu}


def _importable(name: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(name) is not None


def run_breakdown(bodies: list[bytes], workdir: Path, provider: Keypair, with_evidence: bool = True) -> dict:
    """Server CPU per event by stage, in-process (no HTTP): where the ceiling comes from."""
    from metering.auth import SignedRequest, verify_request
    from metering.config import MeterConfig
    from metering.events.limits import Limits
    from metering.ingest.service import Ingestor

    engine = make_engine(f"sqlite:///{workdir / 'breakdown.db'}")
    migrate(engine)
    pk = str(provider.pubkey())
    now = int(time.time() * 1000)
    add_provider(engine, pk, now)
    sign_leases(engine, provider, now)
    ing = Ingestor(engine, MeterConfig(limits=Limits(max_batch=10_000)))
    from metering.evidence import request_groups

    # evidence: the provider-signed groups (one ed25519 verification per customer of the request, the Merkle
    # root of its payload hashes); "transaction" is the rest of Ingestor.ingest (storing the groups included)
    cpu = {"signature": 0.0, "parse_validate": 0.0, "evidence": 0.0, "transaction": 0.0, "response": 0.0}
    for k, body in enumerate(bodies):
        h = sign_request(provider, "POST", "/v1/events/batch", body, now)
        evidence = sign_request_groups(provider, body) if with_evidence else None
        t0 = time.thread_time()
        verify_request(h, "POST", "/v1/events/batch", body, now, 60_000)
        t1 = time.thread_time()
        items = parse_body(body, batch=True, max_batch=10_000, max_body_bytes=1 << 30)
        t2 = time.thread_time()
        request_groups(evidence, pk, items)
        te = time.thread_time()
        out = ing.ingest(SignedRequest(pk, now, f"breakdown-{k}", evidence=evidence), items, now)
        t3 = time.thread_time()
        msgspec.json.encode(out.to_dict())
        t4 = time.thread_time()
        # ingest() verifies the groups itself: its time minus the evidence stage is the transaction
        for key, dt in zip(cpu, (t1 - t0, t2 - t1, te - t2, (t3 - te) - (te - t2), t4 - t3)):
            cpu[key] += dt
    n = sum(b.count(b'"specversion"') for b in bodies)
    engine.dispose()
    return {f"{k}_us_per_event": round(v / n * 1e6, 2) for k, v in cpu.items()}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--batches", type=int, default=100)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                    help="meter ingest processes (`meter serve --workers`; default: one per core)")
    ap.add_argument("--concurrency", type=int, default=0,
                    help="requests in flight, one connection each, as concurrent providers (default: 2 per process)")
    ap.add_argument("--breakdown", action="store_true", help="also measure server CPU per event by stage, in-process")
    ap.add_argument("--breakdown-only", action="store_true", help="only the in-process breakdown (no HTTP runs)")
    ap.add_argument("--database-url", help="PostgreSQL: N events through R meter replicas into this database "
                                           "(throw-away schemas), against a same-run COPY baseline")
    ap.add_argument("--events", type=int, default=1_000_000, help="with --database-url: events in all")
    ap.add_argument("--replicas", type=int, default=2, help="with --database-url: meter replicas")
    ap.add_argument("--json", action="store_true", help="with --database-url: the result as one JSON line")
    a = ap.parse_args()
    if a.database_url:
        from pg_ingest import main as pg_main

        pg_main(a)
        return
    a.concurrency = a.concurrency or 2 * a.workers
    provider = Keypair.from_seed(bytes([1]) * 32)
    if a.breakdown_only:
        with tempfile.TemporaryDirectory() as d:
            out = {}
            for ev in (True, False):  # alternating: the same machine state for both
                runs = [run_breakdown(make_batches(provider, a.batches, a.batch_size, int(time.time() * 1000)),
                                      Path(d) / f"{ev}-{i}", provider, with_evidence=ev) for i in range(a.runs)]
                out["with_evidence" if ev else "without_evidence"] = {
                    k: statistics.median([r[k] for r in runs]) for k in runs[0]}
        print(json.dumps({"runs": a.runs, "events_per_run": a.batches * a.batch_size, "batch_size": a.batch_size,
                          "customers_per_batch": 10, "server_cpu_by_stage_median": out}, indent=2))
        return
    results = []
    for run in range(a.runs):
        bodies = make_batches(provider, a.batches, a.batch_size, int(time.time() * 1000))
        with tempfile.TemporaryDirectory() as d:
            api = run_api(bodies, Path(d), provider, a.workers, a.concurrency)
            bulk = run_bulk(bodies, Path(d), provider)
        results.append((api, bulk))
        print(f"run {run + 1}: API {api['events_per_s']:,.0f} ev/s ({api['events_per_server_cpu_s']:,.0f} per server "
              f"CPU-second; p50 {api['p50_ms']:.1f} ms, p99 {api['p99_ms']:.1f} ms "
              f"per batch of {a.batch_size}; client {api['client_cpu_us_per_event']:.1f} CPU-us/event); bulk insert {bulk['events_per_s']:,.0f} ev/s "
              f"({bulk['events_per_cpu_s']:,.0f} per CPU-second); "
              f"ratio {api['events_per_s'] / bulk['events_per_s']:.2f}", flush=True)
    med = lambda xs: statistics.median(xs)  # noqa: E731
    breakdown = {}
    if a.breakdown:
        with tempfile.TemporaryDirectory() as d:
            runs = [run_breakdown(make_batches(provider, a.batches, a.batch_size, int(time.time() * 1000)), Path(d) / str(i),
                                  provider) for i in range(a.runs)]
        breakdown = {k: med([r[k] for r in runs]) for k in runs[0]}
    print(json.dumps({
        "runs": a.runs, "events_per_run": results[0][0]["events"], "batch_size": a.batch_size,
        "workers": a.workers, "concurrency": a.concurrency,
        "api_events_per_s_median": round(med([r[0]["events_per_s"] for r in results])),
        "api_events_per_server_cpu_s_median": round(med([r[0]["events_per_server_cpu_s"] for r in results])),
        "api_p50_ms_median": round(med([r[0]["p50_ms"] for r in results]), 2),
        "api_p99_ms_median": round(med([r[0]["p99_ms"] for r in results]), 2),
        "bulk_insert_events_per_s_median": round(med([r[1]["events_per_s"] for r in results])),
        "bulk_insert_events_per_cpu_s_median": round(med([r[1]["events_per_cpu_s"] for r in results])),
        "ratio_api_over_bulk_median": round(med([r[0]["events_per_s"] / r[1]["events_per_s"] for r in results]), 3),
        **({"server_cpu_by_stage_median": breakdown} if breakdown else {}),
        "cpus": os.cpu_count(),
        "uvicorn_http": "httptools" if _importable("httptools") else "h11",
        "uvicorn_loop": "uvloop" if _importable("uvloop") else "asyncio",
    }, indent=2))


if __name__ == "__main__":
    main()
