"""@coral-xyz/anchor (TypeScript, from npm, `npm ci` from tests/clients/anchor-ts/package-lock.json) drives the
billing program through the NEW (Anchor 0.30+) IDL as a user's client would, over JSON-RPC against the
localnet: it registers a customer, deposits, fetches and decodes the accounts, lists them, and decodes the
events; every value it decodes is compared with the chain as solmeter's own client reads it."""
from __future__ import annotations

import json
import subprocess

from solders.pubkey import Pubkey

import contracts
from contracts.client import decode_account_as, parse_events


def test_anchor_ts_registers_deposits_and_decodes_with_the_new_idl(anchor_ts, world):
    lock = json.loads((anchor_ts / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/@coral-xyz/anchor"]["version"] == "0.32.1"
    amount = 12_345_678
    r = subprocess.run(["node", "client.mjs", world.rpc_url, world.ws_url, str(contracts.IDL_ANCHOR_PATH), str(world.customer_path),
                        world.dep.mint, str(amount)], cwd=anchor_ts, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    wallet, program = world.customer.pubkey(), world.dep.program
    assert out["programId"] == world.dep.program_id  # from the IDL's `address`
    # the transactions it sent landed and did what they say, as solmeter reads the chain
    chain_customer = decode_account_as("Customer", world.chain.account_data(program.customer_address(wallet)))
    assert chain_customer.total_deposited == amount
    assert world.chain.token_balance(program.escrow_address(wallet)) == amount
    # Anchor TS decoded the accounts exactly as solmeter's generated client does (u64s as decimal strings)
    c = out["customer"]
    assert (c["wallet"], c["escrow"], c["totalDeposited"], c["bump"], c["escrowBump"]) == (
        str(chain_customer.wallet), str(chain_customer.escrow), str(amount), chain_customer.bump,
        chain_customer.escrow_bump)
    cfg = decode_account_as("Config", world.chain.account_data(program.config_address()))
    assert (out["config"]["admin"], out["config"]["mint"], out["config"]["feeBps"]) == (
        str(cfg.admin), str(cfg.mint), cfg.fee_bps)
    assert out["customers"] == [str(program.customer_address(wallet))]
    # and the events, in the order solmeter's parser finds them in the same logs (Anchor TS camel-cases names)
    ours = [e for sig in out["signatures"] for e in parse_events(world.chain.transaction(sig).logs,
                                                                 Pubkey.from_string(world.dep.program_id))]
    assert [e.name for e in ours] == ["CustomerRegistered", "Deposited"]
    assert [e["name"] for e in out["events"]] == [e.name[0].lower() + e.name[1:] for e in ours]
    assert out["events"][1]["data"] == {"wallet": str(wallet), "amount": str(amount), "escrowBalance": str(amount)}
    assert out["events"][0]["data"]["escrow"] == str(program.escrow_address(wallet))
