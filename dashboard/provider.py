"""The provider view's figures: stake and the unstake window (chain), revenue and rewards per epoch
(ProviderEpoch accounts), slashes with their deadlines, agent health (the last event of each lease or
bucket the meter holds for this provider), and the earnings as CSV."""
from __future__ import annotations

import csv
import io

from solders.pubkey import Pubkey

from auditor.views import SLASH_STATES
from contracts.client import decode_account_as, params_at
from contracts.amounts import tokens as fmt
from contracts.kinds import Kind
from ledger.ops import roles
from ledger.ops.deployment import read_account, read_config
from metering.reads import provider_activity

from .shape import amount, at_s

PROPOSED = SLASH_STATES.index("Proposed")


def epochs(ctx, key: Pubkey, current: int) -> list[dict]:
    chain, dep = ctx.chain, ctx.deployment
    addrs = [dep.program.provider_epoch_address(key, n) for n in range(current + 1)]
    out = []
    for n, data in enumerate(chain.accounts_data(addrs)):
        if data is None:
            continue
        pe = decode_account_as("ProviderEpoch", data)
        out.append({"epoch": n, "revenue": int(pe.revenue), "reward": int(pe.reward), "claimed": bool(pe.claimed),
                    "closed": n < current})
    return out


def earnings_csv(rows: list[dict], decimals: int) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["epoch", "revenue_tokens", "reward_tokens", "claimed", "revenue_base_units", "reward_base_units"])
    for r in rows:
        w.writerow([r["epoch"], fmt(r["revenue"], decimals), fmt(r["reward"], decimals), "yes" if r["claimed"] else "no",
                    r["revenue"], r["reward"]])
    return buf.getvalue()


def provider_view(ctx, wallet: str) -> dict:
    chain, dep = ctx.chain, ctx.deployment
    d = dep.decimals
    key = Pubkey.from_string(wallet)
    st = roles.provider_status(chain, dep, key)
    acct = read_account(chain, "Provider", dep.program.provider_address(key))
    cfg = read_config(chain, dep.program)
    chain_now = chain.unix_time()
    params = params_at(cfg, chain_now)
    current = roles.current_epoch(chain, dep)
    unstake = None
    if acct is not None and int(acct.unstake_amount):
        ready = int(acct.unstake_requested_at) + int(params.unstake_cooldown)
        unstake = {"amount": amount(int(acct.unstake_amount), d), "requested_ms": at_s(int(acct.unstake_requested_at)),
                   "ready_ms": ready * 1000, "seconds_left": max(0, ready - chain_now)}
    slashes = []
    for i in range(st.slash_count):
        s = roles.slash_info(chain, dep, key, i)
        if s is None:
            continue
        state = SLASH_STATES[int(s.state)] if int(s.state) < len(SLASH_STATES) else str(s.state)
        deadline = int(s.contest_deadline)
        slashes.append({"index": i, "amount": amount(int(s.amount), d), "state": state,
                        "proposed_ms": at_s(int(s.proposed_at)), "contest_deadline_ms": at_s(deadline),
                        "resolve_deadline_ms": at_s(int(s.resolve_deadline)),
                        "contestable": int(s.state) == PROPOSED and chain_now < deadline,
                        "evidence_hash": bytes(s.evidence_hash).hex(), "beneficiary": str(s.beneficiary),
                        "link": ctx.explorer("address", dep.program.slash_address(key, i))})
    eps = epochs(ctx, key, current)
    with ctx.engine.connect() as conn:
        health = provider_activity(conn, wallet)
    agents = {}
    for h in health:
        a = agents.setdefault((h.resource, h.customer), {"resource": h.resource, "customer": h.customer, "last_ms": 0,
                                                         "events": 0, "stopped": False, "kinds": []})
        a["events"] += h.events
        a["kinds"].append(Kind(h.kind).label)
        if h.last_ms >= a["last_ms"]:
            a["last_ms"] = h.last_ms
            a["stopped"] = h.kind == Kind.GPU_STOP
    return {
        "wallet": wallet, "decimals": d, "registered": st.registered,
        "stake": amount(st.stake, d), "min_stake": amount(int(params.min_stake), d),
        "payout_balance": amount(st.payout_balance, d), "total_revenue": amount(st.total_revenue, d),
        "pending_slash": amount(st.pending_slash, d), "unclaimed_epochs": st.unclaimed_epochs,
        "unstake": unstake, "unstake_cooldown_s": int(params.unstake_cooldown), "current_epoch": current,
        "epochs": [{**e, "revenue": amount(e["revenue"], d), "reward": amount(e["reward"], d)} for e in eps],
        "slashes": slashes,
        "agents": sorted(agents.values(), key=lambda a: a["resource"]),
        "links": {"stake": ctx.explorer("address", dep.program.stake_address(key)),
                  "provider": ctx.explorer("address", dep.program.provider_address(key))},
    }


def provider_earnings_csv(ctx, wallet: str) -> str:
    key = Pubkey.from_string(wallet)
    return earnings_csv(epochs(ctx, key, roles.current_epoch(ctx.chain, ctx.deployment)), ctx.deployment.decimals)
