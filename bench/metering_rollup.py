"""Rollup benchmark: events per second through the pure rollup (heartbeats -> GPU-ms, samples ->
byte-ms, egress), and through sealing in SQLite (recompute per key, key usage, receipts signed).
Baseline in the same run: a minimal pass that only groups the same rows by key (the floor of any
Python rollup over these rows).

    .venv/bin/python bench/metering_rollup.py [--leases 2000] [--heartbeats 400] [--runs 5] [--seal-events 100000]
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from solders.keypair import Keypair  # noqa: E402

from db import make_engine, migrate  # noqa: E402
from metering.config import MeterConfig  # noqa: E402
from metering.ingest.rows import insert_rows, to_row  # noqa: E402
from metering.events.envelope import ValidEvent  # noqa: E402
from metering.models import dedup_key, key_hash  # noqa: E402
from metering.receipts import Sealer  # noqa: E402
from metering.rollup.usage import FAMILY, rollup_channels  # noqa: E402

HB, SAMPLE = 1, 3


def make_rows(leases: int, heartbeats: int, t0: int) -> list[tuple]:
    rng = random.Random(7)
    customers = [str(Keypair.from_seed(bytes([i + 10]) * 32).pubkey()) for i in range(20)]
    provider = str(Keypair.from_seed(bytes([1]) * 32).pubkey())
    rows = []
    for k in range(heartbeats):  # time order, leases interleaved: how events arrive
        for lease in range(leases):
            t = t0 + k * 30_000 + lease + (rng.randrange(60_000) if rng.random() < 0.01 else 0)  # 1 % late/jittered
            if lease % 10 == 0:
                rows.append((customers[lease % 20], provider, SAMPLE, f"b{lease}", "STANDARD", 1 << 30, t, f"b{lease}:{k}"))
            else:
                rows.append((customers[lease % 20], provider, HB, f"L{lease}", "H100", 8, t, f"L{lease}:{k}"))
    return rows


def group_only(rows) -> int:
    keys: dict = {}
    for customer, provider, kind, resource, rclass, value, t_ms, event_id in rows:
        k = (customer, provider, kind, resource)
        pts = keys.get(k)
        if pts is None:
            keys[k] = pts = []
        pts.append((t_ms, kind, value, rclass, event_id))
    return len(keys)


def bench_pure(rows, end, runs):
    r_rates, b_rates, r_cpu = [], [], []
    for _ in range(runs):
        t, c = time.perf_counter(), time.process_time()
        out = rollup_channels(rows, end, heartbeat_timeout_ms=90_000, sample_timeout_ms=600_000)
        r_rates.append(len(rows) / (time.perf_counter() - t))
        r_cpu.append(len(rows) / (time.process_time() - c))
        t = time.perf_counter()
        group_only(rows)
        b_rates.append(len(rows) / (time.perf_counter() - t))
    gpu_ms = sum(q for ch in out.values() for (fam, _), q in ch.quantities.items() if fam == HB)
    return r_rates, b_rates, r_cpu, gpu_ms


def bench_seal(n_events: int) -> dict:
    cfg = MeterConfig()
    now = (int(time.time() * 1000) // 60_000) * 60_000
    t0 = now - 3_600_000
    leases = max(1, n_events // 100)
    rows = make_rows(leases, 100, t0)[:n_events]
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{Path(d) / 'seal.db'}")
        migrate(engine)
        db_rows = []
        for (c, p, kind, res, cls, v, t, eid) in rows:
            e = ValidEvent(f"/providers/{p}/bench", eid, kind, c, p, res, cls, v, t, "{}", b"\0" * 32)
            db_rows.append(to_row(e, dedup_key(e.source, eid), key_hash(p, c, FAMILY[kind], res), now))
        with engine.begin() as conn:
            insert_rows(conn, db_rows)
        sealer = Sealer(engine, cfg, Keypair.from_seed(bytes([7]) * 32))
        t = time.perf_counter()
        rep = sealer.seal_due(now + 120_000)
        dt = time.perf_counter() - t
        engine.dispose()
    return {"events": rep.events, "windows": rep.windows, "receipts": rep.receipts, "seconds": round(dt, 3),
            "events_per_s": round(rep.events / dt)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--leases", type=int, default=2000)
    ap.add_argument("--heartbeats", type=int, default=400)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--seal-events", type=int, default=100_000)
    a = ap.parse_args()
    t0 = 1_700_000_000_000
    rows = make_rows(a.leases, a.heartbeats, t0)
    end = t0 + a.heartbeats * 30_000 + 10**6
    r, b, rc, gpu_ms = bench_pure(rows, end, a.runs)
    for i in range(a.runs):
        print(f"run {i + 1}: rollup {r[i]:,.0f} ev/s ({rc[i]:,.0f} per CPU-second); group-only baseline {b[i]:,.0f} "
              f"ev/s; ratio {r[i] / b[i]:.2f}", flush=True)
    seal = bench_seal(a.seal_events) if a.seal_events else None
    print(json.dumps({
        "events": len(rows), "runs": a.runs, "gpu_ms_total": gpu_ms,
        "rollup_events_per_s_median": round(statistics.median(r)),
        "rollup_events_per_cpu_s_median": round(statistics.median(rc)),
        "group_only_baseline_events_per_s_median": round(statistics.median(b)),
        "ratio_rollup_over_baseline_median": round(statistics.median([x / y for x, y in zip(r, b)]), 3),
        "seal_in_sqlite": seal, "cpus": os.cpu_count(),
    }, indent=2))


if __name__ == "__main__":
    main()
