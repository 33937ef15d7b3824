"""Priority fees as a validator charges and quotes them: meta.fee and the payer's balance include
compute-unit price x limit; getFeeForMessage quotes the same figure before sending; getRecentPrioritizationFees
reports each block's lowest price, raised per write-locked account asked about (solana-test-validator answers
from the same PrioritizationFeeCache)."""
from __future__ import annotations

import base64

import httpx
import pytest
from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

import localnet
from localnet_rpc_helpers import rpc

MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def _funded(url: str) -> Keypair:
    kp = Keypair()
    rpc(url, "requestAirdrop", [str(kp.pubkey()), 10**10])
    return kp


def _memo(kp: Keypair) -> Instruction:
    return Instruction(MEMO, b"fee", [AccountMeta(kp.pubkey(), True, False)])


def _pay(kp: Keypair, to: Pubkey, lamports: int = 10**6) -> Instruction:
    return transfer(TransferParams(from_pubkey=kp.pubkey(), to_pubkey=to, lamports=lamports))


CASES = {
    # name: instructions after the payer's (price, limit): expected priority part of the fee
    "price, builtin transfer (3,000 CU each, the price instruction included)": (
        lambda kp: [set_compute_unit_price(1_000_000), _pay(kp, Keypair().pubkey())], 6_000),
    "price, a program (200,000 CU) and a transfer": (
        lambda kp: [set_compute_unit_price(1_000_000), _memo(kp), _pay(kp, Keypair().pubkey())], 206_000),
    "explicit limit": (lambda kp: [set_compute_unit_price(1_000_000), set_compute_unit_limit(12_345), _memo(kp)], 12_345),
    "limit above the 1.4M cap": (
        lambda kp: [set_compute_unit_price(1_000_000), set_compute_unit_limit(2_000_000), _memo(kp)], 1_400_000),
    "fractional lamports round up": (lambda kp: [set_compute_unit_price(3), set_compute_unit_limit(1_001), _memo(kp)], 1),
    "no price": (lambda kp: [set_compute_unit_limit(50_000), _memo(kp)], 0),
}


@pytest.mark.parametrize("case", list(CASES))
def test_fee_for_message_quotes_what_the_runtime_charges(node, case):
    build, priority = CASES[case]
    url = node.rpc_url
    kp = _funded(url)
    bh = rpc(url, "getLatestBlockhash", [])["result"]["value"]["blockhash"]
    msg = Message.new_with_blockhash(build(kp), kp.pubkey(), Hash.from_string(bh))
    quoted = rpc(url, "getFeeForMessage", [base64.b64encode(bytes(msg)).decode()])["result"]["value"]
    assert quoted == 5_000 + priority
    before = rpc(url, "getBalance", [str(kp.pubkey())])["result"]["value"]
    tx = Transaction([kp], msg, Hash.from_string(bh))
    sig = rpc(url, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])["result"]
    meta = rpc(url, "getTransaction", [sig])["result"]["meta"]
    assert meta["fee"] == quoted
    sent = sum(10**6 for ix in msg.instructions if msg.account_keys[ix.program_id_index] == Pubkey.default())
    assert before - rpc(url, "getBalance", [str(kp.pubkey())])["result"]["value"] == quoted + sent
    assert meta["preBalances"][0] - meta["postBalances"][0] == quoted + sent


def test_recent_prioritization_fees_per_block_and_per_account():
    with localnet.start_in_process(slot_ms=60_000, finality_depth=0) as h:  # the test closes the slot itself
        url = h.rpc_url
        payer = _funded(url)
        h.call(lambda bank: bank.close_slot())
        bh = rpc(url, "getLatestBlockhash", [])["result"]["value"]["blockhash"]
        hot, cold = Keypair().pubkey(), Keypair().pubkey()
        txs = []
        for price, dest in ((9_000, hot), (40, cold), (500, hot)):
            tx = Transaction.new_signed_with_payer([set_compute_unit_price(price), _pay(payer, dest)],
                                                   payer.pubkey(), [payer], Hash.from_string(bh))
            txs.append(base64.b64encode(bytes(tx)).decode())
        body = [{"jsonrpc": "2.0", "id": i, "method": "sendTransaction", "params": [t, {"encoding": "base64"}]}
                for i, t in enumerate(txs)]
        assert all("result" in r for r in httpx.post(url, json=body, timeout=30).json())
        slot = rpc(url, "getSlot", [{"commitment": "processed"}])["result"]
        h.call(lambda bank: bank.close_slot())

        def fee_at(accounts):
            fees = {f["slot"]: f["prioritizationFee"] for f in rpc(url, "getRecentPrioritizationFees", [accounts])["result"]}
            return fees[slot]
        assert fee_at([]) == 40  # the block's lowest price
        assert fee_at([str(hot)]) == 500  # the lowest price paid to write-lock `hot`
        assert fee_at([str(cold), str(hot)]) == 500
        assert fee_at([str(Keypair().pubkey())]) == 40
        assert rpc(url, "getRecentPrioritizationFees", [["nope"]])["error"]["code"] == -32602
