"""Commitment levels modelled as a cluster: processed is the open slot, confirmed the newest sealed block,
finalized the block `finality_depth` behind it. The reference is solana-test-validator: its finalized (root)
trails confirmed by about 32 slots, getBlock / getBlockTime accept every slot that getSlot and getEpochInfo
answer, and a transaction only becomes confirmed once its slot's block is complete."""
from __future__ import annotations

import base64
import json
import struct
import time

import httpx
import pytest
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

import localnet
from localnet.bank import Bank
from localnet.genesis import GenesisConfig
from localnet_rpc_helpers import rpc

DEPTH = 4


def batch(url: str, calls: list[tuple[str, list]]) -> list[dict]:
    """One HTTP batch: the node answers it in one go, so no slot closes between its calls."""
    body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(calls)]
    out = httpx.post(url, json=body, timeout=30).json()
    return [r for r in sorted(out, key=lambda r: r["id"])]


def _dispatch(h, method: str, params: list) -> dict:
    """One request straight through the node's dispatcher; inside h.call, i.e. on the node's thread, several
    of them see the same slot."""
    return json.loads(h.node.dispatcher.handle(json.dumps(
        {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()))


def wait_for(fn, what: str, timeout: float = 30):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def live():
    """A node in real time (25 ms slots) whose finalized level trails confirmed by DEPTH blocks."""
    with localnet.start_in_process(slot_ms=25, finality_depth=DEPTH, cheats=True) as h:
        wait_for(lambda: rpc(h.rpc_url, "getSlot", [])["result"] >= 3, "the first finalized slots")
        yield h


def _transfer(url: str, payer: Keypair, to: Pubkey, lamports: int, blockhash: str) -> tuple[str, str]:
    tx = Transaction.new_signed_with_payer([transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to,
                                                                    lamports=lamports))],
                                           payer.pubkey(), [payer], Hash.from_string(blockhash))
    return str(tx.signatures[0]), base64.b64encode(bytes(tx)).decode()


def _funded(url: str) -> Keypair:
    kp = Keypair()
    sig = rpc(url, "requestAirdrop", [str(kp.pubkey()), 10 * 10**9])["result"]
    wait_for(lambda: (rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0] or {}).get(
        "confirmationStatus") in ("confirmed", "finalized"), "the airdrop")
    return kp


def test_levels_trail_each_other_and_every_answered_slot_has_its_block(live):
    url = live.rpc_url
    wait_for(lambda: rpc(url, "getSlot", [])["result"] >= DEPTH + 2, "enough blocks")
    processed, confirmed, finalized, default, epoch = [r["result"] for r in batch(url, [
        ("getSlot", [{"commitment": "processed"}]), ("getSlot", [{"commitment": "confirmed"}]),
        ("getSlot", [{"commitment": "finalized"}]), ("getSlot", []), ("getEpochInfo", [])])]
    assert processed == confirmed + 1  # the open slot, whose block is not complete yet
    assert finalized == confirmed - DEPTH and default == finalized  # the RPC's default level is finalized
    assert epoch["absoluteSlot"] == finalized
    # getBlock(getSlot()) and the Explorer's getBlockTime(getEpochInfo().absoluteSlot) both answer.
    assert rpc(url, "getBlock", [default])["result"]["blockHeight"] == default
    assert isinstance(rpc(url, "getBlockTime", [epoch["absoluteSlot"]])["result"], int)
    assert rpc(url, "getBlock", [confirmed, {"commitment": "confirmed"}])["result"]["parentSlot"] == confirmed - 1
    # A block newer than the level asked for is not available at that level, as on the validator.
    def newest_block_at_each_level(bank):  # on the node's thread: no slot closes in between
        def call(method, params):
            return _dispatch(live, method, params)
        newest = call("getSlot", [{"commitment": "confirmed"}])["result"]
        return call("getBlock", [newest]), call("getBlock", [newest, {"commitment": "confirmed"}])
    at_finalized, at_confirmed = live.call(newest_block_at_each_level)
    assert at_finalized["error"]["code"] == -32004 and at_confirmed["result"]["blockhash"]
    assert rpc(url, "getBlock", [confirmed, {"commitment": "processed"}])["error"]["code"] == -32602
    assert rpc(url, "getBlocks", [0, None, {"commitment": "processed"}])["error"]["code"] == -32602
    ctx_fin, ctx_conf = batch(url, [("getBalance", [str(Keypair().pubkey())]),
                                    ("getBalance", [str(Keypair().pubkey()), {"commitment": "confirmed"}])])
    assert ctx_fin["result"]["context"]["slot"] == ctx_conf["result"]["context"]["slot"] - DEPTH


def test_get_blocks_stops_at_the_level_asked_for(live):
    url = live.rpc_url
    fin, blocks, conf, blocks_conf = [r["result"] for r in batch(url, [
        ("getSlot", []), ("getBlocks", [0]), ("getSlot", [{"commitment": "confirmed"}]),
        ("getBlocks", [0, None, {"commitment": "confirmed"}])])]
    assert blocks[-1] == fin and blocks_conf[-1] == conf


def test_min_context_slot_is_checked_against_the_level(live):
    processed, res = batch(live.rpc_url, [
        ("getSlot", [{"commitment": "processed"}]),
        ("getBalance", [str(Keypair().pubkey()), {"minContextSlot": 10**12, "commitment": "processed"}])])
    assert res["error"]["code"] == -32016 and res["error"]["data"]["contextSlot"] == processed["result"]

    def processed_slot_read_at_finalized(bank):  # on the node's thread: no slot closes in between
        def call(method, params):
            return _dispatch(live, method, params)
        slot = call("getSlot", [{"commitment": "processed"}])["result"]
        return slot, call("getBalance", [str(Keypair().pubkey()), {"minContextSlot": slot}])
    slot, res = live.call(processed_slot_read_at_finalized)
    assert res["error"]["code"] == -32016 and res["error"]["data"]["contextSlot"] == slot - 1 - DEPTH


def test_a_transaction_goes_processed_then_confirmed_then_finalized(live):
    url = live.rpc_url
    payer = _funded(url)
    bh = rpc(url, "getLatestBlockhash", [{"commitment": "confirmed"}])["result"]["value"]["blockhash"]
    sig, wire = _transfer(url, payer, Keypair().pubkey(), 10**6, bh)
    sent, status, tx_conf, tx_fin = batch(url, [
        ("sendTransaction", [wire, {"encoding": "base64"}]), ("getSignatureStatuses", [[sig]]),
        ("getTransaction", [sig, {"commitment": "confirmed"}]), ("getTransaction", [sig])])
    assert sent["result"] == sig
    st = status["result"]["value"][0]
    assert (st["confirmationStatus"], st["confirmations"]) == ("processed", 0)  # its block is still open
    assert tx_conf["result"] is None and tx_fin["result"] is None
    conf = wait_for(lambda: (lambda s: s if s["confirmationStatus"] != "processed" else None)(
        rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]), "confirmed")
    if conf["confirmationStatus"] == "confirmed":  # (a loaded machine may only look once it is finalized)
        assert conf["confirmations"] >= 1
    assert rpc(url, "getTransaction", [sig, {"commitment": "confirmed"}])["result"]["slot"] == st["slot"]
    final = wait_for(lambda: (lambda s: s if s["confirmationStatus"] == "finalized" else None)(
        rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]), "finalized")
    assert final["confirmations"] is None
    assert rpc(url, "getTransaction", [sig])["result"]["slot"] == st["slot"]
    sigs = rpc(url, "getSignaturesForAddress", [str(payer.pubkey())])["result"]
    assert sigs[0]["signature"] == sig and sigs[0]["confirmationStatus"] == "finalized"


def test_a_transaction_rebuilt_after_confirmation_gets_a_new_blockhash(live):
    """On solana-test-validator confirmation takes a block, so the blockhash a client fetches afterwards is
    newer and the rebuilt twin is a different transaction, not AlreadyProcessed."""
    url = live.rpc_url
    payer, to = _funded(url), Keypair().pubkey()
    first_bh = rpc(url, "getLatestBlockhash", [{"commitment": "confirmed"}])["result"]["value"]["blockhash"]
    sig, wire = _transfer(url, payer, to, 10**6, first_bh)
    assert rpc(url, "sendTransaction", [wire, {"encoding": "base64"}])["result"] == sig
    wait_for(lambda: rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]["confirmationStatus"]
             != "processed", "confirmation")
    second_bh = rpc(url, "getLatestBlockhash", [{"commitment": "confirmed"}])["result"]["value"]["blockhash"]
    assert second_bh != first_bh
    sig2, wire2 = _transfer(url, payer, to, 10**6, second_bh)
    assert rpc(url, "sendTransaction", [wire2, {"encoding": "base64"}])["result"] == sig2 != sig


def test_the_finalized_blockhash_is_valid_and_trails_the_confirmed_one(live):
    url = live.rpc_url
    fin, conf, fin_slot = [r["result"] for r in batch(url, [
        ("getLatestBlockhash", []), ("getLatestBlockhash", [{"commitment": "confirmed"}]), ("getSlot", [])])]
    assert fin["context"]["slot"] == fin_slot
    assert fin["value"]["lastValidBlockHeight"] == conf["value"]["lastValidBlockHeight"] - DEPTH
    assert rpc(url, "isBlockhashValid", [fin["value"]["blockhash"]])["result"]["value"] is True
    payer = _funded(url)
    sig, wire = _transfer(url, payer, Keypair().pubkey(), 10**6, fin["value"]["blockhash"])
    assert rpc(url, "sendTransaction", [wire, {"encoding": "base64"}])["result"] == sig


def test_time_travel_leaves_every_level_on_a_recent_valid_block(live):
    url = live.rpc_url
    before = rpc(url, "getSlot", [{"commitment": "processed"}])["result"]
    rpc(url, "surfnet_timeTravel", [{"relativeSlots": 1000}])
    fin = rpc(url, "getLatestBlockhash", [])["result"]["value"]
    assert fin["lastValidBlockHeight"] > before + 1000  # not expired by the jump
    assert rpc(url, "getBlock", [rpc(url, "getSlot", [])["result"]])["result"] is not None
    payer = _funded(url)
    sig, wire = _transfer(url, payer, Keypair().pubkey(), 10**6, fin["blockhash"])
    assert rpc(url, "sendTransaction", [wire, {"encoding": "base64"}])["result"] == sig


def test_an_address_lookup_table_created_at_get_slot_works(node, funded):
    """web3.js' and the docs' recipe: createLookupTable({recentSlot: await connection.getSlot()}). On the
    validator getSlot answers finalized, a slot in SlotHashes; answering the open slot made it fail."""
    url = node.rpc_url
    alt_program = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
    recent = rpc(url, "getSlot", [])["result"]
    table, bump = Pubkey.find_program_address([bytes(funded.pubkey()), struct.pack("<Q", recent)], alt_program)
    create = Instruction(alt_program, struct.pack("<IQB", 0, recent, bump), [
        AccountMeta(table, False, True), AccountMeta(funded.pubkey(), True, False),
        AccountMeta(funded.pubkey(), True, True),
        AccountMeta(Pubkey.from_string("11111111111111111111111111111111"), False, False)])
    bh = rpc(url, "getLatestBlockhash", [])["result"]["value"]["blockhash"]
    tx = Transaction.new_signed_with_payer([create], funded.pubkey(), [funded], Hash.from_string(bh))
    res = rpc(url, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])
    assert res.get("result") == str(tx.signatures[0]), res
    assert rpc(url, "getAccountInfo", [str(table)])["result"]["value"]["owner"] == str(alt_program)


def test_per_transaction_slots_finalize_at_once(node, client, funded):
    """Without a clock (the test default) a transaction's slot is sealed as it lands: depth 0."""
    url = node.rpc_url
    bh = rpc(url, "getLatestBlockhash", [])["result"]["value"]["blockhash"]
    sig, wire = _transfer(url, funded, Keypair().pubkey(), 10**6, bh)
    rpc(url, "sendTransaction", [wire, {"encoding": "base64"}])
    st = rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]
    assert st["confirmationStatus"] == "finalized" and st["slot"] == rpc(url, "getSlot", [])["result"]
    assert rpc(url, "getBlock", [st["slot"]])["result"]["transactions"][0]["transaction"]["signatures"] == [sig]


def test_the_finality_depth_is_bounded_by_the_blockhash_window():
    with pytest.raises(ValueError, match="finality depth 150"):
        Bank(GenesisConfig(), finality_depth=150)


def test_a_blockhash_is_known_from_the_level_its_block_reached(live):
    """isBlockhashValid / getFeeForMessage answer from the bank at the level asked for (finalized by
    default): a blockhash only confirmed so far is not known there yet, as on the validator."""
    from solders.message import Message

    def at_each_level(bank):  # on the node's thread: no slot closes in between
        def call(method, params):
            return _dispatch(live, method, params)["result"]
        bh = call("getLatestBlockhash", [{"commitment": "confirmed"}])["value"]["blockhash"]
        msg = Message.new_with_blockhash([], Keypair().pubkey(), Hash.from_string(bh))
        enc = base64.b64encode(bytes(msg)).decode()
        return (call("isBlockhashValid", [bh])["value"], call("isBlockhashValid", [bh, {"commitment": "confirmed"}])["value"],
                call("getFeeForMessage", [enc])["value"], call("getFeeForMessage", [enc, {"commitment": "confirmed"}])["value"])
    assert live.call(at_each_level) == (False, True, None, 5000)
