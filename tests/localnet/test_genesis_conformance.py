"""Genesis as solana-test-validator builds it: the loader of each preloaded program (agave
program-test/src/programs.rs and validator/src/bin/solana-test-validator.rs), the native mint, a staked
validator identity with its vote account, and faucet airdrops that are a bare System transfer."""
from __future__ import annotations

import base64

import httpx
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.transaction import Transaction

import localnet
from localnet.genesis import default_config, programdata_address
from localnet_rpc_helpers import rpc

LOADER_V2 = "BPFLoader2111111111111111111111111111111111"
LOADER_V3 = "BPFLoaderUpgradeab1e11111111111111111111111"
NO_AUTHORITY = "11111111111111111111111111111111"  # Pubkey::default(), test-validator's "none"
NATIVE_MINT = "So11111111111111111111111111111111111111112"
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def _owner(url: str, key) -> str:
    return rpc(url, "getAccountInfo", [str(key), {"encoding": "base64"}])["result"]["value"]["owner"]


def _programdata(url: str, program) -> dict:
    pd = programdata_address(Pubkey.from_string(str(program)))
    return rpc(url, "getAccountInfo", [str(pd), {"encoding": "jsonParsed"}])["result"]["value"]["data"]["parsed"]


def test_spl_programs_are_under_the_loaders_test_validator_uses(node):
    url = node.rpc_url
    for loader_2 in ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
                     "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo"):
        assert _owner(url, loader_2) == LOADER_V2, loader_2
    for upgradeable in ("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb", "AddressLookupTab1e1111111111111111111111111"):
        assert _owner(url, upgradeable) == LOADER_V3, upgradeable
    assert _programdata(url, "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb")["info"]["authority"] == NO_AUTHORITY


def _memo_so(tmp_path):
    so = tmp_path / "memo.so"
    so.write_bytes(bytes(LiteSVM().get_account(MEMO).data))
    return so


def _send(url: str, payer: Keypair, ixs, signers) -> dict:
    bh = rpc(url, "getLatestBlockhash", [])["result"]["value"]["blockhash"]
    tx = Transaction.new_signed_with_payer(ixs, payer.pubkey(), signers, Hash.from_string(bh))
    return rpc(url, "sendTransaction", [base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}])


def _funded(url: str) -> Keypair:
    kp = Keypair()
    rpc(url, "requestAirdrop", [str(kp.pubkey()), 10**10])
    return kp


def test_bpf_program_is_upgradeable_without_authority_and_upgradeable_program_keeps_its_own(tmp_path):
    so = _memo_so(tmp_path)
    plain, owned, immutable, authority = Keypair().pubkey(), Keypair(), Keypair().pubkey(), Keypair()
    genesis = default_config(bpf_programs=((str(plain), str(so)),),
                             upgradeable_programs=((str(owned.pubkey()), str(so), str(authority.pubkey())),
                                                   (str(immutable), str(so), "none")))
    with localnet.start_in_process(genesis=genesis) as h:
        url = h.rpc_url
        for pid in (plain, owned.pubkey(), immutable):
            assert _owner(url, pid) == LOADER_V3
        assert _programdata(url, plain)["info"]["authority"] == NO_AUTHORITY
        assert _programdata(url, immutable)["info"]["authority"] == NO_AUTHORITY
        assert _programdata(url, owned.pubkey())["info"]["authority"] == str(authority.pubkey())
        payer = _funded(url)
        memo = Instruction(owned.pubkey(), b"runs", [AccountMeta(payer.pubkey(), True, False)])
        assert "result" in _send(url, payer, [memo], [payer])
        # The authority really holds it: the loader accepts its SetAuthority (tag 4) and refuses anyone else's.
        pd = programdata_address(owned.pubkey())
        new = Keypair().pubkey()

        def set_authority(signer: Keypair):
            return Instruction(Pubkey.from_string(LOADER_V3), (4).to_bytes(4, "little"), [
                AccountMeta(pd, False, True), AccountMeta(signer.pubkey(), True, False), AccountMeta(new, False, False)])
        stranger = Keypair()
        assert _send(url, payer, [set_authority(stranger)], [payer, stranger])["error"]["code"] == -32002
        assert "result" in _send(url, payer, [set_authority(authority)], [payer, authority])
        assert _programdata(url, owned.pubkey())["info"]["authority"] == str(new)


def test_the_native_mint_exists(node):
    url = node.rpc_url
    supply = rpc(url, "getTokenSupply", [NATIVE_MINT])["result"]["value"]
    assert (supply["amount"], supply["decimals"]) == ("0", 9)
    assert rpc(url, "getTokenLargestAccounts", [NATIVE_MINT])["result"]["value"] == []
    info = rpc(url, "getAccountInfo", [NATIVE_MINT, {"encoding": "jsonParsed"}])["result"]["value"]
    parsed = info["data"]["parsed"]
    assert info["owner"] == "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
    assert parsed["type"] == "mint" and parsed["info"]["isInitialized"] and parsed["info"]["mintAuthority"] is None


def test_a_staked_validator_with_its_vote_account(node):
    url = node.rpc_url
    votes = rpc(url, "getVoteAccounts", [])["result"]
    assert votes["delinquent"] == [] and len(votes["current"]) == 1
    v = votes["current"][0]
    assert v["nodePubkey"] == rpc(url, "getIdentity", [])["result"]["identity"]
    assert _owner(url, v["votePubkey"]) == "Vote111111111111111111111111111111111111111"
    stakes = rpc(url, "getProgramAccounts", ["Stake11111111111111111111111111111111111111", {"encoding": "base64"}])
    delegated = [base64.b64decode(a["account"]["data"][0]) for a in stakes["result"]]
    assert any(bytes(Pubkey.from_string(v["votePubkey"])) in d for d in delegated)
    assert v["activatedStake"] == 1_000_000 * 10**9  # the bootstrap stake, as test-validator's genesis has
    assert v["lastVote"] == rpc(url, "getSlot", [{"commitment": "confirmed"}])["result"]
    assert rpc(url, "getVoteAccounts", [{"votePubkey": str(Keypair().pubkey())}])["result"]["current"] == []
    nodes = rpc(url, "getClusterNodes", [])["result"]
    assert [n["pubkey"] for n in nodes] == [v["nodePubkey"]]


def test_airdrops_are_a_bare_transfer_even_twice_in_one_slot():
    """test-validator's faucet sends one System transfer, no memo. Two equal requests in one slot would be the
    same transaction: both still land (the second signs over an older blockhash of the window)."""
    with localnet.start_in_process(slot_ms=60_000, finality_depth=0) as h:
        to = str(Keypair().pubkey())
        body = [{"jsonrpc": "2.0", "id": i, "method": "requestAirdrop", "params": [to, 10**9]} for i in range(2)]
        sigs = [r["result"] for r in httpx.post(h.rpc_url, json=body, timeout=30).json()]
        assert len(set(sigs)) == 2
        h.call(lambda bank: bank.close_slot())
        for sig in sigs:
            tx = rpc(h.rpc_url, "getTransaction", [sig, {"encoding": "json"}])["result"]
            ixs = tx["transaction"]["message"]["instructions"]
            keys = tx["transaction"]["message"]["accountKeys"]
            assert len(ixs) == 1 and keys[ixs[0]["programIdIndex"]] == NO_AUTHORITY  # the System program
        assert rpc(h.rpc_url, "getBalance", [to])["result"]["value"] == 2 * 10**9
        assert [s["memo"] for s in rpc(h.rpc_url, "getSignaturesForAddress", [to])["result"]] == [None, None]
