"""Shared helpers for the toolchain tests: fixture paths, running a program in LiteSVM, the cluster
feature sets, deploying through the upgradeable loader, and reading the syscalls an SBPF v3 image calls.

SBPF v3 programs load only in solders >= 0.29 (LiteSVM on Agave 4.x, solana-sbpf 0.21); solders 0.26
(Agave 2.2) refuses them at add_program. Tests that load one take the `v3_runtime` fixture (conftest.py),
which skips where the runtime is too old; under CI that skip is a failure (tests/conftest.py).
"""
from __future__ import annotations

import importlib.metadata
import io
import struct
from dataclasses import dataclass
from pathlib import Path

from elftools.elf.elffile import ELFFile
from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

from contracts.deploy_local import deploy_transactions
from localnet.features import new_svm
from contracts.toolchain.syscalls import KNOWN_SYSCALLS, syscall_hash

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ASM = FIXTURES / "asm"
RUST_FIXTURE = FIXTURES / "rust_relocs"
MEMO_PROGRAM = Pubkey.from_string("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
V3_SOLDERS = (0, 29)


def solders_version() -> tuple[int, int]:
    major, minor = importlib.metadata.version("solders").split(".")[:2]
    return int(major), int(minor)


def v3_runtime_missing() -> str | None:
    """Why this venv cannot load SBPF v3 programs, or None when it can."""
    if solders_version() >= V3_SOLDERS:
        return None
    return (f"SBPF v3 programs need solders >= {'.'.join(map(str, V3_SOLDERS))} (LiteSVM on Agave 4.x); this venv "
            f"has solders {importlib.metadata.version('solders')}, whose Agave 2.2 LiteSVM refuses them")


def cluster_svm(cluster: str | None) -> LiteSVM:
    """LiteSVM() or, for "devnet" / "mainnet" / "all", the localnet's LiteSVM on that cluster's feature set
    (localnet/features: derived from the Explorer's gate list; devnet's has SIMD-0500, which refuses v0-v2
    deployments, and SIMD-0460's input regions; built so the runtime environment follows the set)."""
    return LiteSVM() if cluster is None else new_svm(cluster, 10**18)


@dataclass
class Outcome:
    ok: bool
    error: str  # "" on success, else the transaction error text
    logs: list[str]
    return_data: bytes
    compute_units: int


def send(svm: LiteSVM, payer: Keypair, ixs: list[Instruction], signers: list[Keypair] = ()) -> Outcome:
    svm.expire_blockhash()
    tx = Transaction([payer, *signers], Message(ixs, payer.pubkey()), svm.latest_blockhash())
    result = svm.send_transaction(tx)
    if isinstance(result, FailedTransactionMetadata):
        meta = result.meta()
        return Outcome(False, str(result.err()), list(meta.logs()), bytes(meta.return_data().data),
                       meta.compute_units_consumed())
    return Outcome(True, "", list(result.logs()), bytes(result.return_data().data), result.compute_units_consumed())


class Svm:
    """One LiteSVM instance with a payer, running one program loaded with add_program (or, with
    `program=None`, deployed later by `deploy`). `cluster` picks a feature set (solders >= 0.29)."""

    def __init__(self, program: bytes | None, cluster: str | None = None):
        self.svm = cluster_svm(cluster)
        self.program_id = Pubkey.new_unique()
        if program is not None:
            self.svm.add_program(self.program_id, program)
        self.payer = Keypair()
        self.svm.airdrop(self.payer.pubkey(), 100_000_000_000)

    def deploy(self, elf: bytes) -> Outcome:
        """Deploy `elf` through the upgradeable loader in the transactions `solana program deploy` sends;
        the first failing transaction's outcome, or the last one's. The program id becomes the new one."""
        program = Keypair()
        outcome = None
        for ixs, signers in deploy_transactions(elf, self.payer, program, self.svm.minimum_balance_for_rent_exemption):
            outcome = send(self.svm, self.payer, ixs, [s for s in signers if s != self.payer])
            if not outcome.ok:
                return outcome
        self.program_id = program.pubkey()
        self.svm.warp_to_slot(self.svm.get_clock().slot + 1)  # a program deployed in slot N runs from N + 1
        return outcome

    def account(self, size: int) -> Pubkey:
        key = Pubkey.new_unique()
        lamports = self.svm.minimum_balance_for_rent_exemption(size)
        self.svm.set_account(key, Account(lamports, bytes(size), self.program_id, False, 0))
        return key

    def run(self, data: bytes, writable: list[Pubkey] = (), readonly: list[Pubkey] = ()) -> Outcome:
        metas = [AccountMeta(k, False, True) for k in writable] + [AccountMeta(k, False, False) for k in readonly]
        return send(self.svm, self.payer, [Instruction(self.program_id, data, metas)])


def code_segment(image: bytes) -> bytes:
    """The bytes of the executable PT_LOAD (all of .text)."""
    elf = ELFFile(io.BytesIO(image))
    (code,) = [seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD" and seg["p_flags"] & 1]
    return code.data()


def v3_calls(image: bytes) -> tuple[list[str], list[int]]:
    """(syscall names in first-use order, internal call targets as instruction indexes) of an SBPF v3
    image, read from its `call` instructions; an unknown hash is listed as its hex value."""
    by_hash = {syscall_hash(name): name for name in KNOWN_SYSCALLS}
    code = code_segment(image)
    names, targets, pc = [], [], 0
    while pc * 8 < len(code):
        opcode, regs, _, imm = struct.unpack_from("<BBhi", code, pc * 8)
        if opcode == 0x85:
            if regs >> 4 == 0:
                name = by_hash.get(imm & 0xFFFFFFFF, f"{imm & 0xFFFFFFFF:#010x}")
                if name not in names:
                    names.append(name)
            else:
                targets.append(pc + imm + 1)
        pc += 2 if opcode == 0x18 else 1
    return names, targets
