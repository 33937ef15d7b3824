"""Shared helpers for the toolchain tests: fixture paths and running a program in LiteSVM."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from solders.account import Account
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction
from solders.transaction_metadata import FailedTransactionMetadata

FIXTURES = Path(__file__).resolve().parent / "fixtures"
ASM = FIXTURES / "asm"
RUST_FIXTURE = FIXTURES / "rust_relocs"


@dataclass
class Outcome:
    ok: bool
    error: str  # "" on success, else the transaction error text
    logs: list[str]
    return_data: bytes
    compute_units: int


class Svm:
    """One LiteSVM instance with a payer, running one program loaded with add_program."""

    def __init__(self, program: bytes):
        self.svm = LiteSVM()
        self.program_id = Pubkey.new_unique()
        self.svm.add_program(self.program_id, program)
        self.payer = Keypair()
        self.svm.airdrop(self.payer.pubkey(), 10_000_000_000)

    def account(self, size: int) -> Pubkey:
        key = Pubkey.new_unique()
        lamports = self.svm.minimum_balance_for_rent_exemption(size)
        self.svm.set_account(key, Account(lamports, bytes(size), self.program_id, False, 0))
        return key

    def run(self, data: bytes, writable: list[Pubkey] = (), readonly: list[Pubkey] = ()) -> Outcome:
        metas = [AccountMeta(k, False, True) for k in writable] + [AccountMeta(k, False, False) for k in readonly]
        ix = Instruction(self.program_id, data, metas)
        self.svm.expire_blockhash()
        tx = Transaction([self.payer], Message([ix], self.payer.pubkey()), self.svm.latest_blockhash())
        result = self.svm.send_transaction(tx)
        if isinstance(result, FailedTransactionMetadata):
            meta = result.meta()
            return Outcome(False, str(result.err()), list(meta.logs()), bytes(meta.return_data().data),
                           meta.compute_units_consumed())
        return Outcome(True, "", list(result.logs()), bytes(result.return_data().data),
                       result.compute_units_consumed())
