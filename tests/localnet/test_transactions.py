"""sendTransaction / simulateTransaction / history through solana-py's clients, as a wallet or dApp uses them."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
from localnet.solana_py import SyncAsyncClient as Client
from solana.rpc.async_api import AsyncClient
from solana.rpc.core import RPCException
from solana.rpc.models import TxOpts
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc import responses as R
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction, VersionedTransaction

from localnet_rpc_helpers import rpc

MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def _transfer_tx(client: Client, payer: Keypair, to: Pubkey, lamports: int, blockhash: Hash | None = None):
    bh = blockhash or client.get_latest_blockhash().value.blockhash
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], bh)


def _send_raw(node, tx_bytes: bytes, **cfg) -> dict:
    return rpc(node.rpc_url, "sendTransaction", [base64.b64encode(tx_bytes).decode(), {"encoding": "base64", **cfg}])


def test_transfer_lands_with_full_metadata(client, funded):
    to = Keypair().pubkey()
    before = client.get_balance(funded.pubkey()).value
    sig = client.send_transaction(_transfer_tx(client, funded, to, 1_000_000)).value
    client.confirm_transaction(sig)
    assert client.get_balance(to).value == 1_000_000
    assert client.get_balance(funded.pubkey()).value == before - 1_000_000 - 5000
    tx = client.get_transaction(sig).value
    meta = tx.transaction.meta
    assert meta.err is None and meta.fee == 5000
    assert meta.pre_balances[:2] == [before, 0] and meta.post_balances[:2] == [before - 1_005_000, 1_000_000]
    assert meta.log_messages == ["Program 11111111111111111111111111111111 invoke [1]",
                                 "Program 11111111111111111111111111111111 success"]
    assert meta.compute_units_consumed == 150
    st = client.get_signature_statuses([sig]).value[0]
    assert st.slot == tx.slot and st.err is None and str(st.confirmation_status) == "TransactionConfirmationStatus.Finalized"
    assert client.get_block_time(tx.slot).value == tx.block_time


def test_preflight_failure_returns_logs_and_changes_nothing(client, funded):
    before = client.get_balance(funded.pubkey()).value
    with pytest.raises(RPCException) as exc:
        client.send_transaction(_transfer_tx(client, funded, Keypair().pubkey(), before * 2))
    err = exc.value.args[0]
    assert isinstance(err, R.SendTransactionPreflightFailureMessage)
    assert err.message.startswith("Transaction simulation failed: Error processing Instruction 0: custom program error: 0x1")
    assert any("insufficient lamports" in l for l in err.data.logs)
    assert client.get_balance(funded.pubkey()).value == before  # no fee charged for a failed preflight


def test_skip_preflight_failure_lands_with_error_and_fee(client, funded):
    before = client.get_balance(funded.pubkey()).value
    tx = _transfer_tx(client, funded, Keypair().pubkey(), before * 2)
    sig = client.send_transaction(tx, opts=TxOpts(skip_preflight=True)).value
    st = client.get_signature_statuses([sig]).value[0]
    assert st is not None and st.err is not None
    meta = client.get_transaction(sig).value.transaction.meta
    assert meta.fee == 5000 and meta.err is not None
    assert client.get_balance(funded.pubkey()).value == before - 5000


def test_expired_blockhash_is_rejected(node, client, funded):
    old = client.get_latest_blockhash().value.blockhash
    slot = client.get_slot().value
    assert rpc(node.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": slot + 151}])["result"]["absoluteSlot"] == slot + 151
    body = _send_raw(node, bytes(_transfer_tx(client, funded, Keypair().pubkey(), 1, old)))
    assert body["error"]["code"] == -32002
    assert body["error"]["message"] == "Transaction simulation failed: Blockhash not found"
    assert body["error"]["data"]["err"] == "BlockhashNotFound"
    assert rpc(node.rpc_url, "isBlockhashValid", [str(old)])["result"]["value"] is False


def test_blockhash_within_the_window_still_works(node, client, funded):
    bh = client.get_latest_blockhash().value.blockhash
    slot = client.get_slot().value
    rpc(node.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": slot + 140}])
    sig = client.send_transaction(_transfer_tx(client, funded, Keypair().pubkey(), 1_000_000, bh)).value
    assert client.get_signature_statuses([sig]).value[0].err is None


def test_duplicate_transaction_is_rejected_and_lands_once(node, client, funded):
    to = Keypair().pubkey()
    tx = _transfer_tx(client, funded, to, 2_000_000)
    assert "result" in _send_raw(node, bytes(tx))
    body = _send_raw(node, bytes(tx))
    assert body["error"]["code"] == -32002 and body["error"]["data"]["err"] == "AlreadyProcessed"
    again = _send_raw(node, bytes(tx), skipPreflight=True)
    assert again["result"] == str(tx.signatures[0])  # a real node answers the signature and drops it
    assert client.get_balance(to).value == 2_000_000


def test_invalid_signature_is_32003(node, client, funded):
    tx = _transfer_tx(client, funded, Keypair().pubkey(), 1)
    forged = Transaction.populate(tx.message, [Keypair().sign_message(bytes(tx.message))])
    body = _send_raw(node, bytes(forged))
    assert body["error"] == {"code": -32003, "message": "Transaction signature verification failure"}
    body = rpc(node.rpc_url, "simulateTransaction",
               [base64.b64encode(bytes(forged)).decode(), {"encoding": "base64", "sigVerify": True}])
    assert body["error"]["code"] == -32003


def test_every_signature_is_verified_against_its_own_signer(node, client, funded):
    """The node reads the signer keys from the wire bytes (not from a parsed copy): a forged second signature,
    a v0 transaction's forged signature, and signatures swapped between two signers must all be -32003, while
    the same transactions signed honestly land."""
    cosigner = Keypair()
    bh = client.get_latest_blockhash().value.blockhash
    memo = Instruction(MEMO, b"two signers", [AccountMeta(cosigner.pubkey(), True, False)])
    honest = Transaction.new_signed_with_payer([memo], funded.pubkey(), [funded, cosigner], bh)
    msg = bytes(honest.message)
    cases = {
        "second forged": Transaction.populate(honest.message, [funded.sign_message(msg), Keypair().sign_message(msg)]),
        "swapped": Transaction.populate(honest.message, [cosigner.sign_message(msg), funded.sign_message(msg)]),
    }
    v0 = MessageV0.try_compile(funded.pubkey(), [memo], [], bh)
    cases["v0 forged"] = VersionedTransaction.populate(v0, [funded.sign_message(bytes(v0)),
                                                            Keypair().sign_message(bytes(v0))])
    for name, tx in cases.items():
        for skip in (False, True):
            body = _send_raw(node, bytes(tx), skipPreflight=skip)
            assert body.get("error", {}).get("code") == -32003, (name, skip, body)
    assert "result" in _send_raw(node, bytes(honest))
    assert "result" in _send_raw(node, bytes(VersionedTransaction(v0, [funded, cosigner])))


def test_oversized_transaction_is_rejected(node, client, funded):
    bh = client.get_latest_blockhash().value.blockhash
    memo = Instruction(MEMO, b"x" * 1300, [])
    tx = Transaction.new_signed_with_payer([memo], funded.pubkey(), [funded], bh)
    assert len(bytes(tx)) > 1232
    body = _send_raw(node, bytes(tx))
    assert body["error"]["code"] == -32602 and "too large" in body["error"]["message"]
    assert "1232" in body["error"]["message"]


def test_garbage_transaction_bytes_are_32602(node):
    body = _send_raw(node, b"\x01" + b"\x00" * 80)
    assert body["error"]["code"] == -32602


def test_simulate_success_failure_accounts_and_replacement(node, client, funded):
    to = Keypair().pubkey()
    stale = Hash.new_unique()
    tx = _transfer_tx(client, funded, to, 3_000_000, stale)
    b64 = base64.b64encode(bytes(tx)).decode()
    body = rpc(node.rpc_url, "simulateTransaction", [b64, {"encoding": "base64"}])
    assert body["result"]["value"]["err"] == "BlockhashNotFound"
    body = rpc(node.rpc_url, "simulateTransaction", [b64, {"encoding": "base64", "replaceRecentBlockhash": True,
                                                          "accounts": {"addresses": [str(to)], "encoding": "base64"}}])
    parsed = R.SimulateTransactionResp.from_json(json.dumps(body))
    v = parsed.value
    assert v.err is None and v.units_consumed == 150 and v.accounts[0].lamports == 3_000_000
    latest = client.get_latest_blockhash().value
    assert body["result"]["value"]["replacementBlockhash"] == {"blockhash": str(latest.blockhash),
                                                               "lastValidBlockHeight": latest.last_valid_block_height}
    assert client.get_balance(to).value == 0  # simulation changes nothing
    sim = client.simulate_transaction(_transfer_tx(client, funded, to, 10**18)).value
    assert sim.err is not None and any("insufficient" in l for l in sim.logs)


def test_signatures_for_address_paginates_newest_first(client, funded):
    to = Keypair().pubkey()
    sigs = []
    for i in range(5):
        sigs.append(client.send_transaction(_transfer_tx(client, funded, to, 1_000_000 + i)).value)
    got = [s.signature for s in client.get_signatures_for_address(to).value]
    assert got == sigs[::-1]
    assert [s.signature for s in client.get_signatures_for_address(to, limit=2).value] == sigs[::-1][:2]
    assert [s.signature for s in client.get_signatures_for_address(to, before=sigs[3]).value] == sigs[:3][::-1]
    assert [s.signature for s in client.get_signatures_for_address(to, until=sigs[1]).value] == sigs[2:][::-1]
    assert [s.signature for s in client.get_signatures_for_address(to, before=sigs[4], until=sigs[1]).value] == [sigs[3], sigs[2]]


def test_get_transaction_encodings(node, client, funded):
    sig = client.send_transaction(_transfer_tx(client, funded, Keypair().pubkey(), 1_000_000)).value
    b64 = rpc(node.rpc_url, "getTransaction", [str(sig), {"encoding": "base64"}])["result"]
    raw = base64.b64decode(b64["transaction"][0])
    assert VersionedTransaction.from_bytes(raw).signatures[0] == sig
    for enc in ("json", "jsonParsed", "base64", "base58"):
        body = rpc(node.rpc_url, "getTransaction", [str(sig), {"encoding": enc, "maxSupportedTransactionVersion": 0}])
        parsed = R.GetTransactionResp.from_json(json.dumps(body))
        assert parsed.value.transaction.meta.fee == 5000, enc
    parsed = rpc(node.rpc_url, "getTransaction", [str(sig), {"encoding": "jsonParsed"}])["result"]
    keys = parsed["transaction"]["message"]["accountKeys"]
    assert keys[0] == {"pubkey": str(funded.pubkey()), "writable": True, "signer": True, "source": "transaction"}
    assert rpc(node.rpc_url, "getTransaction", [str(Signature.default())])["result"] is None
    body = rpc(node.rpc_url, "getTransaction", [str(sig), {"commitment": "processed"}])
    assert body["error"]["code"] == -32602


def test_v0_transaction_needs_max_supported_version(node, client, funded):
    bh = client.get_latest_blockhash().value.blockhash
    ix = transfer(TransferParams(from_pubkey=funded.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1_000_000))
    msg = MessageV0.try_compile(funded.pubkey(), [ix], [], bh)
    tx = VersionedTransaction(msg, [funded])
    sig = client.send_transaction(tx).value
    body = rpc(node.rpc_url, "getTransaction", [str(sig)])
    assert body["error"]["code"] == -32015
    got = client.get_transaction(sig, max_supported_transaction_version=0).value
    assert got.transaction.version == 0 and got.transaction.meta.err is None


def test_fee_for_message(node, client, funded):
    tx = _transfer_tx(client, funded, Keypair().pubkey(), 1)
    assert client.get_fee_for_message(tx.message).value == 5000
    stale = _transfer_tx(client, funded, Keypair().pubkey(), 1, Hash.new_unique())
    assert client.get_fee_for_message(stale.message).value is None


def test_blocks_and_block_details(node, client, funded):
    sig = client.send_transaction(_transfer_tx(client, funded, Keypair().pubkey(), 1_000_000)).value
    slot = client.get_transaction(sig).value.slot
    blocks = client.get_blocks(max(0, slot - 3), slot).value
    assert slot in blocks and blocks == sorted(blocks)
    assert rpc(node.rpc_url, "getBlocksWithLimit", [slot, 1])["result"] == [slot]
    block = client.get_block(slot, max_supported_transaction_version=0).value
    assert [t.transaction.signatures[0] for t in block.transactions] == [sig]
    body = rpc(node.rpc_url, "getBlock", [slot, {"transactionDetails": "signatures", "rewards": False}])
    assert body["result"]["signatures"] == [str(sig)]
    R.GetBlockResp.from_json(json.dumps(body))
    body = rpc(node.rpc_url, "getBlock", [slot, {"transactionDetails": "accounts", "maxSupportedTransactionVersion": 0}])
    keys = body["result"]["transactions"][0]["transaction"]["accountKeys"]
    assert keys[0] == {"pubkey": str(funded.pubkey()), "writable": True, "signer": True, "source": "transaction"}
    assert keys[2]["writable"] is False and keys[2]["pubkey"] == "11111111111111111111111111111111"
    R.GetBlockResp.from_json(json.dumps(body))
    body = rpc(node.rpc_url, "getBlock", [10**9])
    assert body["error"]["code"] == -32004


def test_async_client_flow(node, funded):
    async def flow():
        async with AsyncClient(node.rpc_url) as ac:
            assert (await ac.is_connected())
            to = Keypair().pubkey()
            bh = (await ac.get_latest_blockhash()).value.blockhash
            ix = transfer(TransferParams(from_pubkey=funded.pubkey(), to_pubkey=to, lamports=4_000_000))
            tx = Transaction.new_signed_with_payer([ix], funded.pubkey(), [funded], bh)
            sig = (await ac.send_transaction(tx)).value
            await ac.confirm_transaction(sig)
            assert (await ac.get_balance(to)).value == 4_000_000
            got = (await ac.get_transaction(sig)).value
            assert got.transaction.meta.post_balances[1] == 4_000_000
            assert (await ac.get_account_info(to)).value.lamports == 4_000_000

    asyncio.run(flow())


def test_v0_transaction_with_an_address_lookup_table(node, client, funded):
    import struct

    from solders.address_lookup_table_account import AddressLookupTableAccount
    from solders.instruction import AccountMeta

    alt_program = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
    system = Pubkey.from_string("11111111111111111111111111111111")
    recent = client.get_slot().value - 1  # a sealed slot, present in SlotHashes
    table, bump = Pubkey.find_program_address([bytes(funded.pubkey()), struct.pack("<Q", recent)], alt_program)
    create = Instruction(alt_program, struct.pack("<IQB", 0, recent, bump), [
        AccountMeta(table, False, True), AccountMeta(funded.pubkey(), True, False),
        AccountMeta(funded.pubkey(), True, True), AccountMeta(system, False, False)])
    dests = [Keypair().pubkey() for _ in range(3)]
    extend = Instruction(alt_program, struct.pack("<IQ", 2, len(dests)) + b"".join(bytes(d) for d in dests), [
        AccountMeta(table, False, True), AccountMeta(funded.pubkey(), True, False),
        AccountMeta(funded.pubkey(), True, True), AccountMeta(system, False, False)])
    bh = client.get_latest_blockhash().value.blockhash
    sig = client.send_transaction(Transaction.new_signed_with_payer([create, extend], funded.pubkey(), [funded], bh)).value
    assert client.get_signature_statuses([sig]).value[0].err is None
    bh = client.get_latest_blockhash().value.blockhash  # a later slot: the new addresses are active
    ixs = [transfer(TransferParams(from_pubkey=funded.pubkey(), to_pubkey=d, lamports=1_000_000 + i))
           for i, d in enumerate(dests)]
    msg = MessageV0.try_compile(funded.pubkey(), ixs, [AddressLookupTableAccount(table, dests)], bh)
    assert len(msg.address_table_lookups) == 1
    sig = client.send_transaction(VersionedTransaction(msg, [funded])).value
    assert [client.get_balance(d).value for d in dests] == [1_000_000, 1_000_001, 1_000_002]
    got = rpc(node.rpc_url, "getTransaction", [str(sig), {"maxSupportedTransactionVersion": 0}])["result"]
    loaded = got["meta"]["loadedAddresses"]["writable"]
    assert sorted(loaded) == sorted(str(d) for d in dests)
    n_static = len(got["transaction"]["message"]["accountKeys"])
    post = dict(zip(loaded, got["meta"]["postBalances"][n_static:]))  # loaded keys follow the static ones
    assert post == {str(d): 1_000_000 + i for i, d in enumerate(dests)}
    assert got["transaction"]["message"]["addressTableLookups"][0]["accountKey"] == str(table)
    parsed = rpc(node.rpc_url, "getTransaction", [str(sig), {"maxSupportedTransactionVersion": 0,
                                                             "encoding": "jsonParsed"}])["result"]
    assert parsed["transaction"]["message"]["accountKeys"][-1]["source"] == "lookupTable"
    R.GetTransactionResp.from_json(json.dumps({"jsonrpc": "2.0", "result": parsed, "id": 1}))
    assert [s.signature for s in client.get_signatures_for_address(dests[0]).value] == [sig]
