"""Rent locked per receipt after settlement, with and without close_batch.

    .venv/bin/python bench/program_rent.py [--receipts 4096]

For each batch size n, one channel accrues `--receipts` receipts, committed in batches of n (as a meter
posting every batch interval would), and the crank settles the newest one; then the batches' retention
passes and the meter closes every batch (close_batch). Reported: lamports held by the program's accounts
per receipt once everything is settled, before and after the batches are closed, split into what scales
with receipts (Batch accounts) and what does not (Channel, Epoch, ProviderEpoch of the pair: per channel
and epoch, whatever the number of receipts). The baseline of the same run is the rent of one Batch account.
Runs the real program in LiteSVM; lamport figures are exact (no timing)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from contracts.merkle import MerkleTree  # noqa: E402
from contracts.testing import deploy, receipt_chain, settle  # noqa: E402


def ok(r):
    assert r.ok, r.logs
    return r


def one(receipts: int, per_batch: int) -> dict:
    d = deploy()
    h, prog = d.h, d.program
    c, p = d.customer(deposit=10**12), d.provider(stake=d.params["min_stake"])
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1000 * i for i in range(1, receipts + 1)])
    indexes, last = [], None
    for i in range(0, receipts, per_batch):
        group = rs[i:i + per_batch]
        tree = MerkleTree([r.receipt_id for r in group])
        cfg = h.config()
        ok(h.send([prog.post_batch(meter=d.meter.pubkey(), index=cfg.batch_count, root=tree.root, count=len(group),
                                   total=group[-1].cum_amount - (rs[i - 1].cum_amount if i else 0),
                                   config_version=cfg.version)], [d.meter]))
        indexes.append(cfg.batch_count)
        last = (cfg.batch_count, tree, len(group) - 1)
    idx, tree, leaf = last
    ok(settle(d, idx, tree, leaf, rs[-1], p.token_account))
    batch_rent = sum(h.lamports(prog.batch_address(i)) for i in indexes)
    per_pair = sum(h.lamports(a) for a in (prog.channel_address(c.pubkey, p.pubkey), prog.epoch_address(0),
                                                  prog.provider_epoch_address(p.pubkey, 0)))
    one_batch = h.lamports(prog.batch_address(indexes[0]))
    h.set_time(h.now() + d.params["batch_retention"])
    meter_before = h.lamports(d.meter.pubkey())
    for i in indexes:
        ok(h.send([prog.close_batch(meter=d.meter.pubkey(), index=i)], [d.meter]))
    refunded = h.lamports(d.meter.pubkey()) - meter_before + 5000 * len(indexes)  # fees aside
    left = sum(h.lamports(prog.batch_address(i)) for i in indexes)
    assert refunded == batch_rent and left == 0
    d.conservation()
    return {"batches": len(indexes), "batch_rent": batch_rent, "per_pair": per_pair, "one_batch": one_batch,
            "left": left}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--receipts", type=int, default=4096)
    args = ap.parse_args()
    n = args.receipts
    rows = [(k, one(n, k)) for k in (1, 16, 256, 2048) if k <= n]
    print(f"baseline: rent of one Batch account = {rows[0][1]['one_batch']:,} lamports\n")
    print(f"{n:,} receipts on one channel, newest settled:\n")
    print("| receipts per batch | batches | Batch rent per receipt, open | after close_batch |"
          " Channel + Epoch + ProviderEpoch (per pair, not per receipt) |")
    print("|---:|---:|---:|---:|---:|")
    for k, r in rows:
        print(f"| {k:,} | {r['batches']:,} | {r['batch_rent'] / n:,.1f} | {r['left'] / n:,.1f} | {r['per_pair']:,} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
