"""The ledger directory: restart and kill -9 keep accounts, history, signatures and the slot; reset starts over."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
from localnet.solana_py import SyncAsyncClient as Client
from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from localnet.solana_py import SplToken as Token
from spl.token.constants import TOKEN_PROGRAM_ID

import localnet
from localnet_rpc_helpers import rpc

ROOT = Path(__file__).resolve().parents[2]


def _free_port_pair() -> int:
    """A port P with P and P + 1 free right now (the node serves JSON-RPC on P and PubSub on P + 1)."""
    while True:
        with socket.socket() as a, socket.socket() as b:
            a.bind(("127.0.0.1", 0))
            port = a.getsockname()[1]
            try:
                b.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
            return port


def test_restart_keeps_accounts_history_signatures_and_slot(tmp_path):
    ledger = tmp_path / "ledger"
    h = localnet.start_in_process(ledger_dir=ledger, cheats=True)
    c = Client(h.rpc_url)
    payer = Keypair()
    c.confirm_transaction(c.request_airdrop(payer.pubkey(), 5 * 10**9).value)
    token = Token.create_mint(c, payer, payer.pubkey(), 6, TOKEN_PROGRAM_ID)
    ata = token.create_associated_token_account(payer.pubkey())
    mint_sig = token.mint_to(ata, payer, 123_456)
    rpc(h.rpc_url, "surfnet_setAccount", [str(Keypair().pubkey()), {"lamports": 5}])
    rpc(h.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": 5000}])
    slot, genesis = c.get_slot().value, c.get_genesis_hash().value
    bal = c.get_balance(payer.pubkey()).value
    sigs = [s.signature for s in c.get_signatures_for_address(payer.pubkey()).value]
    bh = c.get_latest_blockhash().value.blockhash
    h.stop()

    h = localnet.start_in_process(ledger_dir=ledger, cheats=True)
    try:
        c = Client(h.rpc_url)
        token = Token(c, token.pubkey, TOKEN_PROGRAM_ID, payer)
        assert c.get_slot().value >= slot and c.get_genesis_hash().value == genesis
        assert c.get_balance(payer.pubkey()).value == bal
        assert [s.signature for s in c.get_signatures_for_address(payer.pubkey()).value] == sigs
        assert c.get_transaction(mint_sig).value.transaction.meta.post_token_balances[0].ui_token_amount.amount == "123456"
        assert token.get_balance(ata).value.amount == "123456"
        assert [a.pubkey for a in token.get_accounts_by_owner(payer.pubkey()).value] == [ata]
        # the blockhash window survived too: a transaction built before the restart still lands
        ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**6))
        tx = Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], bh)
        assert c.send_transaction(tx).value == tx.signatures[0]
        token.mint_to(ata, payer, 1)
        assert token.get_balance(ata).value.amount == "123457"
    finally:
        h.stop()

    localnet.ledger.Ledger.reset(ledger)
    h = localnet.start_in_process(ledger_dir=ledger)
    try:
        c = Client(h.rpc_url)
        assert c.get_balance(payer.pubkey()).value == 0 and c.get_slot().value < slot
    finally:
        h.stop()


def _spawn(ledger: Path, data_dir: Path) -> tuple[subprocess.Popen, str]:
    """Start `localnet start` as a subprocess on free ports; (process, RPC URL). Another process can take
    a port between our check and the node's bind (ephemeral client ports are drawn from the same range):
    then the node exits with "address already in use" and we start it again on other ports."""
    env = dict(os.environ, SOLMETER_DATA_DIR=str(data_dir), PYTHONPATH=str(ROOT))
    for _attempt in range(10):
        port = _free_port_pair()
        proc = subprocess.Popen(
            [sys.executable, "-m", "solmeter.cli", "localnet", "start", "--ledger", str(ledger), "--rpc-port", str(port),
             "--per-tx-slots", "--no-billing-program"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        url = f"http://127.0.0.1:{port}"
        for _ in range(600):
            if proc.poll() is not None:
                err = proc.stderr.read().decode()
                if "address already in use" in err:
                    break
                raise AssertionError(f"node exited: {err}")
            try:
                if httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=1).status_code == 200:
                    return proc, url
            except httpx.HTTPError:
                time.sleep(0.05)
        else:
            raise AssertionError("node did not start")
    raise AssertionError("no free ports for the node in 10 attempts")


def test_kill_minus_9_loses_nothing_a_client_was_told(tmp_path):
    ledger = tmp_path / "ledger"
    proc, url = _spawn(ledger, tmp_path)
    c = Client(url, timeout=5)
    payer, dest = Keypair(), Keypair().pubkey()
    c.request_airdrop(payer.pubkey(), 10 * 10**9)
    acked: list = []
    stop = threading.Event()

    def sender():
        i = 0
        while not stop.is_set():
            i += 1
            try:
                bh = c.get_latest_blockhash().value.blockhash
                ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=dest, lamports=1_000_000 + i))
                tx = Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], bh)
                acked.append((c.send_transaction(tx).value, 1_000_000 + i))
            except Exception:
                return

    t = threading.Thread(target=sender)
    t.start()
    while len(acked) < 40 and t.is_alive():
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)  # no flush, no shutdown hook
    proc.wait()
    stop.set()
    t.join()
    assert len(acked) >= 40
    slot_hint = len(acked)

    proc, url = _spawn(ledger, tmp_path)  # the same ledger, maybe other ports
    c = Client(url, timeout=5)
    try:
        statuses = c.get_signature_statuses([s for s, _ in acked]).value
        assert all(st is not None and st.err is None for st in statuses)
        landed = c.get_balance(dest).value
        told = sum(a for _, a in acked)
        # every acknowledged transfer is there; at most the one in flight at the kill landed unacknowledged
        assert landed == told or landed - told == 1_000_000 + len(acked) + 1
        assert c.get_slot().value >= slot_hint
        assert len(c.get_signatures_for_address(dest, limit=1000).value) in (len(acked), len(acked) + 1)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)


def test_a_stopped_localnet_says_its_ledger_was_saved(tmp_path):
    """Found stopping the README's background localnet with SIGTERM: its log ended at `localnet ready ...`, so
    whether the ledger was flushed (or the process was killed) was a guess."""
    ledger = tmp_path / "ledger"
    proc, url = _spawn(ledger, tmp_path)
    Client(url, timeout=5).request_airdrop(Keypair().pubkey(), 10**9)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    last = proc.stderr.read().decode().strip().splitlines()[-1]
    assert last.startswith(f"localnet stopped: ledger saved in {ledger} (slot ") and "transactions 1)" in last, last
