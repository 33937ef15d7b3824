"""Storage agent, S3 source: how long one sample of a bucket takes (a complete ListObjectsV2 listing, sizes
summed per storage class), against moto's S3 server in its own process on 127.0.0.1.

Baseline in the same run: the same pages fetched raw (plain HTTP GETs following the continuation tokens,
no signing, no XML parsing), i.e. the server's and the transport's floor. Also the agent process's own CPU
time per sample (signing, parsing, summing), which is what the agent costs wherever the server is: moto
builds each page by sorting the whole bucket, so its per-page time grows with the bucket, unlike S3's.

    .venv/bin/python bench/storage_s3_listing.py [--objects 100000] [--runs 3]

Prints one line per run, then a JSON line with the medians (the last line).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "metering")]

import httpx  # noqa: E402

from metering.agents.s3 import PAGE_KEYS, S3Listing, S3Location, S3Options, s3_client  # noqa: E402
from moto_s3 import MotoS3  # noqa: E402

CLASSES = ["STANDARD", "GLACIER", "STANDARD_IA", "DEEP_ARCHIVE"]
TOKEN = re.compile(rb"<NextContinuationToken>([^<]+)</NextContinuationToken>")


def raw_listing(url: str, bucket: str) -> int:
    pages, params = 0, {"list-type": "2", "max-keys": str(PAGE_KEYS)}
    with httpx.Client(base_url=url, timeout=120) as c:
        while True:
            r = c.get(f"/{bucket}", params=params)
            r.raise_for_status()
            pages += 1
            m = TOKEN.search(r.content)
            if not m:
                return pages
            params["continuation-token"] = m.group(1).decode()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--objects", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_EC2_METADATA_DISABLED="true")
    server = MotoS3().start()
    try:
        truth = server.seed("bench", a.objects, CLASSES, size_mod=65_521)
        src = S3Listing(S3Location("bench"), s3_client(S3Options(endpoint_url=server.url)))
        sample_s, base_s, cpu_s = [], [], []
        for run in range(a.runs):
            order = ("sample", "baseline") if run % 2 == 0 else ("baseline", "sample")
            for what in order:
                t, c = time.perf_counter(), time.process_time()
                if what == "sample":
                    got = src.measure()
                    assert {k: [v.bytes, v.objects] for k, v in got.items() if v.objects} == truth, "wrong totals"
                    sample_s.append(time.perf_counter() - t)
                    cpu_s.append(time.process_time() - c)
                else:
                    pages = raw_listing(server.url, "bench")
                    base_s.append(time.perf_counter() - t)
            print(f"run {run + 1}: sample {sample_s[-1]:.2f} s (agent CPU {cpu_s[-1]:.2f} s), raw pages "
                  f"{base_s[-1]:.2f} s, {pages} pages", flush=True)
    finally:
        server.stop()
    med = statistics.median
    print(json.dumps({"objects": a.objects, "pages": pages, "runs": a.runs,
                      "sample_s_median": round(med(sample_s), 3), "baseline_raw_pages_s_median": round(med(base_s), 3),
                      "ratio_to_baseline": round(med(sample_s) / med(base_s), 3),
                      "agent_cpu_s_median": round(med(cpu_s), 3),
                      "agent_cpu_ms_per_page": round(1000 * med(cpu_s) / pages, 2)}))


if __name__ == "__main__":
    main()
