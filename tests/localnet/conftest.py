"""Fixtures: a real node (HTTP + WebSocket + LiteSVM + SQLite ledger) per test module, on free ports."""
from __future__ import annotations

import pytest
from localnet.solana_py import SyncAsyncClient as Client
from solana.rpc.commitment import Confirmed
from solders.keypair import Keypair

import localnet


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    handle = localnet.start_in_process(ledger_dir=tmp_path_factory.mktemp("ledger"), port=0, slot_ms="per-tx",
                                       cheats=True)
    yield handle
    handle.stop()


@pytest.fixture(scope="module")
def client(node):
    c = Client(node.rpc_url, commitment=Confirmed, timeout=30)
    yield c


@pytest.fixture
def funded(client) -> Keypair:
    kp = Keypair()
    sig = client.request_airdrop(kp.pubkey(), 10 * 10**9).value
    client.confirm_transaction(sig)
    return kp
