"""getTransaction / getBlock with encoding jsonParsed parse instructions (top-level and inner) as the
validator's RPC does (reference: Agave transaction-status parse_system.rs, parse_token.rs,
parse_associated_token.rs, parse_address_lookup_table.rs, parse_bpf_loader.rs, parse_instruction.rs for memo):
{program, programId, parsed: {type, info}, stackHeight}. Programs without a parser in the RPC (Compute
Budget among them) and data that does not decode come back partially decoded (programId, accounts, data).
Instructions are built by real client code: solders, solana-py's spl.token, contracts.loader_v3."""
from __future__ import annotations

import base64
import json
import struct

import based58
from solders.compute_budget import set_compute_unit_limit
from solders.hash import Hash
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.rpc.responses import GetTransactionResp
from solders.system_program import (CreateAccountParams, CreateAccountWithSeedParams, TransferParams,
                                    create_account, create_account_with_seed, transfer)
from solders.transaction import Transaction
from spl.token import instructions as T
from spl.token import models as M
from spl.token.constants import TOKEN_2022_PROGRAM_ID, TOKEN_PROGRAM_ID

from contracts import loader_v3
from localnet_rpc_helpers import rpc

SYSTEM = "11111111111111111111111111111111"
MEMO = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
ALT = Pubkey.from_string("AddressLookupTab1e1111111111111111111111111")
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"


def _send(url: str, payer: Keypair, ixs, signers=(), *, skip: bool = False) -> str:
    bh = rpc(url, "getLatestBlockhash", [])["result"]["value"]["blockhash"]
    keys = [payer, *[k for k in signers if k.pubkey() != payer.pubkey()]]
    tx = Transaction.new_signed_with_payer(ixs, payer.pubkey(), keys, Hash.from_string(bh))
    res = rpc(url, "sendTransaction", [base64.b64encode(bytes(tx)).decode(),
                                       {"encoding": "base64", "skipPreflight": skip}])
    assert "result" in res, res
    return res["result"]


def _parsed(url: str, sig: str) -> dict:
    body = rpc(url, "getTransaction", [sig, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}])
    GetTransactionResp.from_json(json.dumps(body))  # solders' strict client types accept it
    return body["result"]


def _ixs(url: str, sig: str) -> list[dict]:
    return _parsed(url, sig)["transaction"]["message"]["instructions"]


def _p(program: str, program_id, kind: str, info: dict) -> dict:
    return {"program": program, "programId": str(program_id), "parsed": {"type": kind, "info": info},
            "stackHeight": None}


def _funded(url: str) -> Keypair:
    kp = Keypair()
    rpc(url, "requestAirdrop", [str(kp.pubkey()), 10 * 10**9])
    return kp


def test_system_memo_and_compute_budget(node):
    url = node.rpc_url
    payer, new, to = _funded(url), Keypair(), Keypair().pubkey()
    seeded = Pubkey.create_with_seed(payer.pubkey(), "seed-1", Pubkey.from_string(SYSTEM))
    sig = _send(url, payer, [
        set_compute_unit_limit(300_000),
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=new.pubkey(), lamports=10**7,
                                           space=16, owner=MEMO)),
        create_account_with_seed(CreateAccountWithSeedParams(
            from_pubkey=payer.pubkey(), to_pubkey=seeded, base=payer.pubkey(), seed="seed-1", lamports=10**7,
            space=0, owner=Pubkey.from_string(SYSTEM))),
        transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=10**7 + 4242)),
        Instruction(MEMO, "héllo memo".encode(), [AccountMeta(payer.pubkey(), True, False)]),
    ], [new])
    budget, create, with_seed, pay, memo = _ixs(url, sig)
    # The RPC has no Compute Budget parser: partially decoded, as test-validator answers.
    assert budget == {"programId": "ComputeBudget111111111111111111111111111111", "accounts": [],
                      "data": based58.b58encode(bytes([2]) + (300_000).to_bytes(4, "little")).decode(),
                      "stackHeight": None}
    assert create == _p("system", SYSTEM, "createAccount", {
        "source": str(payer.pubkey()), "newAccount": str(new.pubkey()), "lamports": 10**7, "space": 16,
        "owner": str(MEMO)})
    assert with_seed == _p("system", SYSTEM, "createAccountWithSeed", {
        "source": str(payer.pubkey()), "newAccount": str(seeded), "base": str(payer.pubkey()), "seed": "seed-1",
        "lamports": 10**7, "space": 0, "owner": SYSTEM})
    assert pay == _p("system", SYSTEM, "transfer", {"source": str(payer.pubkey()), "destination": str(to),
                                                    "lamports": 10**7 + 4242})
    assert memo == {"program": "spl-memo", "programId": str(MEMO), "parsed": "héllo memo", "stackHeight": None}


def test_undecodable_data_falls_back_to_the_partial_form(node):
    url = node.rpc_url
    payer = _funded(url)
    bad = Instruction(Pubkey.from_string(SYSTEM), b"\xff\x00", [AccountMeta(payer.pubkey(), True, True)])
    sig = _send(url, payer, [bad], skip=True)  # lands with its error (skipPreflight), as on a validator
    (ix,) = _ixs(url, sig)
    assert ix == {"programId": SYSTEM, "accounts": [str(payer.pubkey())], "data": based58.b58encode(b"\xff\x00").decode(),
                  "stackHeight": None}


def _token_flow(url: str, program: Pubkey):
    payer, mint, owner, other = _funded(url), Keypair(), Keypair(), Keypair()
    rent = rpc(url, "getMinimumBalanceForRentExemption", [82])["result"]
    sig_mint = _send(url, payer, [
        create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                           space=82, owner=program)),
        T.initialize_mint2(M.InitializeMint2Params(decimals=6, program_id=program, mint=mint.pubkey(),
                                                   mint_authority=payer.pubkey(), freeze_authority=owner.pubkey())),
    ], [mint])
    src = T.get_associated_token_address(owner.pubkey(), mint.pubkey(), program)
    dst = T.get_associated_token_address(other.pubkey(), mint.pubkey(), program)
    sig_ata = _send(url, payer, [T.create_associated_token_account(payer.pubkey(), owner.pubkey(), mint.pubkey(), program),
                                 T.create_idempotent_associated_token_account(payer.pubkey(), other.pubkey(),
                                                                              mint.pubkey(), program)])
    sig_ops = _send(url, payer, [
        T.mint_to_checked(M.MintToCheckedParams(program_id=program, mint=mint.pubkey(), dest=src,
                                                mint_authority=payer.pubkey(), amount=5_000_000, decimals=6)),
        T.transfer_checked(M.TransferCheckedParams(program_id=program, source=src, mint=mint.pubkey(), dest=dst,
                                                   owner=owner.pubkey(), amount=1_250_000, decimals=6)),
        T.approve(M.ApproveParams(program_id=program, source=src, delegate=other.pubkey(), owner=owner.pubkey(),
                                  amount=7)),
        T.revoke(M.RevokeParams(program_id=program, account=src, owner=owner.pubkey())),
        T.burn(M.BurnParams(program_id=program, account=src, mint=mint.pubkey(), owner=owner.pubkey(), amount=3)),
        T.set_authority(M.SetAuthorityParams(program_id=program, account=mint.pubkey(),
                                             authority=M.AuthorityType.FREEZE_ACCOUNT,
                                             current_authority=owner.pubkey(), new_authority=None)),
    ], [owner])
    return payer, mint, owner, other, src, dst, sig_mint, sig_ata, sig_ops


def _check_token(url: str, program: Pubkey):
    payer, mint, owner, other, src, dst, sig_mint, sig_ata, sig_ops = _token_flow(url, program)
    p, m = str(program), str(mint.pubkey())
    assert _ixs(url, sig_mint)[1] == _p("spl-token", p, "initializeMint2", {
        "mint": m, "decimals": 6, "mintAuthority": str(payer.pubkey()), "freezeAuthority": str(owner.pubkey())})
    create, idem = _ixs(url, sig_ata)
    assert create == _p("spl-associated-token-account", ATA, "create", {
        "source": str(payer.pubkey()), "account": str(src), "wallet": str(owner.pubkey()), "mint": m,
        "systemProgram": SYSTEM, "tokenProgram": p})
    assert idem["parsed"]["type"] == "createIdempotent" and idem["parsed"]["info"]["account"] == str(dst)
    # The ATA program's inner instructions are parsed too, with their stack height.
    inner = [ix for group in _parsed(url, sig_ata)["meta"]["innerInstructions"] if group["index"] == 0
             for ix in group["instructions"]]
    init3 = [ix for ix in inner if ix.get("parsed", {}).get("type") == "initializeAccount3"]
    assert init3 and init3[0]["parsed"]["info"] == {"account": str(src), "mint": m, "owner": str(owner.pubkey())}
    assert init3[0]["stackHeight"] == 2 and init3[0]["program"] == "spl-token"
    assert any(ix.get("parsed", {}).get("type") == "getAccountDataSize" for ix in inner)
    mint_to, xfer, approve, revoke, burn, set_auth = _ixs(url, sig_ops)

    def amount(raw, ui):
        return {"amount": raw, "decimals": 6, "uiAmount": float(ui), "uiAmountString": ui}
    assert mint_to == _p("spl-token", p, "mintToChecked", {
        "mint": m, "account": str(src), "mintAuthority": str(payer.pubkey()), "tokenAmount": amount("5000000", "5")})
    assert xfer == _p("spl-token", p, "transferChecked", {
        "source": str(src), "mint": m, "destination": str(dst), "authority": str(owner.pubkey()),
        "tokenAmount": amount("1250000", "1.25")})
    assert approve == _p("spl-token", p, "approve", {"source": str(src), "delegate": str(other.pubkey()),
                                                     "owner": str(owner.pubkey()), "amount": "7"})
    assert revoke == _p("spl-token", p, "revoke", {"source": str(src), "owner": str(owner.pubkey())})
    assert burn == _p("spl-token", p, "burn", {"account": str(src), "mint": m, "authority": str(owner.pubkey()),
                                               "amount": "3"})
    assert set_auth == _p("spl-token", p, "setAuthority", {"mint": m, "authorityType": "freezeAccount",
                                                           "newAuthority": None, "authority": str(owner.pubkey())})


def test_spl_token_and_associated_token_account(node):
    _check_token(node.rpc_url, TOKEN_PROGRAM_ID)


def test_token_2022_base_instructions(node):
    _check_token(node.rpc_url, TOKEN_2022_PROGRAM_ID)


def test_a_multisig_authority_lists_its_signers(node):
    url = node.rpc_url
    payer, a, b = _funded(url), Keypair(), Keypair()
    multisig, src, dst = Keypair().pubkey(), Keypair().pubkey(), Keypair().pubkey()
    ix = T.transfer(M.TransferParams(program_id=TOKEN_PROGRAM_ID, source=src, dest=dst, owner=multisig, amount=9,
                                     signers=[a.pubkey(), b.pubkey()]))
    sig = _send(url, payer, [ix], [a, b], skip=True)  # the accounts do not exist: it fails, and lands
    assert _ixs(url, sig)[0]["parsed"] == {"type": "transfer", "info": {
        "source": str(src), "destination": str(dst), "amount": "9", "multisigAuthority": str(multisig),
        "signers": [str(a.pubkey()), str(b.pubkey())]}}


def test_address_lookup_table_instructions(node):
    url = node.rpc_url
    payer = _funded(url)
    recent = rpc(url, "getSlot", [])["result"]
    table, bump = Pubkey.find_program_address([bytes(payer.pubkey()), struct.pack("<Q", recent)], ALT)
    metas = [AccountMeta(table, False, True), AccountMeta(payer.pubkey(), True, False),
             AccountMeta(payer.pubkey(), True, True), AccountMeta(Pubkey.from_string(SYSTEM), False, False)]
    new = [Keypair().pubkey() for _ in range(2)]
    sig = _send(url, payer, [Instruction(ALT, struct.pack("<IQB", 0, recent, bump), metas),
                             Instruction(ALT, struct.pack("<IQ", 2, 2) + b"".join(bytes(k) for k in new), metas)])
    create, extend = _ixs(url, sig)
    base = {"lookupTableAccount": str(table), "lookupTableAuthority": str(payer.pubkey()),
            "payerAccount": str(payer.pubkey()), "systemProgram": SYSTEM}
    assert create == _p("address-lookup-table", ALT, "createLookupTable", {**base, "recentSlot": recent, "bumpSeed": bump})
    assert extend == _p("address-lookup-table", ALT, "extendLookupTable", {**base, "newAddresses": [str(k) for k in new]})


def test_upgradeable_loader_instructions(node):
    url = node.rpc_url
    payer, buffer = _funded(url), Keypair()
    lamports = rpc(url, "getMinimumBalanceForRentExemption", [loader_v3.buffer_account_len(4)])["result"]
    sig = _send(url, payer, [*loader_v3.create_buffer(payer.pubkey(), buffer.pubkey(), payer.pubkey(), 4, lamports),
                             loader_v3.write(buffer.pubkey(), payer.pubkey(), 0, b"\x7fELF")], [buffer])
    ixs = _ixs(url, sig)
    init, write = ixs[-2], ixs[-1]
    loader = "BPFLoaderUpgradeab1e11111111111111111111111"
    assert init == _p("bpf-upgradeable-loader", loader, "initializeBuffer",
                      {"account": str(buffer.pubkey()), "authority": str(payer.pubkey())})
    assert write == _p("bpf-upgradeable-loader", loader, "write", {
        "offset": 0, "bytes": base64.b64encode(b"\x7fELF").decode(), "account": str(buffer.pubkey()),
        "authority": str(payer.pubkey())})


def test_get_block_json_parsed_parses_instructions_too(node):
    url = node.rpc_url
    payer, to = _funded(url), Keypair().pubkey()
    sig = _send(url, payer, [transfer(TransferParams(from_pubkey=payer.pubkey(), to_pubkey=to, lamports=10**6 + 77))])
    slot = rpc(url, "getSignatureStatuses", [[sig]])["result"]["value"][0]["slot"]
    block = rpc(url, "getBlock", [slot, {"encoding": "jsonParsed", "maxSupportedTransactionVersion": 0}])["result"]
    (ix,) = block["transactions"][0]["transaction"]["message"]["instructions"]
    assert ix["parsed"] == {"type": "transfer", "info": {"source": str(payer.pubkey()), "destination": str(to),
                                                         "lamports": 10**6 + 77}}
