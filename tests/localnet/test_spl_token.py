"""SPL Token flows with spl.token 0.41's instructions sent through solana-py (localnet.solana_py.SplToken, in
place of the Token client solana-py 0.40 removed) and the token/account queries wallets and explorers make."""
from __future__ import annotations

import base64
import json

import pytest
import zstandard
from solana.rpc.models import MemcmpOpts, TokenAccountOpts
from solders.keypair import Keypair
from solders.rpc import responses as R
from localnet.solana_py import SplToken as Token
from spl.token.constants import TOKEN_PROGRAM_ID

from localnet_rpc_helpers import rpc


@pytest.fixture(scope="module")
def setup(client):
    payer = Keypair()
    client.confirm_transaction(client.request_airdrop(payer.pubkey(), 10 * 10**9).value)
    token = Token.create_mint(client, payer, payer.pubkey(), 6, TOKEN_PROGRAM_ID)
    alice_ata = token.create_associated_token_account(payer.pubkey())
    token.mint_to(alice_ata, payer, 5_000_000)
    bob = Keypair()
    bob_ata = token.create_associated_token_account(bob.pubkey())
    return payer, token, alice_ata, bob, bob_ata


def test_mint_ata_transfer_checked_and_balances(client, setup):
    payer, token, alice_ata, bob, bob_ata = setup
    sig = token.transfer_checked(source=alice_ata, dest=bob_ata, owner=payer, amount=1_250_000, decimals=6)
    assert token.get_balance(bob_ata).value.amount == "1250000"
    assert token.get_balance(alice_ata).value.ui_amount_string == "3.75"
    assert client.get_token_supply(token.pubkey).value.amount == "5000000"
    meta = client.get_transaction(sig).value.transaction.meta
    keys = client.get_transaction(sig).value.transaction.transaction.message.account_keys
    pre = {keys[b.account_index]: b.ui_token_amount.amount for b in meta.pre_token_balances}
    post = {keys[b.account_index]: b.ui_token_amount.amount for b in meta.post_token_balances}
    assert pre == {alice_ata: "5000000", bob_ata: "0"}
    assert post == {alice_ata: "3750000", bob_ata: "1250000"}
    assert {b.owner for b in meta.post_token_balances} == {payer.pubkey(), bob.pubkey()}


def test_token_accounts_by_owner_and_delegate(node, client, setup):
    payer, token, alice_ata, bob, bob_ata = setup
    accts = token.get_accounts_by_owner(bob.pubkey()).value
    assert [a.pubkey for a in accts] == [bob_ata]
    parsed = token.get_accounts_by_owner_json_parsed(bob.pubkey()).value
    info = parsed[0].account.data.parsed["info"]
    assert info["mint"] == str(token.pubkey) and info["owner"] == str(bob.pubkey())
    by_prog = client.get_token_accounts_by_owner(bob.pubkey(), TokenAccountOpts(program_id=TOKEN_PROGRAM_ID)).value
    assert [a.pubkey for a in by_prog] == [bob_ata]
    delegate = Keypair()
    token.approve(source=alice_ata, delegate=delegate.pubkey(), owner=payer, amount=777)
    got = client.get_token_accounts_by_delegate(delegate.pubkey(), TokenAccountOpts(mint=token.pubkey)).value
    assert [a.pubkey for a in got] == [alice_ata]
    body = rpc(node.rpc_url, "getTokenAccountsByDelegate",
               [str(delegate.pubkey()), {"mint": str(token.pubkey)}, {"encoding": "jsonParsed"}])
    info = body["result"]["value"][0]["account"]["data"]["parsed"]["info"]
    assert info["delegate"] == str(delegate.pubkey()) and info["delegatedAmount"]["amount"] == "777"
    R.GetTokenAccountsByDelegateJsonParsedResp.from_json(json.dumps(body))


def test_largest_accounts_and_mint_json_parsed(node, client, setup):
    payer, token, alice_ata, bob, bob_ata = setup
    largest = client.get_token_largest_accounts(token.pubkey).value
    assert [a.address for a in largest] == [alice_ata, bob_ata]
    body = rpc(node.rpc_url, "getAccountInfo", [str(token.pubkey), {"encoding": "jsonParsed"}])
    data = body["result"]["value"]["data"]
    assert data["program"] == "spl-token" and data["parsed"]["type"] == "mint"
    assert data["parsed"]["info"]["mintAuthority"] == str(payer.pubkey()) and data["parsed"]["info"]["decimals"] == 6
    R.GetAccountInfoJsonParsedResp.from_json(json.dumps(body))


def test_account_encodings_and_data_slice(node, client, setup):
    payer, token, alice_ata, bob, bob_ata = setup
    full = bytes(client.get_account_info(bob_ata).value.data)
    assert len(full) == 165
    for enc in ("base64", "base64+zstd"):
        v = rpc(node.rpc_url, "getAccountInfo", [str(bob_ata), {"encoding": enc}])["result"]["value"]
        blob = base64.b64decode(v["data"][0])
        assert (zstandard.ZstdDecompressor().decompress(blob) if enc == "base64+zstd" else blob) == full
        assert v["space"] == 165
    v = rpc(node.rpc_url, "getAccountInfo", [str(bob_ata), {"encoding": "base64", "dataSlice": {"offset": 32, "length": 32}}])
    assert base64.b64decode(v["result"]["value"]["data"][0]) == bytes(bob.pubkey())
    v = rpc(node.rpc_url, "getAccountInfo", [str(bob_ata), {"encoding": "base58"}])
    assert v["error"]["code"] == -32602 and "128 bytes" in v["error"]["message"]
    v = rpc(node.rpc_url, "getAccountInfo", [str(bob_ata), {"encoding": "base58", "dataSlice": {"offset": 0, "length": 32}}])
    assert v["result"]["value"]["data"][0] == str(token.pubkey)
    multi = client.get_multiple_accounts([bob_ata, Keypair().pubkey(), alice_ata]).value
    assert multi[1] is None and multi[0].owner == TOKEN_PROGRAM_ID and multi[2].lamports == 2039280


def test_program_accounts_filters_and_context(node, client, setup):
    payer, token, alice_ata, bob, bob_ata = setup
    holders = client.get_program_accounts(
        TOKEN_PROGRAM_ID, encoding="base64", filters=[165, MemcmpOpts(offset=0, bytes=str(token.pubkey))]
    ).value
    assert sorted(str(a.pubkey) for a in holders) == sorted([str(alice_ata), str(bob_ata)])
    mine = client.get_program_accounts(
        TOKEN_PROGRAM_ID, encoding="base64", filters=[165, MemcmpOpts(offset=32, bytes=str(bob.pubkey()))]
    ).value
    assert [a.pubkey for a in mine] == [bob_ata]
    mints = client.get_program_accounts(TOKEN_PROGRAM_ID, encoding="base64", filters=[82]).value
    assert token.pubkey in [a.pubkey for a in mints]
    body = rpc(node.rpc_url, "getProgramAccounts", [str(TOKEN_PROGRAM_ID), {
        "encoding": "jsonParsed", "withContext": True,
        "filters": [{"dataSize": 165}, {"memcmp": {"offset": 32, "bytes": base64.b64encode(bytes(bob.pubkey())).decode(),
                                                   "encoding": "base64"}}]}])
    parsed = R.GetProgramAccountsWithContextJsonParsedResp.from_json(json.dumps(body))
    assert [a.pubkey for a in parsed.value] == [bob_ata]


def test_set_token_account_cheat(node, client, setup):
    payer, token, alice_ata, bob, bob_ata = setup
    carol = Keypair()
    body = rpc(node.rpc_url, "surfnet_setTokenAccount", [str(carol.pubkey()), str(token.pubkey), {"amount": 42_000_000}])
    assert "result" in body, body
    accts = token.get_accounts_by_owner(carol.pubkey()).value
    assert len(accts) == 1
    assert token.get_balance(accts[0].pubkey).value.amount == "42000000"
    # the cheat account is a real token account: carol can spend from it
    client.confirm_transaction(client.request_airdrop(carol.pubkey(), 10**9).value)
    token.transfer_checked(source=accts[0].pubkey, dest=bob_ata, owner=carol, amount=2_000_000, decimals=6)
    assert token.get_balance(accts[0].pubkey).value.amount == "40000000"
