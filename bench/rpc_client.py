"""Which synchronous RPC client the project's jobs and CLIs use: the project's own (chain.RpcClient, httpx +
solders) against solana-py 0.41's AsyncClient driven synchronously (one event loop, run_until_complete per
call, as a sync facade over it would), on the same localnet, same calls, same process.

    .venv/bin/python bench/rpc_client.py [--calls 2000] [--runs 5]

Each run makes `calls` sequential requests (getAccountInfo of a token account, then getLatestBlockhash,
alternating) per client, interleaved client by client; the median per-call time is reported and the ratio
against the own client (the same-run baseline)."""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solders.keypair import Keypair  # noqa: E402
from spl.token.constants import TOKEN_PROGRAM_ID  # noqa: E402

import localnet  # noqa: E402
from chain import RpcClient  # noqa: E402
from localnet.solana_py import SplToken, SyncAsyncClient  # noqa: E402


def per_call(client, key, calls: int) -> float:
    """Seconds per call of `calls` alternating getAccountInfo / getLatestBlockhash; closes the client."""
    with client as c:
        c.get_slot()  # connection up
        t0 = time.perf_counter()
        for i in range(calls):
            if i % 2:
                c.get_latest_blockhash()
            else:
                c.get_account_info(key)
        return (time.perf_counter() - t0) / calls


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--calls", type=int, default=2000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    with localnet.start_in_process(slot_ms=400, cheats=False) as h, SyncAsyncClient(h.rpc_url) as setup:
        payer = Keypair()
        setup.confirm_transaction(setup.request_airdrop(payer.pubkey(), 10**10).value, sleep_seconds=0.05)
        token = SplToken.create_mint(setup, payer, payer.pubkey(), 6, TOKEN_PROGRAM_ID)
        key = token.create_associated_token_account(payer.pubkey())
        own, spy = [], []
        for _ in range(a.runs):
            own.append(per_call(RpcClient(h.rpc_url), key, a.calls))
            spy.append(per_call(SyncAsyncClient(h.rpc_url), key, a.calls))
    mo, ms = statistics.median(own), statistics.median(spy)
    print(f"own chain.RpcClient         {mo * 1e6:8.1f} us/call (median of {a.runs} x {a.calls})")
    print(f"solana-py AsyncClient, sync {ms * 1e6:8.1f} us/call  ratio {ms / mo:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
