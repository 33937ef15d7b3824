"""Settlement benchmark: receipts settled per second end to end, and fees per receipt, at 10, 100 and 1,000
channels, on the embedded localnet over JSON-RPC and SQLite.

For each size: a deployment with C customers x P providers (= channels), three sealed one-minute windows
of GPU usage per channel through metering's ingest/sealer/batcher (3 receipts per channel), then, timed:
post the batch, settle every channel (one transaction each, cumulative), follow the chain into the
ledger, reconcile (must be exact). Baseline, measured in the same run on the same node: as many plain
system transfers driven through the same intent executor. Reports the median of --runs runs.

    .venv/bin/python bench/ledger_settle.py [--sizes 10,100,1000] [--runs 3] [--json]
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "tests" / "ledger")]

from solders.keypair import Keypair  # noqa: E402
from solders.pubkey import Pubkey  # noqa: E402
from solders.system_program import TransferParams, transfer  # noqa: E402

SHAPES = {10: (5, 2), 100: (20, 5), 1000: (50, 20)}  # channels -> (customers, providers)


class TransferAction:
    kind = "transfer"

    def __init__(self, payer):
        self.payer = payer

    def instructions(self, payload):
        return [transfer(TransferParams(from_pubkey=self.payer.pubkey(), to_pubkey=Pubkey.from_string(payload["to"]),
                                        lamports=payload["lamports"]))], []

    def done(self, chain, payload):
        return False

    def on_confirmed(self, session, intent, signature):
        return None


def one_run(channels: int, workdir: Path) -> dict:
    from contracts import DEFAULT_PROGRAM_ID
    from contracts.client import BillingProgram
    from db import Base, make_engine, make_session_factory
    from ledger.engine.chain import RpcChain
    from ledger.engine.executor import Executor
    from ledger.engine.intents import IntentStore
    from ledger.engine.jobs import Engine
    from ledger.ops.bootstrap import bootstrap
    from ledger.ops.deployment import InitParams
    from ledger_helpers import MeterSim, start_node

    import ledger.accounting.models  # noqa: F401
    import ledger.engine.models  # noqa: F401
    import metering.models  # noqa: F401

    n_c, n_p = SHAPES[channels]
    node = start_node(workdir / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        program = BillingProgram(Pubkey.from_string(DEFAULT_PROGRAM_ID))
        w = bootstrap(chain, program_id=program.program_id, n_providers=n_p, n_customers=n_c,
                      wallet_tokens=10_000 * 10**6, stake=10**6, deposit=5_000 * 10**6,
                      params=InitParams(fee_bps=250, burn_bps=50))
        engine = make_engine(f"sqlite:///{workdir / 'bench.db'}")
        Base.metadata.create_all(engine)
        sf = make_session_factory(engine)
        meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
        base = (int(time.time() * 1000) - 3_600_000) // 60_000 * 60_000
        for pi, p in enumerate(w.providers):
            for ci, c in enumerate(w.customers):
                meter.heartbeats(p, str(c.pubkey()), f"l-{pi}-{ci}", base, 7)  # 3.5 minutes: 3 windows
        # One batch per sealed window keeps each batch at <= 1,000 receipts: a settle transaction carries the
        # receipt and its proof, and a legacy transaction (1,232 bytes) fits a proof of at most 11 hashes.
        batches = [b for b in (meter.seal_and_batch(base + m * 60_000) for m in range(1, 6)) if b is not None]
        n_receipts = sum(b.count for b in batches)
        eng = Engine(sf, chain, program, payer=w.admin, meter=w.meter, settle_chunk=128)
        eng.follow_chain()
        eng.accrue_receipts()
        payer_before = chain.lamports(w.admin.pubkey())
        meter_before = chain.lamports(w.meter.pubkey())

        t0 = time.perf_counter()
        eng.post_batches()
        out = eng.settle_channels()
        eng.follow_chain()
        t_settle = time.perf_counter() - t0
        recon = eng.reconcile()
        assert recon.ok and out["confirmed"] == channels, (out, [str(d) for d in recon.differences])

        sigs = [i.signature for i in eng.intents.all() if i.state == "confirmed"]
        fees, cus = 0, []
        for s in sigs:
            tx = chain.client.get_transaction(s)
            fees += tx.transaction.meta.fee
            if tx.transaction.meta.compute_units_consumed is not None:
                cus.append(tx.transaction.meta.compute_units_consumed)
        spent = (payer_before - chain.lamports(w.admin.pubkey())) + (meter_before - chain.lamports(w.meter.pubkey()))

        # Baseline: the same number of plain transfers through the same executor and node.
        store = IntentStore(sf)
        ex = Executor(sf, chain, w.admin, [TransferAction(w.admin)], poll_interval_s=0.05, confirm_polls=200)
        ids = [store.record(f"t:{i}", "transfer", str(i), {"to": str(Keypair().pubkey()), "lamports": 1_000_000}).id
               for i in range(channels)]
        t1 = time.perf_counter()
        for i in range(0, len(ids), 128):
            ex.drive_many(ids[i:i + 128])
        t_base = time.perf_counter() - t1
        return {"channels": channels, "receipts": n_receipts, "batches": len(batches), "settle_s": t_settle,
                "receipts_per_s": n_receipts / t_settle, "channels_per_s": channels / t_settle,
                "baseline_tx_per_s": channels / t_base, "ratio_vs_baseline": (channels / t_settle) / (channels / t_base),
                "tx_fee_lamports_per_receipt": fees / n_receipts, "lamports_spent_per_receipt": spent / n_receipts,
                "median_settle_cu": statistics.median(cus[1:]) if len(cus) > 1 else None}
    finally:
        node.stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10,100,1000")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    rows = []
    for n in [int(x) for x in a.sizes.split(",")]:
        runs = []
        for r in range(a.runs):
            with tempfile.TemporaryDirectory() as d:
                runs.append(one_run(n, Path(d)))
            print(f"  {n} channels run {r + 1}: {runs[-1]['receipts_per_s']:.0f} receipts/s", file=sys.stderr)
        med = {k: statistics.median([x[k] for x in runs]) if isinstance(runs[0][k], (int, float)) else runs[0][k]
               for k in runs[0]}
        rows.append(med)
    if a.json:
        print(json.dumps(rows, indent=2))
    else:
        print(f"{'channels':>8} {'receipts':>8} {'settle s':>9} {'receipts/s':>10} {'channels/s':>10} "
              f"{'baseline tx/s':>13} {'ratio':>6} {'fee lamports/receipt':>21} {'settle CU':>9}")
        for r in rows:
            print(f"{r['channels']:>8} {r['receipts']:>8} {r['settle_s']:>9.2f} {r['receipts_per_s']:>10.0f} "
                  f"{r['channels_per_s']:>10.1f} {r['baseline_tx_per_s']:>13.1f} {r['ratio_vs_baseline']:>6.2f} "
                  f"{r['tx_fee_lamports_per_receipt']:>21.0f} {r['median_settle_cu'] or 0:>9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
