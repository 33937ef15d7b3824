"""Slots and the Clock sysvar (real time and per transaction), time travel, and the account cheat codes."""
from __future__ import annotations

import struct
import time

from localnet.solana_py import SyncAsyncClient as Client
from solana.rpc.commitment import Finalized
from solders.keypair import Keypair
from solders.sysvar import CLOCK

import localnet
from localnet_rpc_helpers import rpc


def _clock(c: Client) -> tuple[int, int, int, int, int]:
    """(slot, epoch_start_timestamp, epoch, leader_schedule_epoch, unix_timestamp) read from the sysvar account."""
    return struct.unpack("<QqQQq", bytes(c.get_account_info(CLOCK).value.data)[:40])


def test_slots_and_clock_advance_in_real_time():
    with localnet.start_in_process(slot_ms=20) as h:
        c = Client(h.rpc_url, commitment=Finalized)
        first = c.get_slot().value
        deadline = time.monotonic() + 30
        while c.get_slot().value < first + 5:
            assert time.monotonic() < deadline, "slots did not advance"
            time.sleep(0.02)
        final = c.get_slot().value
        slot, _, _, _, unix = _clock(c)
        assert slot > final and abs(unix - time.time()) < 5  # the clock runs at the processed (open) slot
        blocks = c.get_blocks(first, final).value
        assert blocks == list(range(first, final + 1))  # every elapsed slot produced a block
        assert c.get_block_time(blocks[-1]).value <= int(time.time()) + 1


def test_per_transaction_slots_close_one_slot_each(node, client, funded):
    from solders.system_program import TransferParams, transfer
    from solders.transaction import Transaction

    before = client.get_slot().value
    for _ in range(3):
        bh = client.get_latest_blockhash().value.blockhash
        ix = transfer(TransferParams(from_pubkey=funded.pubkey(), to_pubkey=Keypair().pubkey(), lamports=10**6))
        client.send_transaction(Transaction.new_signed_with_payer([ix], funded.pubkey(), [funded], bh))
    assert client.get_slot().value == before + 3
    assert _clock(client)[0] == before + 4  # transactions run in the open (processed) slot after the confirmed one


def test_time_travel_by_slot_epoch_and_seconds(node, client):
    slot = client.get_slot().value
    info = rpc(node.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": slot + 1000}])["result"]
    assert info["absoluteSlot"] == slot + 1000 and _clock(client)[0] == slot + 1000
    info = rpc(node.rpc_url, "surfnet_timeTravel", [{"absoluteEpoch": 3}])["result"]
    assert info["epoch"] == 3 and info["slotIndex"] == 0 and info["absoluteSlot"] == 3 * 432000
    s, _, epoch, _, unix0 = _clock(client)
    assert (s, epoch) == (3 * 432000, 3)
    rpc(node.rpc_url, "surfnet_timeTravel", [{"relativeSeconds": 86400}])
    s2, _, _, _, unix1 = _clock(client)
    assert unix1 - unix0 >= 86400 and s2 > s
    body = rpc(node.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": 5}])
    assert body["error"]["code"] == -32602 and "back" in body["error"]["message"]
    body = rpc(node.rpc_url, "surfnet_timeTravel", [{"absoluteSlot": 1, "absoluteEpoch": 1}])
    assert body["error"]["code"] == -32602


def test_set_account_cheat(node, client):
    who = Keypair().pubkey()
    owner = Keypair().pubkey()
    body = rpc(node.rpc_url, "surfnet_setAccount", [str(who), {"lamports": 777, "data": "deadbeef", "owner": str(owner)}])
    assert "result" in body, body
    acct = client.get_account_info(who).value
    assert acct.lamports == 777 and bytes(acct.data) == b"\xde\xad\xbe\xef" and acct.owner == owner
    progs = rpc(node.rpc_url, "getProgramAccounts", [str(owner), {"encoding": "base64"}])["result"]
    assert [a["pubkey"] for a in progs] == [str(who)]
    body = rpc(node.rpc_url, "surfnet_setAccount", [str(who), {"lamports": -1}])
    assert body["error"]["code"] == -32602 and "lamports" in body["error"]["message"]
    body = rpc(node.rpc_url, "surfnet_setAccount", [str(who), {"data": "zz"}])
    assert body["error"]["code"] == -32602
    body = rpc(node.rpc_url, "surfnet_setAccount", [str(who), {
        "executable": True, "owner": "BPFLoaderUpgradeab1e11111111111111111111111", "data": "00"}])
    assert body["error"]["code"] == -32602 and "LiteSVM refused" in body["error"]["message"]
    assert rpc(node.rpc_url, "getHealth")["result"] == "ok"
