"""Crash-recovery trials beyond the test suite: SIGKILL the settlement engine at random moments and at
chosen fault points, restart, and check that nothing was paid twice and no receipt was lost (the same
check as tests/ledger/test_crash_recovery.py, with more trials). Not a timing benchmark: it reports how
many trials killed the engine mid-settlement and that every invariant held.

    .venv/bin/python bench/ledger_crash.py [--trials 40] [--database-url URL]
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "ledger")]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=40)
    ap.add_argument("--seed", type=int, default=20261122)
    ap.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    a = ap.parse_args()

    from db import Base, make_engine, make_session_factory
    from test_crash_recovery import run_trials

    import ledger.accounting.models  # noqa: F401
    import ledger.engine.models  # noqa: F401
    import metering.models  # noqa: F401

    with tempfile.TemporaryDirectory() as d:
        url = a.database_url or f"sqlite:///{Path(d) / 'crash.db'}"
        engine = make_engine(url)
        Base.metadata.create_all(engine)
        t0 = time.perf_counter()
        kills = run_trials(url, make_session_factory(engine), engine, Path(d), a.trials, a.seed)
        print(f"{a.trials} trials in {time.perf_counter() - t0:.0f} s: {kills['random']} random SIGKILLs, "
              f"{kills['fault']} SIGKILLs at fault points ({kills['left_intents_open']} left an intent pending or "
              f"sent), {kills['finished_first']} finished before the kill; "
              f"after restart every channel settled exactly to its newest receipt, escrows paid exactly once, "
              f"ledger == chain")
    return 0


if __name__ == "__main__":
    sys.exit(main())
