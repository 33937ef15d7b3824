"""Genesis (--bpf-program, --account, the billing program) and upgradeable-loader deployment by transactions."""
from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest
from solana.rpc.core import RPCException
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT
from solders.transaction import Transaction

import contracts
import localnet
from localnet.solana_py import SyncAsyncClient as Client
from localnet.genesis import GenesisError, default_config, load_account_file
from localnet_rpc_helpers import rpc

LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM = Pubkey.from_string("11111111111111111111111111111111")
TOKEN = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
MEMO_V2 = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")


def _elf(program: Pubkey) -> bytes:
    """A real SBF program to load: the SPL builds LiteSVM ships (Token under the upgradeable loader: its ELF is
    in the ProgramData account, after the 45-byte header)."""
    svm = LiteSVM()
    acct = svm.get_account(program)
    if acct.owner == LOADER_V3:
        return bytes(svm.get_account(Pubkey.from_bytes(bytes(acct.data)[4:36])).data)[45:]
    return bytes(acct.data)


def _memo_ix(program: Pubkey, signer: Keypair, text: bytes) -> Instruction:
    return Instruction(program, text, [AccountMeta(signer.pubkey(), True, False)])


def _send(c: Client, payer: Keypair, ixs, signers):
    bh = c.get_latest_blockhash().value.blockhash
    tx = Transaction.new_signed_with_payer(ixs, payer.pubkey(), signers, bh)
    return c.send_transaction(tx).value


def test_bpf_program_and_account_files_at_genesis(tmp_path):
    so = tmp_path / "memo.so"
    so.write_bytes(_elf(MEMO_V2))
    pid = Keypair().pubkey()
    holder = Keypair().pubkey()
    acct_file = tmp_path / "acct.json"
    acct_file.write_text(json.dumps({"pubkey": str(holder), "account": {
        "lamports": 4242, "data": [base64.b64encode(b"hello genesis").decode(), "base64"],
        "owner": str(SYSTEM), "executable": False, "rentEpoch": 0, "space": 13}}))
    genesis = default_config(bpf_programs=((str(pid), str(so)),), account_files=(("-", str(acct_file)),))
    with localnet.start_in_process(genesis=genesis) as h:
        c = Client(h.rpc_url)
        info = c.get_account_info(pid).value
        assert info.executable
        got = c.get_account_info(holder).value
        assert got.lamports == 4242 and bytes(got.data) == b"hello genesis"
        payer = Keypair()
        c.confirm_transaction(c.request_airdrop(payer.pubkey(), 10**9).value)
        sig = _send(c, payer, [_memo_ix(pid, payer, b"from a --bpf-program")], [payer])
        logs = c.get_transaction(sig).value.transaction.meta.log_messages
        assert f"Program {pid} success" in logs and any("from a --bpf-program" in l for l in logs)


def test_billing_program_is_preloaded_when_built():
    with localnet.start_in_process() as h:
        info = Client(h.rpc_url).get_account_info(Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID)).value
        if Path(contracts.PROGRAM_SO).exists():
            assert info is not None and info.executable
        else:
            assert info is None
    with localnet.start_in_process(genesis=default_config(preload_billing=False)) as h:
        assert Client(h.rpc_url).get_account_info(Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID)).value is None


def test_genesis_arguments_are_validated(tmp_path):
    with pytest.raises(GenesisError, match="file not found"):
        default_config(bpf_programs=((str(Keypair().pubkey()), str(tmp_path / "missing.so")),))
    (tmp_path / "x.so").write_bytes(b"\x7fELF")
    with pytest.raises(GenesisError, match="not a base58 public key"):
        default_config(bpf_programs=(("nope", str(tmp_path / "x.so")),))
    bad = tmp_path / "bad.json"
    bad.write_text('{"account": {"lamports": 1}}')
    with pytest.raises(GenesisError, match="--account"):
        load_account_file(str(Keypair().pubkey()), bad)
    bad.write_text("{")
    with pytest.raises(GenesisError, match="not JSON"):
        load_account_file(str(Keypair().pubkey()), bad)


def _write_buffer(c: Client, payer: Keypair, elf: bytes) -> Pubkey:
    buffer = Keypair()
    size = 37 + len(elf)
    lamports = c.get_minimum_balance_for_rent_exemption(size).value
    create = create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=buffer.pubkey(),
                                                lamports=lamports, space=size, owner=LOADER_V3))
    init = Instruction(LOADER_V3, struct.pack("<I", 0),
                       [AccountMeta(buffer.pubkey(), False, True), AccountMeta(payer.pubkey(), False, False)])
    _send(c, payer, [create, init], [payer, buffer])
    chunk = 900
    for off in range(0, len(elf), chunk):
        piece = elf[off : off + chunk]
        data = struct.pack("<IIQ", 1, off, len(piece)) + piece
        ix = Instruction(LOADER_V3, data, [AccountMeta(buffer.pubkey(), False, True),
                                           AccountMeta(payer.pubkey(), True, False)])
        _send(c, payer, [ix], [payer])
    return buffer.pubkey()


def test_upgradeable_loader_deploy_upgrade_and_restart(tmp_path):
    # Under mainnet's feature set an SBPF v0 program still deploys (devnet's refuses it: the test below)
    ledger = tmp_path / "ledger"
    h = localnet.start_in_process(ledger_dir=ledger, features="mainnet")
    try:
        c = Client(h.rpc_url)
        payer = Keypair()
        c.confirm_transaction(c.request_airdrop(payer.pubkey(), 100 * 10**9).value)
        # v1 is the SPL Memo, v2 the SPL Token program: an upgrade whose effect shows in the logs
        v1, v2 = _elf(MEMO_V2), _elf(TOKEN)
        buffer = _write_buffer(c, payer, v1)
        program = Keypair()
        programdata, _ = Pubkey.find_program_address([bytes(program.pubkey())], LOADER_V3)
        max_len = len(v2) + 1024
        create = create_account(CreateAccountParams(
            from_pubkey=payer.pubkey(), to_pubkey=program.pubkey(),
            lamports=c.get_minimum_balance_for_rent_exemption(36).value, space=36, owner=LOADER_V3))
        deploy = Instruction(LOADER_V3, struct.pack("<IQ", 2, max_len), [
            AccountMeta(payer.pubkey(), True, True), AccountMeta(programdata, False, True),
            AccountMeta(program.pubkey(), False, True), AccountMeta(buffer, False, True),
            AccountMeta(RENT, False, False), AccountMeta(CLOCK, False, False),
            AccountMeta(SYSTEM, False, False), AccountMeta(payer.pubkey(), True, False)])
        _send(c, payer, [create, deploy], [payer, program])
        assert c.get_account_info(program.pubkey()).value.executable
        sig = _send(c, payer, [_memo_ix(program.pubkey(), payer, b"deployed v1")], [payer])
        logs = c.get_transaction(sig).value.transaction.meta.log_messages
        assert "Program log: deployed v1" in logs, logs

        buffer2 = _write_buffer(c, payer, v2)
        upgrade = Instruction(LOADER_V3, struct.pack("<I", 3), [
            AccountMeta(programdata, False, True), AccountMeta(program.pubkey(), False, True),
            AccountMeta(buffer2, False, True), AccountMeta(payer.pubkey(), False, True),
            AccountMeta(RENT, False, False), AccountMeta(CLOCK, False, False),
            AccountMeta(payer.pubkey(), True, False)])
        _send(c, payer, [upgrade], [payer])
        # now the Token program answers: a memo is not a token instruction
        body = rpc(h.rpc_url, "simulateTransaction", [base64.b64encode(bytes(Transaction.new_signed_with_payer(
            [_memo_ix(program.pubkey(), payer, b"upgraded")], payer.pubkey(), [payer],
            c.get_latest_blockhash().value.blockhash))).decode(), {"encoding": "base64"}])
        assert "Program log: Error: Invalid instruction" in body["result"]["value"]["logs"], body
        programs = rpc(h.rpc_url, "getProgramAccounts", [str(LOADER_V3), {"encoding": "base64",
                                                                          "dataSlice": {"offset": 0, "length": 0}}])
        assert {str(program.pubkey()), str(programdata)} <= {a["pubkey"] for a in programs["result"]}
        parsed = rpc(h.rpc_url, "getAccountInfo", [str(program.pubkey()), {"encoding": "jsonParsed"}])
        data = parsed["result"]["value"]["data"]
        assert data["program"] == "bpf-upgradeable-loader"
        assert data["parsed"] == {"type": "program", "info": {"programData": str(programdata)}}
        pd = rpc(h.rpc_url, "getAccountInfo", [str(programdata), {"encoding": "jsonParsed"}])["result"]["value"]
        assert pd["data"]["parsed"]["type"] == "programData"
        assert pd["data"]["parsed"]["info"]["authority"] == str(payer.pubkey())
        assert base64.b64decode(pd["data"]["parsed"]["info"]["data"][0])[:len(v2)] == v2
    finally:
        h.stop()
    with localnet.start_in_process(ledger_dir=ledger, features="mainnet") as h:  # it survives a restart
        c = Client(h.rpc_url)
        tx = Transaction.new_signed_with_payer([_memo_ix(program.pubkey(), payer, b"after restart")], payer.pubkey(),
                                               [payer], c.get_latest_blockhash().value.blockhash)
        sim = c.simulate_transaction(tx).value
        assert "Program log: Error: Invalid instruction" in sim.logs, sim.logs


def _deploy_ix(payer: Keypair, program: Pubkey, buffer: Pubkey, max_len: int) -> Instruction:
    programdata, _ = Pubkey.find_program_address([bytes(program)], LOADER_V3)
    return Instruction(LOADER_V3, struct.pack("<IQ", 2, max_len), [
        AccountMeta(payer.pubkey(), True, True), AccountMeta(programdata, False, True),
        AccountMeta(program, False, True), AccountMeta(buffer, False, True),
        AccountMeta(RENT, False, False), AccountMeta(CLOCK, False, False),
        AccountMeta(SYSTEM, False, False), AccountMeta(payer.pubkey(), True, False)])


def test_devnet_features_refuse_an_sbpf_v0_deploy_as_devnet_does():
    # Given the localnet on its default feature set (devnet's: SIMD-0500 active) and an SBPF v0 ELF
    v0 = _elf(MEMO_V2)
    assert int.from_bytes(v0[48:52], "little") == 0  # e_flags 0: SBPF v0
    with localnet.start_in_process() as h:
        assert h.node.bank.features == "devnet"
        c = Client(h.rpc_url)
        payer = Keypair()
        c.confirm_transaction(c.request_airdrop(payer.pubkey(), 100 * 10**9).value)
        buffer = _write_buffer(c, payer, v0)  # buffer writes still work, as on devnet
        program = Keypair()
        create = create_account(CreateAccountParams(
            from_pubkey=payer.pubkey(), to_pubkey=program.pubkey(),
            lamports=c.get_minimum_balance_for_rent_exemption(36).value, space=36, owner=LOADER_V3))
        # When it is deployed through the upgradeable loader
        with pytest.raises(RPCException) as exc:
            _send(c, payer, [create, _deploy_ix(payer, program.pubkey(), buffer, 2 * len(v0))], [payer, program])
        # Then DeployWithMaxDataLen fails with InvalidAccountData, and nothing was deployed
        err = exc.value.args[0].data.err
        assert "InvalidAccountData" in repr(err), err
        assert c.get_account_info(program.pubkey()).value is None
        # while the v0 programs at genesis keep running, as deployed v0 programs do on devnet
        sig = _send(c, payer, [_memo_ix(MEMO_V2, payer, b"still runs")], [payer])
        c.confirm_transaction(sig, sleep_seconds=0.05)
        assert "Program log: still runs" in c.get_transaction(sig).value.transaction.meta.log_messages
