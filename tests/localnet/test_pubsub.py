"""Every PubSub subscription delivers, through solana-py's websocket client (parsed by solders)."""
from __future__ import annotations

import asyncio

from solana.rpc.async_api import AsyncClient
from solana.rpc.websocket_api import SolanaWsClient
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.rpc.config import RpcTransactionLogsFilterMentions
from solders.rpc.responses import (AccountNotification, LogsNotification, ProgramNotification, RootNotification,
                                   SignatureNotification, SlotNotification)
from solders.system_program import TransferParams, transfer
from solders.transaction import VersionedTransaction

SYSTEM = Pubkey.from_string("11111111111111111111111111111111")


async def _tx(ac: AsyncClient, payer: Keypair, to: Pubkey, lamports: int) -> VersionedTransaction:
    bh = (await ac.get_latest_blockhash()).value.blockhash
    ix = transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=lamports))
    return VersionedTransaction(MessageV0.try_compile(payer.pubkey(), [ix], [], bh), [payer])


async def _next(ws: SolanaWsClient, kind):
    while True:
        m = await asyncio.wait_for(ws.recv(), 10)
        if isinstance(m, kind):
            return m


def test_every_subscription_delivers(node, funded):
    async def flow():
        to = Keypair().pubkey()
        async with AsyncClient(node.rpc_url) as ac, SolanaWsClient(node.ws_url) as ws:
            acct_sub = await ws.account_subscribe(pubkey=to)
            logs_sub = await ws.logs_subscribe(filter_=RpcTransactionLogsFilterMentions(to))
            prog_sub = await ws.program_subscribe(program_id=SYSTEM, filters=[0])
            slot_sub = await ws.slot_subscribe()
            root_sub = await ws.root_subscribe()
            ids = {s.subscription_id for s in (acct_sub, logs_sub, prog_sub, slot_sub, root_sub)}
            assert len(ids) == 5  # the server confirmed five distinct subscriptions

            tx = await _tx(ac, funded, to, 5_000_000)
            sig = (await ac.send_transaction(tx)).value
            got = {}
            while len(got) < 5:
                m = await asyncio.wait_for(ws.recv(), 10)
                got.setdefault(type(m), m)
            acct = got[AccountNotification]
            assert acct.subscription == acct_sub.subscription_id and acct.result.value.lamports == 5_000_000
            logs = got[LogsNotification]
            assert logs.result.value.signature == sig and logs.result.value.err is None
            assert "Program 11111111111111111111111111111111 success" in logs.result.value.logs
            prog = got[ProgramNotification]
            assert prog.subscription == prog_sub.subscription_id and prog.result.value.account.owner == SYSTEM
            slot = got[SlotNotification]
            assert slot.result.slot == (await ac.get_transaction(sig, max_supported_transaction_version=0)).value.slot
            assert got[RootNotification].result == slot.result.slot

            await ws.unsubscribe(acct_sub)  # raises unless the server answers true
            await ws.unsubscribe(slot_sub)

    asyncio.run(flow())


def test_signature_subscribe_before_and_after_landing(node, funded):
    async def flow():
        async with AsyncClient(node.rpc_url) as ac, SolanaWsClient(node.ws_url) as ws:
            tx = await _tx(ac, funded, Keypair().pubkey(), 1_000_000)
            await ws.signature_subscribe(signature=tx.signatures[0])
            await ac.send_transaction(tx)
            note = await _next(ws, SignatureNotification)
            assert note.result.value.err is None
            # subscribing to a signature that already landed answers at once
            await ws.signature_subscribe(signature=tx.signatures[0])
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
