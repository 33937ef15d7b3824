"""PubSub as solana-test-validator serves it: a JSON-RPC batch answered with one array; slotsUpdatesSubscribe;
blockSubscribe and voteSubscribe only behind --rpc-pubsub-enable-block-subscription /
--rpc-pubsub-enable-vote-subscription; signature notifications held until their commitment level."""
from __future__ import annotations

import asyncio
import base64
import json

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction
from websockets.asyncio.client import connect

import localnet
from localnet_rpc_helpers import rpc


@pytest.fixture(scope="module")
def flagged():
    with localnet.start_in_process(block_subscription=True, vote_subscription=True) as h:
        yield h


def _req(rid: int, method: str, params=None) -> dict:
    return {"jsonrpc": "2.0", "id": rid, "method": method, "params": params or []}


async def _recv(ws, want, timeout: float = 20):
    """The next message for which want(message) is true (others, e.g. slot notifications, are skipped)."""
    async def loop():
        while True:
            m = json.loads(await ws.recv())
            if want(m):
                return m
    return await asyncio.wait_for(loop(), timeout)


def _method(name: str, sub: int):
    return lambda m: isinstance(m, dict) and m.get("method") == name and m["params"]["subscription"] == sub


def _airdrop(url: str, to: Pubkey) -> str:
    return rpc(url, "requestAirdrop", [str(to), 10**9])["result"]


def test_a_batch_is_answered_with_one_array(node):
    async def flow():
        async with connect(node.ws_url) as ws:
            await ws.send(json.dumps([_req(1, "slotSubscribe"), _req(2, "rootSubscribe"), _req(3, "nopeSubscribe")]))
            answer = json.loads(await ws.recv())
            assert isinstance(answer, list) and [r["id"] for r in answer] == [1, 2, 3]
            assert isinstance(answer[0]["result"], int) and answer[2]["error"]["code"] == -32601
            await ws.send(json.dumps(_req(4, "slotSubscribe")))  # a single request still gets a single object
            assert json.loads(await ws.recv())["id"] == 4
    asyncio.run(flow())


def test_slots_updates_report_frozen_blocks_and_roots(node):
    async def flow():
        async with connect(node.ws_url) as ws:
            await ws.send(json.dumps(_req(1, "slotsUpdatesSubscribe")))
            sub = json.loads(await ws.recv())["result"]
            sig = _airdrop(node.rpc_url, Keypair().pubkey())
            slot = rpc(node.rpc_url, "getSignatureStatuses", [[sig]])["result"]["value"][0]["slot"]
            frozen = await _recv(ws, lambda m: _method("slotsUpdatesNotification", sub)(m)
                                 and m["params"]["result"]["type"] == "frozen" and m["params"]["result"]["slot"] == slot)
            assert frozen["params"]["result"]["stats"]["numSuccessfulTransactions"] == 1
            root = await _recv(ws, lambda m: _method("slotsUpdatesNotification", sub)(m)
                               and m["params"]["result"]["type"] == "root")
            assert root["params"]["result"]["slot"] == slot  # per-tx slots finalize at once
            await ws.send(json.dumps(_req(2, "slotsUpdatesUnsubscribe", [sub])))
            assert (await _recv(ws, lambda m: m.get("id") == 2))["result"] is True
    asyncio.run(flow())


def test_block_and_vote_subscriptions_need_their_flags(node):
    async def flow():
        async with connect(node.ws_url) as ws:
            await ws.send(json.dumps([_req(1, "blockSubscribe", ["all"]), _req(2, "voteSubscribe")]))
            assert [r["error"]["code"] for r in json.loads(await ws.recv())] == [-32601, -32601]
    asyncio.run(flow())


def test_block_subscribe_delivers_blocks_and_filters_by_mention(flagged):
    url = flagged.rpc_url
    watched = Keypair().pubkey()

    async def flow():
        async with connect(flagged.ws_url) as ws:
            await ws.send(json.dumps([
                _req(1, "blockSubscribe", ["all", {"commitment": "confirmed", "transactionDetails": "signatures"}]),
                _req(2, "blockSubscribe", [{"mentionsAccountOrProgram": str(watched)}, {"encoding": "jsonParsed"}]),
                _req(3, "blockSubscribe", ["all", {"commitment": "processed"}])]))
            subs = json.loads(await ws.recv())
            all_sub, mention_sub = subs[0]["result"], subs[1]["result"]
            assert subs[2]["error"]["code"] == -32602  # processed is refused, as by the validator
            other = _airdrop(url, Keypair().pubkey())
            mine = _airdrop(url, watched)
            got = await _recv(ws, lambda m: _method("blockNotification", all_sub)(m)
                              and other in m["params"]["result"]["value"]["block"]["signatures"])
            value = got["params"]["result"]["value"]
            assert value["err"] is None and value["slot"] == got["params"]["result"]["context"]["slot"]
            note = await _recv(ws, _method("blockNotification", mention_sub))
            block = note["params"]["result"]["value"]["block"]
            assert [t["transaction"]["signatures"][0] for t in block["transactions"]] == [mine]
    asyncio.run(flow())


def test_vote_subscribe_reports_the_validators_signed_votes(flagged):
    url = flagged.rpc_url
    vote = rpc(url, "getVoteAccounts", [])["result"]["current"][0]

    async def flow():
        async with connect(flagged.ws_url) as ws:
            await ws.send(json.dumps(_req(1, "voteSubscribe")))
            sub = json.loads(await ws.recv())["result"]
            sig = _airdrop(url, Keypair().pubkey())
            slot = rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]["slot"]
            note = await _recv(ws, lambda m: _method("voteNotification", sub)(m) and m["params"]["result"]["slots"] == [slot])
            v = note["params"]["result"]
            assert v["votePubkey"] == vote["votePubkey"]
            assert v["hash"] == rpc(url, "getBlock", [slot])["result"]["blockhash"]
            signed = bytes(Pubkey.from_string(v["votePubkey"])) + slot.to_bytes(8, "little") + bytes(Hash.from_string(v["hash"]))
            assert Signature.from_string(v["signature"]).verify(Pubkey.from_string(vote["nodePubkey"]), signed)
    asyncio.run(flow())


def test_signature_notifications_wait_for_their_commitment():
    with localnet.start_in_process(slot_ms=25, finality_depth=4) as h:
        url = h.rpc_url
        payer = Keypair()
        air = _airdrop(url, payer.pubkey())

        async def flow():
            async with connect(h.ws_url) as ws:
                await ws.send(json.dumps([_req(1, "signatureSubscribe", [air, {"commitment": "finalized"}])]))
                sub = json.loads(await ws.recv())[0]["result"]
                await _recv(ws, _method("signatureNotification", sub))  # the airdrop is finalized by now
                status = rpc(url, "getSignatureStatuses", [[air]])["result"]["value"][0]
                assert status["confirmationStatus"] == "finalized"
                bh = rpc(url, "getLatestBlockhash", [{"commitment": "confirmed"}])["result"]["value"]["blockhash"]
                tx = Transaction.new_signed_with_payer(
                    [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**6))],
                    payer.pubkey(), [payer], Hash.from_string(bh))
                sig = str(tx.signatures[0])
                await ws.send(json.dumps([_req(2, "signatureSubscribe", [sig, {"commitment": "finalized"}]),
                                          _req(3, "signatureSubscribe", [sig, {"commitment": "processed"}])]))
                final_sub, processed_sub = [r["result"] for r in json.loads(await ws.recv())]
                rpc(url, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])
                first = await _recv(ws, lambda m: m.get("method") == "signatureNotification")
                assert first["params"]["subscription"] == processed_sub
                await _recv(ws, _method("signatureNotification", final_sub))
                status = rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]
                assert status["confirmationStatus"] == "finalized"
        asyncio.run(flow())


def test_account_and_logs_notifications_wait_for_their_commitment():
    with localnet.start_in_process(slot_ms=25, finality_depth=4) as h:
        url, to = h.rpc_url, Keypair().pubkey()

        async def flow():
            async with connect(h.ws_url) as ws:
                await ws.send(json.dumps([
                    _req(1, "accountSubscribe", [str(to), {"commitment": "finalized", "encoding": "base64"}]),
                    _req(2, "accountSubscribe", [str(to), {"commitment": "processed", "encoding": "base64"}]),
                    _req(3, "logsSubscribe", [{"mentions": [str(to)]}, {"commitment": "finalized"}])]))
                final_sub, processed_sub, logs_sub = [r["result"] for r in json.loads(await ws.recv())]
                sig = _airdrop(url, to)
                first = await _recv(ws, lambda m: m.get("method") in ("accountNotification", "logsNotification"))
                assert first["params"]["subscription"] == processed_sub
                assert first["params"]["result"]["value"]["lamports"] == 10**9
                waiting = {final_sub, logs_sub}
                while waiting:
                    note = await _recv(ws, lambda m: m.get("params", {}).get("subscription") in waiting)
                    waiting.discard(note["params"]["subscription"])
                    status = rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]
                    assert status["confirmationStatus"] == "finalized"
                    assert note["params"]["result"]["context"]["slot"] == status["slot"]
        asyncio.run(flow())
