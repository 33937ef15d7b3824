"""The upgradeable loader (BPF Loader v3) as pure data: its account layouts, its instructions, and the
plan of a buffer upload (which byte ranges of an ELF a buffer still lacks). No I/O: `contracts/deploy_local.py`
(LiteSVM tests) and `ledger/ops/program_deploy.py` (any cluster over JSON-RPC) drive it.

Layouts are `UpgradeableLoaderState` in bincode: a u32 tag, then
    Buffer      { authority: Option<Pubkey> }                  37 bytes, then the bytes written so far
    Program     { programdata: Pubkey }                        36 bytes
    ProgramData { slot: u64, upgrade_authority: Option<Pubkey> } 45 bytes, then the ELF (zero-padded)
An Option<Pubkey> is one tag byte and 32 bytes, the bytes kept (zeroed) when the tag is 0, so the data of
a buffer always starts at offset 37 and an ELF in ProgramData at 45."""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Optional

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT

LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
BUFFER_METADATA_LEN = 37  # enum tag u32 + Option<Pubkey> authority
PROGRAM_ACCOUNT_LEN = 36  # enum tag u32 + programdata address
PROGRAMDATA_METADATA_LEN = 45  # enum tag u32 + slot u64 + Option<Pubkey> authority
PACKET_DATA_SIZE = 1232  # the largest transaction a cluster accepts, signatures included

TAG_UNINITIALIZED, TAG_BUFFER, TAG_PROGRAM, TAG_PROGRAMDATA = 0, 1, 2, 3
IX_INITIALIZE_BUFFER, IX_WRITE, IX_DEPLOY, IX_UPGRADE, IX_SET_AUTHORITY, IX_CLOSE = 0, 1, 2, 3, 4, 5


class LoaderLayoutError(ValueError):
    """An account's data is not the upgradeable-loader state it should be."""


# ----- account layouts ---------------------------------------------------------------------------------------

def _option_pubkey(data: bytes, at: int) -> Optional[Pubkey]:
    return Pubkey(data[at + 1:at + 33]) if data[at] == 1 else None


def _tag(data: bytes) -> int:
    if len(data) < 4:
        raise LoaderLayoutError(f"{len(data)} bytes is too short for upgradeable-loader state")
    return int.from_bytes(data[:4], "little")


@dataclass(frozen=True)
class Buffer:
    authority: Optional[Pubkey]
    data: bytes  # everything after the metadata: the bytes written so far, zeros where nothing was

    @classmethod
    def parse(cls, data: bytes) -> "Buffer":
        if _tag(data) != TAG_BUFFER or len(data) < BUFFER_METADATA_LEN:
            raise LoaderLayoutError("not an upgradeable-loader Buffer account")
        return cls(_option_pubkey(data, 4), bytes(data[BUFFER_METADATA_LEN:]))


@dataclass(frozen=True)
class ProgramData:
    slot: int
    upgrade_authority: Optional[Pubkey]  # None: the program is immutable
    elf: bytes  # zero-padded up to the account's size (room for upgrades)

    @classmethod
    def parse(cls, data: bytes) -> "ProgramData":
        if _tag(data) != TAG_PROGRAMDATA or len(data) < PROGRAMDATA_METADATA_LEN:
            raise LoaderLayoutError("not an upgradeable-loader ProgramData account")
        return cls(int.from_bytes(data[4:12], "little"), _option_pubkey(data, 12),
                   bytes(data[PROGRAMDATA_METADATA_LEN:]))

    @property
    def capacity(self) -> int:
        """The largest ELF an Upgrade can put here without extending the account."""
        return len(self.elf)


def parse_program(data: bytes) -> Pubkey:
    """The ProgramData address an upgradeable Program account points to."""
    if _tag(data) != TAG_PROGRAM or len(data) < PROGRAM_ACCOUNT_LEN:
        raise LoaderLayoutError("not an upgradeable-loader Program account")
    return Pubkey(data[4:36])


def programdata_address(program_id: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([bytes(program_id)], LOADER_V3)[0]


def buffer_account_len(elf_len: int) -> int:
    return BUFFER_METADATA_LEN + elf_len


def programdata_account_len(max_data_len: int) -> int:
    return PROGRAMDATA_METADATA_LEN + max_data_len


def buffer_filters(authority: Pubkey, elf_len: Optional[int] = None) -> tuple[list[tuple[int, bytes]], Optional[int]]:
    """getProgramAccounts filters (memcmp list, data size) for the buffers whose authority is `authority`
    (of exactly `elf_len` bytes when given): tag 1 and Some(authority)."""
    memcmp = [(0, TAG_BUFFER.to_bytes(4, "little")), (4, b"\x01" + bytes(authority))]
    return memcmp, (buffer_account_len(elf_len) if elf_len is not None else None)


# ----- instructions ------------------------------------------------------------------------------------------

def initialize_buffer(buffer: Pubkey, authority: Pubkey) -> Instruction:
    return Instruction(LOADER_V3, struct.pack("<I", IX_INITIALIZE_BUFFER),
                       [AccountMeta(buffer, False, True), AccountMeta(authority, False, False)])


def write(buffer: Pubkey, authority: Pubkey, offset: int, data: bytes) -> Instruction:
    payload = struct.pack("<IIQ", IX_WRITE, offset, len(data)) + data
    return Instruction(LOADER_V3, payload, [AccountMeta(buffer, False, True), AccountMeta(authority, True, False)])


def deploy_with_max_data_len(payer: Pubkey, program_id: Pubkey, buffer: Pubkey, authority: Pubkey,
                             max_len: int) -> Instruction:
    return Instruction(LOADER_V3, struct.pack("<IQ", IX_DEPLOY, max_len), [
        AccountMeta(payer, True, True),
        AccountMeta(programdata_address(program_id), False, True),
        AccountMeta(program_id, False, True),
        AccountMeta(buffer, False, True),
        AccountMeta(RENT, False, False),
        AccountMeta(CLOCK, False, False),
        AccountMeta(SYSTEM_PROGRAM_ID, False, False),
        AccountMeta(authority, True, False),
    ])


def create_buffer(payer: Pubkey, buffer: Pubkey, authority: Pubkey, elf_len: int, lamports: int) -> list[Instruction]:
    """Create a buffer account (signed by `buffer`'s keypair) for an ELF of `elf_len` bytes and initialize it
    with `authority`, in one transaction so that a buffer never exists without its authority."""
    size = buffer_account_len(elf_len)
    return [create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=buffer, lamports=lamports, space=size,
                                               owner=LOADER_V3)),
            initialize_buffer(buffer, authority)]


def create_program_and_deploy(payer: Pubkey, program_id: Pubkey, buffer: Pubkey, authority: Pubkey, max_len: int,
                              program_lamports: int) -> list[Instruction]:
    """Create the Program account (signed by the program keypair) and deploy the buffer into it, in one
    transaction as `solana program deploy` does: the program id is never left half-deployed."""
    return [create_account(CreateAccountParams(from_pubkey=payer, to_pubkey=program_id, lamports=program_lamports,
                                               space=PROGRAM_ACCOUNT_LEN, owner=LOADER_V3)),
            deploy_with_max_data_len(payer, program_id, buffer, authority, max_len)]


def upgrade(program_id: Pubkey, buffer: Pubkey, authority: Pubkey, spill: Pubkey) -> Instruction:
    """Replace the program's bytes with the buffer's; the buffer's lamports go to `spill`."""
    return Instruction(LOADER_V3, struct.pack("<I", IX_UPGRADE), [
        AccountMeta(programdata_address(program_id), False, True),
        AccountMeta(program_id, False, True),
        AccountMeta(buffer, False, True),
        AccountMeta(spill, False, True),
        AccountMeta(RENT, False, False),
        AccountMeta(CLOCK, False, False),
        AccountMeta(authority, True, False),
    ])


def close_buffer(buffer: Pubkey, recipient: Pubkey, authority: Pubkey) -> Instruction:
    """Close a buffer; its lamports go to `recipient`."""
    return Instruction(LOADER_V3, struct.pack("<I", IX_CLOSE), [
        AccountMeta(buffer, False, True), AccountMeta(recipient, False, True), AccountMeta(authority, True, False)])


# ----- buffer uploads ----------------------------------------------------------------------------------------

WRITE_PROBE = 256  # payload length a Write transaction is measured with (its length prefix takes 2 bytes)


def max_write_chunk(tx_size_with_probe: int) -> int:
    """The most ELF bytes one Write transaction can carry, from the size of the same transaction (signed,
    with its compute-budget instructions) carrying WRITE_PROBE bytes: every other byte stays the same for
    payloads of 128..16383 bytes."""
    return PACKET_DATA_SIZE - (tx_size_with_probe - WRITE_PROBE)


def sbpf_version(elf: bytes) -> int:
    """The SBPF version an ELF declares (e_flags): 0 (the old format, with relocations), 1, 2 or 3."""
    if len(elf) < 52 or elf[:4] != b"\x7fELF":
        raise LoaderLayoutError("not an ELF file")
    return int.from_bytes(elf[48:52], "little")


def chunk_offsets(length: int, chunk: int) -> range:
    if chunk <= 0:
        raise ValueError(f"chunk size must be positive, got {chunk}")
    return range(0, length, chunk)


def resumable(elf: bytes, written: bytes) -> bool:
    """Can a buffer holding `written` become `elf` by writing more? Same length, and every byte either
    already the ELF's or still zero (never written: a buffer is created zeroed)."""
    if len(written) != len(elf):
        return False
    if written == elf:
        return True
    return all(w == 0 for w, e in zip(written, elf) if w != e)


def missing_chunks(elf: bytes, written: bytes, chunk: int) -> list[int]:
    """Offsets of the chunks of `elf` a resumable buffer does not hold yet (all of them for an empty one)."""
    return [off for off in chunk_offsets(len(elf), chunk) if written[off:off + chunk] != elf[off:off + chunk]]
