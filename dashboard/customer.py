"""The customer view's figures: escrow and wallet (chain), paused flag, burn rate and runway (meter),
channels with their spending limits (chain), auto top-up allowance left (the SPL delegate allowance on the
wallet's token account), the withdrawal countdown, usage over time per resource class and per lease, and
the latest receipts."""
from __future__ import annotations

import json
import math

from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts.client import U64_MAX, decode_account_as, params_at
from contracts.client.gen.accounts import Channel
from ledger.engine.models import Intent
from ledger.ops import roles, token
from ledger.ops.deployment import read_account, read_config
from metering.reads import customer_key_usage, customer_leases, customer_receipts, posted_batch_signatures
from metering.rollup.pricing import FAMILY_NAMES
from metering.status import meter_customer_status

from .shape import amount, at_s

RECEIPTS_SHOWN = 100
CHART_BUCKETS = 24
CHANNEL_CUSTOMER_OFFSET = 8  # Channel: discriminator, then the customer's wallet


def delegated_allowance(data: bytes | None) -> tuple[str | None, int]:
    """(delegate, delegated amount) of an SPL token account's bytes (the token program's fixed layout)."""
    if data is None or len(data) < 129 or int.from_bytes(data[72:76], "little") != 1:
        return None, 0
    return str(Pubkey.from_bytes(data[76:108])), int.from_bytes(data[121:129], "little")


def lease_json(v: dict, decimals: int) -> dict:
    """A signed lease as the customer view lists it (terms, cap in tokens, revocation)."""
    r = v["resource"]
    what = (f"{r['gpu_count']} × {r['gpu_class']}" if r["kind"] == "gpu"
            else f"bucket {r['bucket']} ({', '.join(sorted(r['classes']))})")
    return {"id": v["lease_id"], "provider": v["provider"], "what": what, "cap": amount(v["cap"], decimals),
            "start_ms": v["start_ms"], "expires_ms": v["expiry_ms"], "revoked_at_ms": v["revoked_at_ms"],
            "revoked": v["revoked_at_ms"] is not None, "lease_hash": v["lease_hash"],
            "price_book_version": v["price_book_version"]}


def usage_series(receipts: list[dict], buckets: int = CHART_BUCKETS) -> dict:
    """This period's quantity of each receipt line, summed per family and resource class into equal time
    buckets over the receipts' span: {family: {"unit", "start_ms", "bucket_ms", "series": {class: [q...]}}}."""
    lines = [(r["period_end"] * 1000, ln) for r in receipts for ln in r["lines"] if ln["quantity"]]
    if not lines:
        return {}
    t0 = min(t for t, _ in lines)
    t1 = max(t for t, _ in lines)
    step = max(60_000, -(-(t1 - t0 + 1) // buckets))
    out: dict = {}
    for t, ln in lines:
        fam = out.setdefault(ln["family"], {"unit": ln["unit"], "start_ms": t0, "bucket_ms": step, "series": {}})
        row = fam["series"].setdefault(ln["rclass"], [0] * buckets)
        row[min(buckets - 1, (t - t0) // step)] += int(ln["quantity"])
    return out


def customer_view(ctx, wallet: str, now_ms: int) -> dict:
    chain, dep = ctx.chain, ctx.deployment
    d = dep.decimals
    key = Pubkey.from_string(wallet)
    st = roles.onchain_customer_status(chain, dep, key)
    acct = read_account(chain, "Customer", dep.program.customer_address(key))
    cfg = read_config(chain, dep.program)
    chain_now = chain.unix_time()
    params = params_at(cfg, chain_now)
    withdrawal = None
    if acct is not None and int(acct.withdrawal_amount):
        ready = int(acct.withdrawal_requested_at) + int(params.withdrawal_delay)
        withdrawal = {"amount": amount(int(acct.withdrawal_amount), d), "requested_ms": at_s(int(acct.withdrawal_requested_at)),
                      "ready_ms": ready * 1000, "usable_until_ms": (ready + int(params.withdrawal_delay)) * 1000,
                      "seconds_left": max(0, ready - chain_now)}
    delegate, allowance = delegated_allowance(chain.account_data(token.ata(key, dep.mint_key)))
    channels = []
    for pa in chain.program_accounts(dep.program.program_id, memcmp=[(0, Channel.DISCRIMINATOR), (CHANNEL_CUSTOMER_OFFSET, bytes(key))]):
        ch = decode_account_as("Channel", pa.data)
        if str(ch.customer) != wallet:
            continue
        limit = int(ch.limit_per_epoch)
        channels.append({"provider": str(ch.provider), "address": str(pa.address), "settled": amount(int(ch.settled_amount), d),
                         "last_seq": int(ch.last_seq), "limit_per_epoch": None if limit == U64_MAX else amount(limit, d),
                         "spent_in_epoch": amount(int(ch.spent_in_epoch), d), "spent_epoch": int(ch.spent_epoch),
                         "link": ctx.explorer("address", pa.address)})
    channels.sort(key=lambda c: c["provider"])
    with ctx.session_factory() as s:  # the engine's latest confirmed settlement of each channel
        for c in channels:
            sig = s.execute(select(Intent.signature).where(Intent.kind == "settle", Intent.state == "confirmed",
                                                           Intent.subject == f"{wallet}:{c['provider']}")
                            .order_by(Intent.id.desc()).limit(1)).scalar()
            c["last_settlement"] = sig
            c["settlement_link"] = ctx.explorer("tx", sig) if sig else None
    with ctx.engine.connect() as conn:
        meter = meter_customer_status(conn, wallet, now_ms, ctx.escrow)
        rows = customer_receipts(conn, wallet)
        key_usage = customer_key_usage(conn, wallet)
        posted = posted_batch_signatures(conn)
        held = customer_leases(conn, wallet, now_ms)
        leases = [lease_json(v, d) for v in held.views]
        full_rate = held.burn_per_hour
    receipts = [{"provider": r.provider, "seq": r.seq, "receipt_id": r.receipt_id.hex(), "period_start": r.period_start,
                 "period_end": r.period_end, "cum_amount": r.cum_amount, "new_amount": r.new_amount, "batch_id": r.batch_id,
                 "lines": json.loads(r.detail)["lines"]} for r in rows]
    shown = []
    for r in reversed(receipts[-RECEIPTS_SHOWN:]):
        sig = posted.get(r["batch_id"])
        shown.append({"provider": r["provider"], "seq": r["seq"], "receipt_id": r["receipt_id"],
                      "period_start_ms": r["period_start"] * 1000, "period_end_ms": r["period_end"] * 1000,
                      "cum_amount": amount(r["cum_amount"], d), "new_amount": amount(r["new_amount"], d),
                      "batch_id": r["batch_id"], "batch_tx": sig, "batch_link": ctx.explorer("tx", sig) if sig else None})
    return {
        "wallet": wallet, "decimals": d, "registered": st.registered,
        "escrow": amount(st.escrow, d), "wallet_balance": amount(st.wallet_balance, d),
        "deposited": amount(st.total_deposited, d), "settled": amount(st.total_settled, d),
        "paused": bool(meter["paused"]), "paused_reason": meter["paused_reason"],
        "billed": amount(meter["billed_total"], d), "burn_rate_per_hour": amount(meter["burn_rate_per_hour"], d),
        "runway_seconds": meter["runway_seconds"], "runway_note": meter["runway_note"],
        "lease_burn_per_hour": amount(math.ceil(full_rate), d),
        "lease_runway_seconds": (max(0, meter["available_balance"]) * 3600 * full_rate.denominator // full_rate.numerator
                                 if full_rate and meter["available_balance"] is not None else None),
        "withdrawal": withdrawal,
        "auto_top_up": {"threshold": amount(st.top_up_threshold, d), "amount": amount(st.top_up_amount, d),
                        "allowance_left": amount(allowance, d), "delegate": delegate} if st.top_up_amount else None,
        "channels": channels,
        "usage": usage_series(receipts),
        "leases_usage": [{"provider": l.provider, "family": FAMILY_NAMES.get(l.kind, str(l.kind)), "resource": l.resource,
                          "class": l.rclass, "quantity": str(l.quantity), "through_ms": l.through_ms} for l in key_usage],
        "leases": leases,
        "receipts": shown, "receipts_total": len(receipts),
        "links": {"escrow": ctx.explorer("address", dep.program.escrow_address(key)),
                  "wallet": ctx.explorer("address", key)},
    }
