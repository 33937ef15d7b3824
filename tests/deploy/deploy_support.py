"""Helpers of the deploy tests: a localnet on devnet's feature set (SIMD-0500: SBPF v0-v2 deployments refused)
without the billing program and without cheat codes, so a program gets there only through the upgradeable
loader, as on devnet; a funded operator; and the ELFs to deploy: the committed program (SBPF v3), a second v3
program to upgrade to (the toolchain's relocation fixture, relinked), and an SBPF v0 one devnet refuses.
(A module of its own, not conftest.py: tests/ has no packages, so `conftest` is not importable by name.)"""
from __future__ import annotations

import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Callable

import httpx

from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey

import contracts
import localnet
from contracts.loader_v3 import LOADER_V3
from contracts.toolchain.relink import relink
from ledger.engine.chain import RpcChain
from ledger.ops.bootstrap import airdrop
from localnet.genesis import default_config

ELF = contracts.PROGRAM_SO.read_bytes()
FEATURES = "devnet"
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
RELOCS_OBJECT = Path(__file__).resolve().parents[1] / "toolchain" / "fixtures" / "asm" / "relocs.o"


def memo_elf() -> bytes:
    """An SBPF v0 program: the SPL Memo build LiteSVM ships."""
    acct = LiteSVM().get_account(MEMO)
    assert acct.owner != LOADER_V3
    return bytes(acct.data)


def v3_elf() -> bytes:
    """Another SBPF v3 program to upgrade to: it logs "hello relink" and succeeds on instruction data [2]."""
    return relink(RELOCS_OBJECT.read_bytes(), 3)[0]


def bare_node(ledger_dir, features: str = FEATURES, slot_ms="per-tx"):
    return localnet.start_in_process(ledger_dir=ledger_dir, cheats=False, slot_ms=slot_ms,
                                     genesis=default_config(preload_billing=False, features=features))


def funded(chain: RpcChain, sol: int = 10) -> Keypair:
    kp = Keypair()
    airdrop(chain, kp.pubkey(), sol * 10**9)
    return kp


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(proc: subprocess.Popen, probe: Callable[[], bool], timeout_s: float = 60) -> None:
    """Until `probe()` holds (HTTP errors count as not yet); fails with the process's output if it exits."""
    deadline = time.monotonic() + timeout_s
    while True:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read() if proc.stdout else proc.args
        try:
            if probe():
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


def stop(proc: subprocess.Popen, timeout_s: float = 30) -> None:
    """Ctrl-C, as a user stops a server; killed if it does not exit."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
