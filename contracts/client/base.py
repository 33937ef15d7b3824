"""Bases of the generated instruction classes (contracts/client/gen/instructions.py): the account list with its
flags, and the solders Instruction built from the encoded arguments."""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Mapping

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from .borsh import Discriminated


class InstructionBuildError(ValueError):
    """An instruction was asked for with missing or out-of-range inputs."""


@dataclass(frozen=True, slots=True)
class AccountSpec:
    name: str  # snake_case, as the builders' `accounts` mapping names it
    writable: bool
    signer: bool


class InstructionArgs(Discriminated):
    """One instruction's arguments (the dataclass fields) and its account list, in the order the program reads."""

    NAME: ClassVar[str] = ""
    ACCOUNTS: ClassVar[tuple[AccountSpec, ...]] = ()
    __slots__ = ()

    @classmethod
    def metas(cls, accounts: Mapping[str, Pubkey]) -> list[AccountMeta]:
        metas = []
        for a in cls.ACCOUNTS:
            key = accounts.get(a.name)
            if key is None:
                raise InstructionBuildError(f"{cls.NAME}: account {a.name!r} is missing")
            metas.append(AccountMeta(key, is_signer=a.signer, is_writable=a.writable))
        return metas

    def instruction(self, program_id: Pubkey, accounts: Mapping[str, Pubkey]) -> Instruction:
        """The instruction for `program_id`, accounts by snake_case name with the program's flags."""
        return Instruction(program_id, self.encode(), self.metas(accounts))
