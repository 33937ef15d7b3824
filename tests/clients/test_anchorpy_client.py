"""anchorpy 0.21.0 (with its pins: solana 0.36.6, solders 0.26.0, in a venv of its own) drives the billing
program through the LEGACY IDL as a user's client would, over JSON-RPC against the localnet: it registers a
customer, deposits, fetches and decodes the accounts, lists them, and decodes the events; every value it
decodes is compared with the chain as solmeter's own client reads it."""
from __future__ import annotations

import json
import subprocess

from solders.pubkey import Pubkey

import contracts
from client_venvs import HERE
from contracts.client import decode_account_as, parse_events

SCRIPT = HERE / "anchorpy" / "billing_client.py"


def test_anchorpy_registers_deposits_and_decodes_with_the_legacy_idl(anchorpy, world):
    version = subprocess.run([str(anchorpy), "-c", "import importlib.metadata as m; print(m.version('anchorpy'), "
                              "m.version('solana'), m.version('solders'))"], capture_output=True, text=True)
    assert version.stdout.split() == ["0.21.0", "0.36.6", "0.26.0"], version.stderr
    amount = 25_000_000
    r = subprocess.run([str(anchorpy), str(SCRIPT), world.rpc_url, str(contracts.IDL_PATH), world.dep.program_id,
                        str(world.customer_path), world.dep.mint, str(amount)], capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    wallet, program = world.customer.pubkey(), world.dep.program
    # the transactions it sent landed and did what they say, as solmeter reads the chain
    chain_customer = decode_account_as("Customer", world.chain.account_data(program.customer_address(wallet)))
    assert out["addresses"]["customer"] == str(program.customer_address(wallet))
    assert world.chain.token_balance(program.escrow_address(wallet)) == amount
    # anchorpy decoded the accounts exactly as solmeter's generated client does
    c = out["customer"]
    assert chain_customer.total_deposited == amount
    assert (c["wallet"], c["escrow"], c["total_deposited"], c["bump"], c["escrow_bump"]) == (
        str(chain_customer.wallet), str(chain_customer.escrow), amount, chain_customer.bump, chain_customer.escrow_bump)
    cfg = decode_account_as("Config", world.chain.account_data(program.config_address()))
    assert (out["config"]["admin"], out["config"]["mint"], out["config"]["fee_bps"]) == (
        str(cfg.admin), str(cfg.mint), cfg.fee_bps)
    assert out["customers"] == [str(program.customer_address(wallet))]  # getProgramAccounts + discriminator
    # and the events, in the order solmeter's parser finds them in the same logs
    ours = [e for sig in out["signatures"] for e in parse_events(world.chain.transaction(sig).logs,
                                                                 Pubkey.from_string(world.dep.program_id))]
    assert [e["name"] for e in out["events"]] == [e.name for e in ours] == ["CustomerRegistered", "Deposited"]
    deposited = out["events"][1]["data"]
    assert deposited == {"wallet": str(wallet), "amount": amount, "escrow_balance": amount}
    assert out["events"][0]["data"]["escrow"] == str(program.escrow_address(wallet))
