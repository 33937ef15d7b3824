"""A settlement-engine process to be killed: runs crank passes until there is nothing left to do.

    python ledger_crash_worker.py DB_URL RPC_URL PAYER.json METER.json [--fault POINT:N]

With --fault, the process SIGKILLs itself the N-th time the executor reaches POINT (after the signature is
stored, after the send, after the confirmation is committed); without, the parent kills it at a random
moment. Used by tests/ledger/test_crash_recovery.py and bench/ledger_crash.py."""
from __future__ import annotations

import os
import signal
import sys


def main(argv: list[str]) -> int:
    db_url, rpc_url, payer_path, meter_path = argv[:4]
    fault_at = None
    if "--fault" in argv:
        point, n = argv[argv.index("--fault") + 1].split(":")
        fault_at = (point, int(n))
    from solders.pubkey import Pubkey

    from contracts import DEFAULT_PROGRAM_ID
    from contracts.client import BillingProgram
    from db import make_engine, make_session_factory
    from ledger.engine.chain import RpcChain
    from ledger.engine.jobs import Engine
    from solmeter.keys import load_keypair

    seen = {"n": 0}

    def fault(point: str) -> None:
        if fault_at and point == fault_at[0]:
            seen["n"] += 1
            if seen["n"] == fault_at[1]:
                os.kill(os.getpid(), signal.SIGKILL)

    sf = make_session_factory(make_engine(db_url))
    eng = Engine(sf, RpcChain(rpc_url), BillingProgram(Pubkey.from_string(DEFAULT_PROGRAM_ID)),
                 payer=load_keypair(payer_path), meter=load_keypair(meter_path), fault=fault, settle_chunk=4)
    settle = eng.settle_channels

    def announced_settle(lease=None):
        print("settling", flush=True)  # the parent kills at a random moment after this line
        return settle(lease)

    eng.settle_channels = announced_settle
    print("ready", flush=True)
    for _ in range(20):
        out = eng.crank_once()
        if (out["post_batches"] == 0 and out["settle_channels"]["confirmed"] == 0
                and out["settle_channels"]["in_flight"] == 0 and not eng.intents.open()):
            break
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
