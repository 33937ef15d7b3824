"""The pure parts of the deploy path: loader layouts and upload plans (contracts/loader_v3.py), errors in
words (chain/tx_errors.py), compute budgets (ledger/ops/budget.py), cluster identity and Explorer links
(ledger/ops/cluster.py), and the progress output (solmeter/commands/progress.py)."""
from __future__ import annotations

import io
import struct

import pytest
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.transaction_status import (InstructionErrorCustom, InstructionErrorFieldless, TransactionErrorFieldless,
                                        TransactionErrorInstructionError)

import contracts
from chain.tx_errors import SYSTEM_PROGRAM, TOKEN_PROGRAM, UPGRADEABLE_LOADER, describe
from contracts import loader_v3
from contracts.client.errors import error_code
from solmeter.commands.progress import ProgressBar
from ledger.ops.budget import ComputeBudget, estimated_limit
from ledger.ops.cluster import Cluster, check_program_key
from ledger.ops.program_deploy import sol, write_chunk_size
from ledger.ops.tx import OpError, sign

ME = Keypair().pubkey()


# ----- loader layouts and upload plans ----------------------------------------------------------------------

def test_buffer_and_programdata_layouts_parse_as_the_loader_writes_them():
    buf = struct.pack("<I", 1) + b"\x01" + bytes(ME) + b"abc"
    assert loader_v3.Buffer.parse(buf) == loader_v3.Buffer(ME, b"abc")
    orphan = struct.pack("<I", 1) + b"\x00" + bytes(32) + b"x"
    assert loader_v3.Buffer.parse(orphan).authority is None
    pd = struct.pack("<IQ", 3, 77) + b"\x01" + bytes(ME) + b"ELF" + bytes(5)
    parsed = loader_v3.ProgramData.parse(pd)
    assert (parsed.slot, parsed.upgrade_authority, parsed.capacity) == (77, ME, 8)
    assert loader_v3.parse_program(struct.pack("<I", 2) + bytes(ME)) == ME
    for bad, parser in ((pd, loader_v3.Buffer.parse), (buf, loader_v3.ProgramData.parse), (b"\x02", loader_v3.parse_program)):
        with pytest.raises(loader_v3.LoaderLayoutError):
            parser(bad)


def test_a_buffer_resumes_only_towards_the_bytes_it_holds():
    elf = bytes(range(1, 251)) * 4  # 1000 bytes, no zeros
    empty = bytes(len(elf))
    half = elf[:500] + bytes(500)
    holes = elf[:100] + bytes(300) + elf[400:]
    assert loader_v3.resumable(elf, empty) and loader_v3.resumable(elf, half) and loader_v3.resumable(elf, holes)
    assert loader_v3.missing_chunks(elf, empty, 300) == [0, 300, 600, 900]
    assert loader_v3.missing_chunks(elf, half, 300) == [300, 600, 900]  # 300..599 is half written: rewritten
    assert loader_v3.missing_chunks(elf, holes, 100) == [100, 200, 300]
    assert loader_v3.missing_chunks(elf, elf, 300) == []
    # a byte that is neither the ELF's nor zero means another program's bytes; another size never resumes
    other = bytearray(half)
    other[10] ^= 0xFF
    assert not loader_v3.resumable(elf, bytes(other)) and not loader_v3.resumable(elf, elf + b"\0")


def test_the_write_chunk_fills_a_transaction_exactly():
    for budget in (ComputeBudget(), ComputeBudget(unit_price=5), ComputeBudget(unit_limit=10_000)):
        payer = Keypair()
        chunk = write_chunk_size(payer, budget)
        ixs = [*budget.instructions(1), loader_v3.write(Keypair().pubkey(), payer.pubkey(), 2**31, bytes(chunk))]
        assert len(bytes(sign(payer, ixs, (), Hash.default()))) == loader_v3.PACKET_DATA_SIZE
    assert write_chunk_size(payer, ComputeBudget(unit_price=5)) < write_chunk_size(payer, ComputeBudget())


def test_sbpf_version_and_buffer_filters():
    assert loader_v3.sbpf_version(contracts.PROGRAM_SO.read_bytes()) == 3
    with pytest.raises(loader_v3.LoaderLayoutError, match="not an ELF"):
        loader_v3.sbpf_version(b"MZ" + bytes(60))
    memcmp, size = loader_v3.buffer_filters(ME, 1000)
    assert memcmp == [(0, b"\x01\x00\x00\x00"), (4, b"\x01" + bytes(ME))] and size == 1037


# ----- errors in words --------------------------------------------------------------------------------------

def test_errors_are_named_in_words_never_hex():
    logs = ["Program 11111111111111111111111111111111 invoke [1]",
            "Transfer: insufficient lamports 5, need 10",
            "Program 11111111111111111111111111111111 failed: custom program error: 0x1"]
    text = describe(TransactionErrorInstructionError(0, InstructionErrorCustom(1)), logs)
    assert text == ("instruction 0 (system program): ResultWithNegativeLamports: the payer has too few lamports (SOL) "
                    "for this transfer or account [Transfer: insufficient lamports 5, need 10]")
    loader = describe(TransactionErrorInstructionError(1, InstructionErrorFieldless.InvalidAccountData), (),
                      [SYSTEM_PROGRAM, UPGRADEABLE_LOADER])
    assert loader == "instruction 1 (upgradeable loader): InvalidAccountData: an account's data is not what the program expects"
    token = describe(TransactionErrorInstructionError(2, InstructionErrorCustom(1)), (), ["x", "y", TOKEN_PROGRAM])
    assert token == "instruction 2 (SPL Token): InsufficientFunds: the token account holds too few tokens"
    billing = describe(TransactionErrorInstructionError(0, InstructionErrorCustom(error_code("Paused"))), (),
                       [contracts.DEFAULT_PROGRAM_ID])
    assert f"{contracts.DEFAULT_PROGRAM_ID}): Paused ({error_code('Paused')}):" in billing
    assert describe(TransactionErrorFieldless.AccountNotFound).startswith("AccountNotFound: the fee payer has no SOL")
    # a landed transaction's status as text reads the same
    landed = str(TransactionErrorInstructionError(0, InstructionErrorFieldless.IncorrectAuthority))
    assert describe(landed, (), [UPGRADEABLE_LOADER]) == ("instruction 0 (upgradeable loader): IncorrectAuthority: the "
                                                           "signer is not the account's authority")
    assert "0x" not in text + loader + token + billing


# ----- compute budgets --------------------------------------------------------------------------------------

def test_compute_budget_instructions_and_priority_fee():
    assert ComputeBudget().instructions() == [] and not ComputeBudget().active
    b = ComputeBudget(unit_price=1_500)
    assert b.needs_estimate and [ix.data[0] for ix in b.instructions(2_000)] == [2, 3]
    assert struct.unpack("<I", bytes(b.instructions(2_000)[0].data)[1:5])[0] == 2_000
    assert b.priority_fee(2_001) == 4  # 3.0015 lamports, rounded up as the runtime does
    fixed = ComputeBudget(unit_limit=50_000)
    assert not fixed.needs_estimate and [ix.data[0] for ix in fixed.instructions()] == [2]
    assert estimated_limit(2_000) == 3_200 and estimated_limit(10**7) == 1_400_000
    for bad in ({"unit_price": -1}, {"unit_limit": 0}, {"unit_limit": 1_400_001}, {"unit_price": 1.5}):
        with pytest.raises(ValueError):
            ComputeBudget(**bad)


# ----- clusters ---------------------------------------------------------------------------------------------

def test_clusters_by_genesis_hash_and_their_explorer_links():
    devnet = Cluster("https://rpc.example.com/devnet", "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG")
    assert devnet.name == "devnet" and not devnet.local
    assert devnet.explorer("tx", "abc") == "https://explorer.solana.com/tx/abc?cluster=devnet"
    main = Cluster("https://api.mainnet-beta.solana.com", "5eykt4UsFv8P8NJdTREpY1vzqKqZKvdpKuc147dw2N9d")
    assert main.explorer("address", ME) == f"https://explorer.solana.com/address/{ME}"
    local = Cluster("http://127.0.0.1:8899", "2nX1mgMYhSzqf7XzWNmvwMtJZYXhs8mR9TLoLkWXsLdY")
    assert local.local and local.name == "localnet"
    assert local.explorer("tx", "s").endswith("?cluster=custom&customUrl=http%3A%2F%2F127.0.0.1%3A8899")
    lan = Cluster("http://10.0.0.5:8899", local.genesis_hash)
    assert not lan.local and lan.name == "custom"
    assert Cluster("http://localhost:8899", "x").local and Cluster("http://[::1]:8899", "x").local
    # a devnet reached through a forwarded loopback port is still devnet
    assert not Cluster("http://127.0.0.1:8899", devnet.genesis_hash).local


def test_the_dev_program_key_only_on_a_local_cluster():
    dev = Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID)
    local = Cluster("http://127.0.0.1:8899", "x")
    check_program_key(local, dev, contracts.PROGRAM_KEYPAIR)
    for remote in (Cluster("http://10.0.0.5:8899", "x"),
                   Cluster("http://127.0.0.1:8899", "EtWTRABZaYq6iMfeYKouRu166VU2xqa1wcaWoxPkrZBG")):
        with pytest.raises(OpError, match="development key for the localnet only"):
            check_program_key(remote, dev, None)
        with pytest.raises(OpError, match="solmeter keys new program-keypair.json"):
            check_program_key(remote, ME, contracts.PROGRAM_KEYPAIR)  # the file itself, whatever id is asked
        check_program_key(remote, ME, None)


def test_sol_amounts_are_exact():
    assert [sol(v) for v in (0, 1, 5_000, 10**9, 1_113_935_946, -100_000_000)] == [
        "0", "0.000000001", "0.000005", "1", "1.113935946", "-0.1"]


# ----- progress ---------------------------------------------------------------------------------------------

class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_plain_lines_otherwise():
    tty = _Terminal()
    bar = ProgressBar(tty, width=10)
    bar.start(4, 1, "buffer X")
    for _ in range(3):
        bar.advance()
    bar.finish()
    frames = tty.getvalue().split("\r")[1:]
    assert frames[0] == "  buffer X [##--------] 1/4 chunks  25%"
    assert frames[-1] == "  buffer X [##########] 4/4 chunks 100%\n"
    plain = io.StringIO()
    bar = ProgressBar(plain)
    bar.start(200, 0, "buffer Y")
    for _ in range(200):
        bar.advance()
    bar.finish()
    lines = plain.getvalue().splitlines()
    assert "\r" not in plain.getvalue() and len(lines) == 11  # 0 %, then one line per tenth
    assert lines[0] == "  buffer Y: 0/200 chunks written (0%)" and lines[-1] == "  buffer Y: 200/200 chunks written (100%)"
    cut = io.StringIO()
    bar = ProgressBar(cut)
    bar.start(10, 0, "z")
    bar.advance(3)
    bar.advance(1)
    bar.finish()  # an upload that stops says how far it got, once
    assert cut.getvalue().splitlines()[-2:] == ["  z: 3/10 chunks written (30%)", "  z: 4/10 chunks written (40%)"]
