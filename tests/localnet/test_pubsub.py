"""Every PubSub subscription delivers, through solana-py's websocket client (parsed by solders)."""
from __future__ import annotations

import asyncio

from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import connect
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (AccountNotification, LogsNotification, ProgramNotification, RootNotification,
                                   SignatureNotification, SlotNotification, SubscriptionResult, UnsubscribeResult)
from solders.system_program import TransferParams, transfer
from solders.transaction import Transaction

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


async def _send(ac: AsyncClient, payer: Keypair, to: Pubkey, lamports: int):
    bh = (await ac.get_latest_blockhash()).value.blockhash
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    tx = Transaction.new_signed_with_payer([ix], payer.pubkey(), [payer], bh)
    return tx, (await ac.send_transaction(tx)).value


async def _next(ws, kind):
    while True:
        msgs = await asyncio.wait_for(ws.recv(), 10)
        for m in msgs:
            if isinstance(m, kind):
                return m


def test_every_subscription_delivers(node, funded):
    async def flow():
        to = Keypair().pubkey()
        async with AsyncClient(node.rpc_url) as ac, connect(node.ws_url) as ws:
            await ws.account_subscribe(to)
            acct_sub = (await _next(ws, SubscriptionResult)).result
            await ws.logs_subscribe(RpcTransactionLogsFilterMentions(to))
            logs_sub = (await _next(ws, SubscriptionResult)).result
            await ws.program_subscribe(SYSTEM, filters=[0])
            prog_sub = (await _next(ws, SubscriptionResult)).result
            await ws.slot_subscribe()
            slot_sub = (await _next(ws, SubscriptionResult)).result
            await ws.root_subscribe()
            root_sub = (await _next(ws, SubscriptionResult)).result
            assert len({acct_sub, logs_sub, prog_sub, slot_sub, root_sub}) == 5

            tx, sig = await _send(ac, funded, to, 5_000_000)
            got = {}
            while len(got) < 5:
                for m in await asyncio.wait_for(ws.recv(), 10):
                    got.setdefault(type(m), m)
            acct = got[AccountNotification]
            assert acct.subscription == acct_sub and acct.result.value.lamports == 5_000_000
            logs = got[LogsNotification]
            assert logs.result.value.signature == sig and logs.result.value.err is None
            assert "Program 11111111111111111111111111111111 success" in logs.result.value.logs
            prog = got[ProgramNotification]
            assert prog.subscription == prog_sub and prog.result.value.account.owner == SYSTEM
            slot = got[SlotNotification]
            assert slot.result.slot == (await ac.get_transaction(sig)).value.slot
            assert got[RootNotification].result == slot.result.slot

            await ws.account_unsubscribe(acct_sub)
            assert (await _next(ws, UnsubscribeResult)).result is True
            await ws.slot_unsubscribe(slot_sub)
            await _next(ws, UnsubscribeResult)

    asyncio.run(flow())


def test_signature_subscribe_before_and_after_landing(node, funded):
    async def flow():
        async with AsyncClient(node.rpc_url) as ac, connect(node.ws_url) as ws:
            bh = (await ac.get_latest_blockhash()).value.blockhash
            ix = transfer(TransferParams(from_pubkey=funded.pubkey(), to_pubkey=Keypair().pubkey(), lamports=1_000_000))
            tx = Transaction.new_signed_with_payer([ix], funded.pubkey(), [funded], bh)
            await ws.signature_subscribe(tx.signatures[0])
            await _next(ws, SubscriptionResult)
            await ac.send_transaction(tx)
            note = await _next(ws, SignatureNotification)
            assert note.result.value.err is None
            # subscribing to a signature that already landed answers at once
            await ws.signature_subscribe(tx.signatures[0])
            await _next(ws, SubscriptionResult)
            assert (await _next(ws, SignatureNotification)).result.value.err is None

    asyncio.run(flow())


def test_bad_subscription_requests_get_errors_not_disconnects(node):
    import json

    import websockets

    async def flow():
        async with websockets.connect(node.ws_url) as ws:
            await ws.send("{not json")
            assert json.loads(await ws.recv())["error"]["code"] == -32700
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 1, "method": "accountSubscribe", "params": ["nope"]}))
            assert json.loads(await ws.recv())["error"]["code"] == -32602
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 2, "method": "fooSubscribe", "params": []}))
            assert json.loads(await ws.recv())["error"]["code"] == -32601
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 3, "method": "slotUnsubscribe", "params": [999999]}))
            assert json.loads(await ws.recv())["error"]["code"] == -32602
            await ws.send(json.dumps({"jsonrpc": "2.0", "id": 4, "method": "slotSubscribe"}))
            assert isinstance(json.loads(await ws.recv())["result"], int)

    asyncio.run(flow())
