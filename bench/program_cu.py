"""Compute units of every instruction of the billing program, and lamports of fees per settled receipt
when a channel settles after 1, 10, 100 and 1,000 receipts (the batches that commit them included).

    .venv/bin/python bench/program_cu.py [--runs 3]

Runs the real program in solders 0.29's LiteSVM on the mainnet feature set (its default), where the SPL Token
program id runs p-token. The baseline, measured in the same run, is a plain TransferChecked signed by a wallet
(what moving tokens costs without the program). Targets (issue 12): settle <= 12,000 CU, post_batch <= 3,000.
Figures are the median over --runs fresh deployments; CU are deterministic up to the canonical-bump
proofs of accounts created (one derivation per bump above the canonical one: seed-dependent), so the
runs mostly agree. --pairs fresh channels measure that spread: a settle that creates Epoch + ProviderEpoch
itself, against [prepare_settle, settle] where settle creates nothing (the customer opens the Channel
beforehand: settle never creates it)."""
from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from solders.instruction import AccountMeta, Instruction  # noqa: E402

from contracts.client import TOKEN_PROGRAM_ID  # noqa: E402
from contracts.testing import deploy, post_batch, receipt_chain, settle  # noqa: E402

LAMPORTS_PER_SIGNATURE = 5000


def ok(r):
    assert r.ok, r.logs
    return r


def program_cu(r, program_id) -> list[int]:
    """CU of each top-level instruction of the program in a transaction, from its logs."""
    out, depth = [], 0
    for line in r.logs:
        if line.endswith(" invoke [1]"):
            depth = 1
        if line.startswith(f"Program {program_id} consumed ") and depth == 1:
            out.append(int(line.split(" consumed ")[1].split(" of ")[0]))
    return out


def one_run() -> tuple[dict[str, int], dict[int, dict], int]:
    d = deploy()
    h, prog, m = d.h, d.program, d.mint
    cu: dict[str, int] = {}

    # baseline: a wallet-signed TransferChecked between two token accounts
    a = d.h.new_wallet()
    src, dst = d.fund(a, 1000), d.fund(d.h.new_wallet(), 0)
    base = ok(h.send([Instruction(TOKEN_PROGRAM_ID, bytes([12]) + (10).to_bytes(8, "little") + bytes([6]),
                                  [AccountMeta(src, False, True), AccountMeta(m, False, False),
                                   AccountMeta(dst, False, True), AccountMeta(a.pubkey(), True, False)])], [a]))
    baseline = base.compute_units

    c, p = d.customer(), d.provider(stake=d.params["min_stake"])
    kp = h.new_wallet()
    cu["register_customer"] = ok(h.send([prog.register_customer(wallet=kp.pubkey(), mint=m)], [kp])).compute_units
    h.track(m, prog.escrow_address(kp.pubkey()))
    ctok = d.fund(c.kp, 50_000_000)
    cu["deposit"] = ok(h.send([prog.deposit(wallet=c.pubkey, source=ctok, mint=m, amount=40_000_000)], [c.kp])).compute_units
    kp2 = h.new_wallet()
    pay2 = d.fund(kp2, 0)
    cu["register_provider"] = ok(h.send([prog.register_provider(wallet=kp2.pubkey(), payout=pay2, mint=m)], [kp2])).compute_units
    h.track(m, prog.stake_address(kp2.pubkey()))
    ptok = d.fund(p.kp, 5_000_000)
    cu["stake"] = ok(h.send([prog.stake(wallet=p.pubkey, source=ptok, mint=m, amount=4_000_000)], [p.kp])).compute_units
    cu["update_config"] = ok(h.send([prog.update_config(admin=d.admin.pubkey(), min_stake=1)], [d.admin])).compute_units
    cu["set_channel_limit (opens the channel)"] = ok(h.send([prog.set_channel_limit(
        wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=2**64 - 1)], [c.kp])).compute_units
    cu["set_channel_limit"] = ok(h.send([prog.set_channel_limit(
        wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=2**64 - 2)], [c.kp])).compute_units
    q = d.provider()
    d.open_channel(c, q)
    cu["prepare_settle (creates epoch, provider epoch)"] = ok(h.send([prog.prepare_settle(
        payer=h.payer.pubkey(), customer_wallet=c.pubkey, provider_wallet=q.pubkey, epoch=1)], [h.payer])).compute_units
    cu["prepare_settle (all exist)"] = ok(h.send([prog.prepare_settle(
        payer=h.payer.pubkey(), customer_wallet=c.pubkey, provider_wallet=q.pubkey, epoch=1)], [h.payer])).compute_units
    cu["fund_epoch (creates epoch)"] = ok(h.send([prog.fund_epoch(funder=c.pubkey, epoch=0, source=ctok, mint=m,
                                                                  amount=1_000_000)], [c.kp])).compute_units

    rs = receipt_chain(d, c.pubkey, p.pubkey, [1000 * i for i in range(1, 1025)], config_version=2)
    idx, tree, r = post_batch(d, rs)
    cu["post_batch"] = ok(r).compute_units
    cu["settle (first: creates provider epoch, proof depth 10)"] = ok(settle(d, idx, tree, 0, rs[0], p.token_account)).compute_units
    cu["settle (proof depth 10)"] = ok(settle(d, idx, tree, 1, rs[1], p.token_account)).compute_units
    for depth, n in ((0, 1), (4, 16), (7, 128)):
        rs_n = receipt_chain(d, c.pubkey, p.pubkey, [2_000_000 * (depth + 1) + i for i in range(1, n + 1)], config_version=2)
        # continue the channel: seq must exceed the last settled, so shift seqs past 2
        rs_n = [r.__class__(**{**r.__dict__, "seq": 10_000 * (depth + 1) + r.seq,
                               "prev_receipt_id": b"\x01" * 32}) for r in rs_n]
        i2, t2, rr = post_batch(d, rs_n)
        ok(rr)
        cu[f"settle (proof depth {depth})"] = ok(settle(d, i2, t2, n - 1, rs_n[n - 1], p.token_account)).compute_units

    cu["request_withdrawal"] = ok(h.send([prog.request_withdrawal(wallet=c.pubkey, amount=1_000)], [c.kp])).compute_units
    h.set_time(h.now() + d.params["withdrawal_delay"])
    cu["withdraw"] = ok(h.send([prog.withdraw(wallet=c.pubkey, destination=ctok, mint=m)], [c.kp])).compute_units
    cu["configure_auto_top_up"] = ok(h.send([prog.configure_auto_top_up(wallet=c.pubkey, source=ctok,
                                                                        threshold=2**64 - 1, amount=10)], [c.kp])).compute_units
    ok(h.approve(ctok, prog.config_address(), c.kp, 1_000))
    cu["top_up"] = ok(h.send([prog.top_up(customer_wallet=c.pubkey, source=ctok, mint=m)], [h.payer])).compute_units
    cu["request_unstake"] = ok(h.send([prog.request_unstake(wallet=p.pubkey, amount=1_000)], [p.kp])).compute_units
    h.set_time(h.now() + d.params["epoch_length"])
    cu["claim_rewards"] = ok(h.send([prog.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=m)],
                                    [p.kp])).compute_units
    h.set_time(h.now() + d.params["unstake_cooldown"])
    pe_now = h.current_epoch()
    # settle once more in the new epoch so the epoch with revenue is the open one, then withdraw
    cu["withdraw_stake"] = ok(h.send([prog.withdraw_stake(wallet=p.pubkey, destination=ptok, mint=m)], [p.kp])).compute_units
    cu["propose_slash"] = ok(h.send([prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0,
                                                        amount=10, evidence_hash=bytes(32), beneficiary=d.treasury)],
                                    [d.admin])).compute_units
    cu["contest_slash"] = ok(h.send([prog.contest_slash(wallet=p.pubkey, index=0, evidence_hash=bytes(32))],
                                    [p.kp])).compute_units
    cu["resolve_slash"] = ok(h.send([prog.resolve_slash(arbiter=d.arbiter.pubkey(), provider_wallet=p.pubkey, index=0,
                                                        uphold=True)], [d.arbiter])).compute_units
    cu["execute_slash"] = ok(h.send([prog.execute_slash(provider_wallet=p.pubkey, index=0, beneficiary=d.treasury,
                                                        mint=m)], [h.payer])).compute_units
    ok(h.send([prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=1, amount=10,
                                  evidence_hash=bytes(32), beneficiary=d.treasury)], [d.admin]))
    ok(h.send([prog.contest_slash(wallet=p.pubkey, index=1, evidence_hash=bytes(32))], [p.kp]))
    h.set_time(h.now() + d.params["contest_window"] + d.params["resolution_window"] + 1)
    cu["lapse_slash"] = ok(h.send([prog.lapse_slash(provider_wallet=p.pubkey, index=1)], [h.payer])).compute_units
    cu["set_treasury"] = ok(h.send([prog.set_treasury(admin=d.admin.pubkey(), treasury=d.fund(d.admin, 0))],
                                   [d.admin])).compute_units
    cu["set_payout"] = ok(h.send([prog.set_payout(wallet=p.pubkey, payout=p.token_account)], [p.kp])).compute_units
    cu["publish_price_book"] = ok(h.send([prog.publish_price_book(admin=d.admin.pubkey(), version=1,
                                                                  sha256=bytes(32))], [d.admin])).compute_units
    h.set_time(h.now() + d.params["batch_retention"])
    cu["close_batch"] = ok(h.send([prog.close_batch(meter=d.meter.pubkey(), index=idx)], [d.meter])).compute_units
    del pe_now
    d.conservation()

    fees = {}
    for n in (1, 10, 100, 1000):
        fees[n] = fee_run(n)
        fees[n]["prepared_settle_cu"] = fee_run(n, prepared=True)["settle_cu"]
    return cu, fees, baseline


def spread(pairs: int) -> dict:
    """First settlements of `pairs` fresh channels, each in a fresh epoch (so Channel, Epoch and
    ProviderEpoch are all new), with a 2,048-receipt batch (proof depth 11, the most a legacy
    transaction carries): settle alone creating all three, and settle after prepare_settle."""
    import hashlib

    d = deploy(epoch_length=60, settlement_window=60, withdrawal_delay=120)
    h = d.h
    filler = [hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(2047)]
    alone, prep, after = [], [], []
    for _ in range(pairs):
        for flow in ("alone", "prepared"):
            c, p = d.customer(deposit=10**9), d.provider(stake=d.params["min_stake"])
            d.open_channel(c, p)
            rs = receipt_chain(d, c.pubkey, p.pubkey, [1000])
            idx, tree, r = post_batch(d, rs, extra_ids=filler)
            ok(r)
            h.set_time(h.now() + 60)  # a fresh epoch: its Epoch does not exist yet
            kw = dict(payer=h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                      payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=h.current_epoch())
            if flow == "alone":
                alone.append(ok(h.send([d.program.settle(**kw)], [h.payer])).compute_units)
            else:
                a, b = program_cu(ok(h.send(d.program.prepared_settle(**kw), [h.payer])), h.program_id)
                prep.append(a)
                after.append(b)
    d.conservation()
    return {"alone": alone, "prepare": prep, "after": after}


def post_batch_spread(n: int) -> list[int]:
    """post_batch of `n` consecutive batches (indexes 0..n-1): its CU depends on the index's seeds (one
    derivation per bump above the canonical one in the creation's canonical-bump proof)."""
    d = deploy()
    c, p = d.customer(), d.provider()
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1000])
    out = []
    for _ in range(n):
        _, _, r = post_batch(d, rs)
        out.append(ok(r).compute_units)
    return out


def fee_run(n: int, prepared: bool = False) -> dict:
    """A channel accrues n receipts; the meter commits them in one batch, the crank settles once (with
    prepare_settle in front, in the same transaction, when `prepared`)."""
    d = deploy()
    c, p = d.customer(deposit=10**12), d.provider(stake=d.params["min_stake"])
    d.open_channel(c, p)  # the customer pays the Channel's rent
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1000 * i for i in range(1, n + 1)])
    meter0, crank0 = d.h.svm.get_balance(d.meter.pubkey()), d.h.svm.get_balance(d.h.payer.pubkey())
    idx, tree, r = post_batch(d, rs)
    ok(r)
    batch_rent = d.h.svm.get_balance(d.program.batch_address(idx))
    if prepared:
        kw = dict(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[-1], proof=tree.proof(n - 1),
                  payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=d.h.current_epoch())
        s = ok(d.h.send(d.program.prepared_settle(**kw), [d.h.payer]))
        s.compute_units = program_cu(s, d.h.program_id)[1]
    else:
        s = ok(settle(d, idx, tree, n - 1, rs[-1], p.token_account))
    meter_spent = meter0 - d.h.svm.get_balance(d.meter.pubkey())
    crank_spent = crank0 - d.h.svm.get_balance(d.h.payer.pubkey())
    fees = 2 * LAMPORTS_PER_SIGNATURE  # one signature on post_batch, one on settle
    created = sum(d.h.svm.get_balance(a) for a in (d.program.epoch_address(0),
                                                   d.program.provider_epoch_address(p.pubkey, 0)))
    assert meter_spent == LAMPORTS_PER_SIGNATURE + batch_rent
    assert crank_spent == LAMPORTS_PER_SIGNATURE + created
    d.conservation()
    return {"fees_per_receipt": fees / n, "batch_rent": batch_rent, "first_settle_rent": created,
            "settle_cu": s.compute_units}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--pairs", type=int, default=200, help="fresh channels for the first-settlement spread")
    args = ap.parse_args()
    runs = []
    for i in range(args.runs):
        print(f"run {i + 1}/{args.runs} ...", file=sys.stderr)
        runs.append(one_run())
    names = list(runs[0][0])
    baseline = statistics.median(r[2] for r in runs)
    print(f"baseline: wallet-signed SPL TransferChecked = {baseline:.0f} CU\n")
    print("| instruction | compute units (median) | x baseline |")
    print("|---|---:|---:|")
    for n in names:
        v = statistics.median(r[0][n] for r in runs)
        print(f"| {n} | {v:,.0f} | {v / baseline:.1f} |")
    print("\n| receipts per settlement | fee lamports per receipt | settle CU (alone: creates 2 accounts) |"
          " settle CU (after prepare_settle) | rent held by the batch account |")
    print("|---:|---:|---:|---:|---:|")
    for n in (1, 10, 100, 1000):
        f = statistics.median(r[1][n]["fees_per_receipt"] for r in runs)
        cu = statistics.median(r[1][n]["settle_cu"] for r in runs)
        pcu = statistics.median(r[1][n]["prepared_settle_cu"] for r in runs)
        rent = runs[0][1][n]["batch_rent"]
        print(f"| {n:,} | {f:,.1f} | {cu:,.0f} | {pcu:,.0f} | {rent:,} |")
    pb = sorted(post_batch_spread(args.pairs))
    print(f"\npost_batch of {args.pairs} consecutive batches: median {statistics.median(pb):,.0f} CU, min {pb[0]:,}, "
          f"p99 {pb[min(len(pb) - 1, int(0.99 * len(pb)))]:,}, max {pb[-1]:,}, "
          f"share above 3,000: {sum(x > 3000 for x in pb) / len(pb):.1%}")
    sp = spread(args.pairs)
    print(f"\nFirst settlement of {args.pairs} fresh channels (opened by their customers), each creating Epoch +"
          " ProviderEpoch, proof depth 11:\n")
    print("| flow | median CU | p99 CU | max CU | share above 30,000 |")
    print("|---|---:|---:|---:|---:|")
    for name, xs in (("settle alone (creates the two accounts)", sp["alone"]),
                     ("prepare_settle (creates them)", sp["prepare"]),
                     ("settle after prepare_settle", sp["after"])):
        xs = sorted(xs)
        p99 = xs[min(len(xs) - 1, int(0.99 * len(xs)))]
        above = sum(x > 30_000 for x in xs) / len(xs)
        print(f"| {name} | {statistics.median(xs):,.0f} | {p99:,} | {xs[-1]:,} | {above:.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
