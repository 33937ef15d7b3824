"""Fixtures of the deploy tests: a localnet without the billing program and without cheat codes (a program
gets there only through the upgradeable loader, as on devnet), a funded operator, and the ELFs to deploy.

The feature set is the strictest the committed program can be deployed under: devnet's (SIMD-0500 refuses
SBPF v0-v2 deployments) once the committed program is SBPF v3, mainnet's while it is v0. The rehearsal
(test_rehearsal_devnet.py) always runs on devnet's."""
from __future__ import annotations

import socket

import pytest
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

import contracts
import localnet
from contracts.loader_v3 import LOADER_V3, sbpf_version
from ledger.engine.chain import RpcChain
from ledger.ops.bootstrap import airdrop
from localnet.genesis import default_config

ELF = contracts.PROGRAM_SO.read_bytes()
FEATURES = "devnet" if sbpf_version(ELF) >= 3 else "mainnet"
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def memo_elf() -> bytes:
    """Another real program to upgrade to: the SPL Memo build LiteSVM ships (SBPF v0)."""
    acct = LiteSVM().get_account(MEMO)
    assert acct.owner != LOADER_V3
    return bytes(acct.data)


def bare_node(ledger_dir, features: str = FEATURES, slot_ms="per-tx"):
    return localnet.start_in_process(ledger_dir=ledger_dir, cheats=False, slot_ms=slot_ms,
                                     genesis=default_config(preload_billing=False, features=features))


@pytest.fixture
def node(tmp_path):
    h = bare_node(tmp_path / "ledger")
    yield h
    h.stop()


def funded(chain: RpcChain, sol: int = 10) -> Keypair:
    kp = Keypair()
    airdrop(chain, kp.pubkey(), sol * 10**9)
    return kp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
