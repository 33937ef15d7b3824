"""Start-up of the console command: wall-clock seconds of whole `solmeter ...` processes (median of --runs,
after one warm-up), for `--help` (the root alone: typer, no command group), `customer status --help` (one
role group: the group's module and what it imports at module level) and `meter --help` (the meter's group: it
lists its commands, which import the meter's API, jobs and database, without loading them: solmeter/lazy.py).
--vs runs a second solmeter executable (another checkout's) in turn with the first, A B A B, so both see the
same load on a shared machine.

    .venv/bin/python bench/cli_startup.py --runs 5 [--vs /other/checkout/.venv/bin/solmeter]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = (["--help"], ["customer", "status", "--help"], ["meter", "--help"])


def once(exe: str, args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([exe, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--solmeter", default=str(Path(sys.executable).with_name("solmeter")))
    ap.add_argument("--vs", help="a second solmeter executable, timed in turn with the first")
    a = ap.parse_args()
    exes = [a.solmeter] + ([a.vs] if a.vs else [])
    for args in COMMANDS:
        times: dict[str, list[float]] = {e: [] for e in exes}
        for e in exes:
            once(e, args)  # warm-up: the page cache and __pycache__
        for _ in range(a.runs):
            for e in exes:
                times[e].append(once(e, args))
        for e in exes:
            t = times[e]
            print(f"solmeter {' '.join(args):24} {statistics.median(t):.3f} s median of {len(t)} "
                  f"(min {min(t):.3f}, max {max(t):.3f})  {e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
