"""`solmeter demo` end to end (two simulated hours): after the scenario the ledger equals the chain to the
base unit, both books balance, the token supply is conserved on-chain (every base unit is in a wallet, a
vault, the treasury, or was burned), the paused customer resumed, the slash was contested and executed,
rewards were claimed, and the auditor passes."""
from __future__ import annotations

import pytest
from solders.pubkey import Pubkey

from solmeter.demo import render, run_demo


def _supply(chain, mint: Pubkey) -> int:
    data = chain.account_data(mint)
    return int.from_bytes(data[36:44], "little")


@pytest.mark.slow
def test_the_demo_scenario_balances_to_the_base_unit(tmp_path):
    seen = {}

    def inspect(chain, w, eng, sf):
        from contracts.client import decode_account_as
        from ledger.ops import token

        prog = w.dep.program
        minted = 8 * 200 * 10**6 + 1_000 * 10**6
        cfg = decode_account_as("Config", chain.account_data(prog.config_address()))
        holders = [token.ata(k.pubkey(), w.dep.mint_key) for k in [w.admin, *w.providers, *w.customers]]
        vaults = [prog.escrow_address(c.pubkey()) for c in w.customers] + \
                 [prog.stake_address(p.pubkey()) for p in w.providers] + [cfg.treasury, cfg.rewards_vault]
        held = sum(chain.token_balance(a) or 0 for a in holders + vaults)
        supply = _supply(chain, w.dep.mint_key)
        seen["conservation"] = (held, supply, minted)
        settled = sum(int(decode_account_as("Customer", chain.account_data(prog.customer_address(c.pubkey())))
                          .total_settled) for c in w.customers)
        revenue = sum(int(decode_account_as("Provider", chain.account_data(prog.provider_address(p.pubkey())))
                          .total_revenue) for p in w.providers)
        seen["settled"] = (settled, revenue)

    res = run_demo(tmp_path / "demo", hours=2.0, progress=lambda m: None, inspect=inspect)
    text = render(res)
    assert res.reconcile_ok, res.reconcile_differences
    assert res.trial_balance == {"custody": 0, "obligation": 0}
    held, supply, minted = seen["conservation"]
    assert held == supply == minted - res.burned  # nothing created, nothing lost: burned left the supply
    assert seen["settled"][0] == seen["settled"][1] > 0
    paid = sum(v["paid"] for v in res.customers.values())
    assert paid == seen["settled"][0] == res.treasury + res.burned + sum(v["revenue"] for v in res.providers.values())
    assert res.paused_seen and res.resumed
    assert res.slash_contested and res.slash_executed
    assert res.rewards_claimed > 0
    assert res.audit_ok, res.audit_failures
    assert "EQUAL to the base unit" in text and "audit verdict: PASS" in text
