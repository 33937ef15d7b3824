"""Fixtures of the client-compatibility tests: a localnet with the billing program at genesis (as a user
finds it deployed), initialized by solmeter's own operations, and a customer wallet holding tokens of its
mint; the user's client (anchorpy, Anchor TS) does the rest over JSON-RPC."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

import localnet
from contracts import DEFAULT_PROGRAM_ID
from client_venvs import InstallError, anchor_ts_dir, anchorpy_python
from ledger.engine.chain import RpcChain
from ledger.ops import token
from ledger.ops.bootstrap import airdrop
from ledger.ops.deployment import Deployment, initialize


@dataclass
class World:
    rpc_url: str
    ws_url: str
    chain: RpcChain
    dep: Deployment
    customer: Keypair
    customer_path: Path
    tokens: int


@pytest.fixture
def world(tmp_path):
    node = localnet.start_in_process(ledger_dir=tmp_path / "ledger")
    try:
        chain = RpcChain(node.rpc_url)
        admin, customer = Keypair(), Keypair()
        for kp in (admin, customer):
            airdrop(chain, kp.pubkey())
        dep = initialize(chain, admin, program_id=Pubkey.from_string(DEFAULT_PROGRAM_ID),
                         meter=Keypair().pubkey(), arbiter=Keypair().pubkey())
        token.mint_to(chain, admin, admin, dep.mint_key, customer.pubkey(), 100_000_000, dep.decimals)
        path = tmp_path / "customer.json"
        path.write_text(json.dumps(list(bytes(customer))))
        yield World(node.rpc_url, node.ws_url, chain, dep, customer, path, 100_000_000)
    finally:
        node.stop()


def _installed(install):
    try:
        return install()
    except InstallError as e:
        pytest.fail(str(e), pytrace=False)


@pytest.fixture(scope="session")
def anchorpy():
    """The Python of the anchorpy venv (installed by scripts/test.sh; here when missing or stale)."""
    return _installed(anchorpy_python)


@pytest.fixture(scope="session")
def anchor_ts():
    """tests/clients/anchor-ts with its node_modules (npm ci)."""
    return _installed(anchor_ts_dir)
