#!/usr/bin/env python3
"""Time the offline program build: rustc compile (warm core cache), the Python relinker (SBPF v3, the
default, and v0 for comparison), the whole warm build, and optionally the one-time core build in a cold
cache.

    .venv/bin/python bench/toolchain_build.py [--runs 5] [--cold]

Prints medians over --runs and the relinker's cost as a ratio of the rustc compile measured in the same
run (the baseline). Figures and the command are recorded in docs/bench-toolchain.md.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.toolchain.build import (  # noqa: E402
    PROGRAM_CRATE, PROGRAM_DIR, build_program, compile_object, default_cache_dir, ensure_core, find_toolchain)
from contracts.toolchain.relink import relink  # noqa: E402


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description="Time the offline SBF build.")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--cold", action="store_true", help="also time one core build in an empty cache")
    args = parser.parse_args()

    tc = find_toolchain()
    sysroot = ensure_core(tc, default_cache_dir())
    compile_s, relink_s, relink_v0_s, full_s = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        obj = compile_object(tc, sysroot, PROGRAM_DIR, PROGRAM_CRATE, work)
        data = obj.read_bytes()
        image, report = relink(data)
        image_v0, _ = relink(data, 0)
        for _ in range(args.runs):
            compile_s.append(timed(lambda: compile_object(tc, sysroot, PROGRAM_DIR, PROGRAM_CRATE, work)))
            relink_s.append(timed(lambda: relink(data)))
            relink_v0_s.append(timed(lambda: relink(data, 0)))
            full_s.append(timed(lambda: build_program(out=work / "p.so")))
        cold = None
        if args.cold:
            cold = timed(lambda: build_program(out=work / "cold.so", cache_dir=work / "cold-cache"))

    med = statistics.median
    print(f"program: SBPF v3 {len(image)} bytes (v0: {len(image_v0)}), .text {report.text_size} B, "
          f"object {len(data)} bytes; runs={args.runs}")
    print(f"rustc compile (warm core)  median {med(compile_s) * 1000:8.1f} ms   (baseline)")
    print(f"relink to v3 (Python)      median {med(relink_s) * 1000:8.1f} ms   "
          f"ratio {med(relink_s) / med(compile_s):.3f} of compile")
    print(f"relink to v0 (Python)      median {med(relink_v0_s) * 1000:8.1f} ms   "
          f"ratio {med(relink_v0_s) / med(compile_s):.3f} of compile")
    print(f"full warm build            median {med(full_s) * 1000:8.1f} ms")
    if cold is not None:
        print(f"cold build (core + program) once   {cold:8.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
