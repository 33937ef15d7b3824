#!/usr/bin/env python3
"""Receipts verified per second (ed25519 signature over the receipt id + Merkle inclusion proof).

Three ways, each measured in the same run on the same really-signed receipts:
  baseline   the per-receipt checks the reports use (checks.check_signature + checks.check_inclusion),
             one process
  bulk-1     auditor.bulk in this process (plain bytes, memoized proof steps)
  bulk-N     auditor.bulk across N worker processes (default: one per core)
Each figure is the median of --runs rounds (wall clock; each round runs the three ways in turn, so load
from elsewhere falls on all alike); the in-process ways are also given per CPU-second, which other work on
the machine does not skew. Target: >= 20,000 receipts/s.

    .venv/bin/python bench/auditor_verify.py [--receipts 16384] [--batch 1024] [--runs 5] [--workers N]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from auditor.bulk import items_of, verify_items  # noqa: E402
from auditor.checks import check_inclusion, check_signature  # noqa: E402
from auditor.sample import build_world  # noqa: E402

TARGET = 20_000


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receipts", type=int, default=16_384)
    ap.add_argument("--batch", type=int, default=1024, help="receipts per Merkle batch")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--json", action="store_true", help="print only the JSON result")
    a = ap.parse_args(argv)

    w = build_world(n_receipts=a.receipts, per_batch=a.batch, settle_every=a.receipts)
    receipts, batches = w.receipts, w.batches
    roots = {i: b.root for i, b in batches.items()}
    items = items_of(receipts, roots)

    def baseline() -> None:
        for s in receipts:
            b = batches[s.batch]
            if check_signature(s.receipt_id, s.signature, s.meter).failed or check_inclusion(
                    s.receipt_id, s.proof, b).failed:
                raise SystemExit("baseline: an honest receipt failed")

    def bulk1() -> None:
        if verify_items(items, workers=1):
            raise SystemExit("bulk-1: an honest receipt failed")

    results = {}
    with ProcessPoolExecutor(max_workers=a.workers) as pool:
        verify_items(items[: a.batch * a.workers], workers=a.workers, pool=pool)  # start the workers

        def bulkn() -> None:
            if verify_items(items, workers=a.workers, chunk=max(256, len(items) // (4 * a.workers)), pool=pool):
                raise SystemExit("bulk-N: an honest receipt failed")

        ways = (("baseline", baseline), ("bulk-1", bulk1), (f"bulk-{a.workers}", bulkn))
        rates: dict[str, list[float]] = {n: [] for n, _ in ways}
        cpu_rates: dict[str, list[float]] = {n: [] for n, _ in ways}
        # Rounds interleave the ways, so load from elsewhere on the machine falls on all of them alike.
        for _ in range(a.runs):
            for name, fn in ways:
                t, c = time.perf_counter(), time.process_time()
                fn()
                rates[name].append(len(items) / (time.perf_counter() - t))
                cpu_rates[name].append(len(items) / max(1e-9, time.process_time() - c))
        for name, _ in ways:
            results[name] = {"median_per_s": round(statistics.median(rates[name])),
                             "runs": [round(r) for r in rates[name]]}
            if name in ("baseline", "bulk-1"):
                # receipts per CPU-second of this process: what one core does, whatever else is running
                results[name]["median_per_cpu_s"] = round(statistics.median(cpu_rates[name]))

    base = results["baseline"]["median_per_s"]
    best_name = f"bulk-{a.workers}"
    out = {"receipts": a.receipts, "batch": a.batch, "workers": a.workers, "cpus": os.cpu_count(),
           "load_avg_1m": round(os.getloadavg()[0], 2), "results": results,
           "ratio_vs_baseline": {k: round(v["median_per_s"] / base, 2) for k, v in results.items()},
           "target_per_s": TARGET, "meets_target": results[best_name]["median_per_s"] >= TARGET}
    if a.json:
        print(json.dumps(out))
        return 0
    print(f"{a.receipts} receipts in batches of {a.batch}, {a.runs} runs each, load average {out['load_avg_1m']}")
    for k, v in results.items():
        print(f"  {k:10} {v['median_per_s']:>8} receipts/s  (x{out['ratio_vs_baseline'][k]:.2f} baseline)  "
              f"runs {v['runs']}")
    print(f"  target {TARGET}/s: {'met' if out['meets_target'] else 'NOT met'} by {best_name}")
    cpu1 = results["bulk-1"]["median_per_cpu_s"]
    print(f"  one core, CPU time only: {cpu1} receipts/CPU-s (x{a.workers} cores = {cpu1 * a.workers}/s "
          "when the cores are free)")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
