"""Deploy a program through the upgradeable loader (BPF Loader v3) the way `solana program deploy`
does: create a buffer, write the ELF in chunks, DeployWithMaxDataLen. Pure instruction builders plus a
LiteSVM driver used by the tests; the same builders work against any cluster."""
from __future__ import annotations

import struct
from typing import Callable, Sequence

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.sysvar import CLOCK, RENT

LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
SYSTEM_PROGRAM_ID = Pubkey.from_string("11111111111111111111111111111111")
BUFFER_METADATA_LEN = 37  # enum tag u32 + Option<Pubkey> authority
PROGRAM_ACCOUNT_LEN = 36  # enum tag u32 + programdata address
PROGRAMDATA_METADATA_LEN = 45  # enum tag u32 + slot u64 + Option<Pubkey> authority
CHUNK = 900  # bytes of ELF per Write so that the transaction stays under 1232 bytes


def programdata_address(program_id: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([bytes(program_id)], LOADER_V3)[0]


def initialize_buffer(buffer: Pubkey, authority: Pubkey) -> Instruction:
    return Instruction(LOADER_V3, struct.pack("<I", 0), [AccountMeta(buffer, False, True), AccountMeta(authority, False, False)])


def write(buffer: Pubkey, authority: Pubkey, offset: int, data: bytes) -> Instruction:
    payload = struct.pack("<IIQ", 1, offset, len(data)) + data
    return Instruction(LOADER_V3, payload, [AccountMeta(buffer, False, True), AccountMeta(authority, True, False)])


def deploy_with_max_data_len(payer: Pubkey, program_id: Pubkey, buffer: Pubkey, authority: Pubkey, max_len: int) -> Instruction:
    return Instruction(
        LOADER_V3,
        struct.pack("<IQ", 2, max_len),
        [
            AccountMeta(payer, True, True),
            AccountMeta(programdata_address(program_id), False, True),
            AccountMeta(program_id, False, True),
            AccountMeta(buffer, False, True),
            AccountMeta(RENT, False, False),
            AccountMeta(CLOCK, False, False),
            AccountMeta(SYSTEM_PROGRAM_ID, False, False),
            AccountMeta(authority, True, False),
        ],
    )


def deploy_transactions(
    elf: bytes, payer: Keypair, program: Keypair, rent: Callable[[int], int]
) -> list[tuple[list[Instruction], list[Keypair]]]:
    """The (instructions, signers) of each transaction of a deployment, in order."""
    buffer = Keypair()
    txs: list[tuple[list[Instruction], list[Keypair]]] = []
    blen = BUFFER_METADATA_LEN + len(elf)
    txs.append((
        [create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=buffer.pubkey(),
                                            lamports=rent(blen), space=blen, owner=LOADER_V3)),
         initialize_buffer(buffer.pubkey(), payer.pubkey())],
        [payer, buffer],
    ))
    for off in range(0, len(elf), CHUNK):
        txs.append(([write(buffer.pubkey(), payer.pubkey(), off, elf[off:off + CHUNK])], [payer]))
    txs.append((
        [create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=program.pubkey(),
                                            lamports=rent(PROGRAM_ACCOUNT_LEN), space=PROGRAM_ACCOUNT_LEN,
                                            owner=LOADER_V3)),
         deploy_with_max_data_len(payer.pubkey(), program.pubkey(), buffer.pubkey(), payer.pubkey(), 2 * len(elf))],
        [payer, program],
    ))
    return txs


def deployable_litesvm():
    """A LiteSVM on the mainnet feature set (solders 0.29's default), where an SBPF v0 program still deploys
    through the upgradeable loader (SIMD-0500 and `disable_new_loader_v3_deployments` are inactive there;
    devnet's set refuses it, see localnet/features)."""
    from solders.litesvm import LiteSVM

    return LiteSVM()
