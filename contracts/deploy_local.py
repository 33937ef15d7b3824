"""Deploy a program through the upgradeable loader (BPF Loader v3) the way `solana program deploy`
does: create a buffer, write the ELF in chunks, DeployWithMaxDataLen. The transactions as a list, for the
LiteSVM tests; the loader's instructions and layouts are `contracts/loader_v3.py`, and deploying to a
cluster over JSON-RPC (parallel writes, resume, upgrade) is `ledger/ops/program_deploy.py`."""
from __future__ import annotations

from typing import Callable

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.litesvm import LiteSVM

from .loader_v3 import (BUFFER_METADATA_LEN, LOADER_V3, PROGRAM_ACCOUNT_LEN, PROGRAMDATA_METADATA_LEN,  # noqa: F401
                        SYSTEM_PROGRAM_ID, buffer_account_len, create_buffer, create_program_and_deploy,
                        deploy_with_max_data_len, initialize_buffer, programdata_address, write)

CHUNK = 900  # bytes of ELF per Write so that the transaction stays under 1232 bytes


def deploy_transactions(
    elf: bytes, payer: Keypair, program: Keypair, rent: Callable[[int], int]
) -> list[tuple[list[Instruction], list[Keypair]]]:
    """The (instructions, signers) of each transaction of a deployment, in order."""
    buffer = Keypair()
    txs: list[tuple[list[Instruction], list[Keypair]]] = []
    txs.append((create_buffer(payer.pubkey(), buffer.pubkey(), payer.pubkey(), len(elf),
                              rent(buffer_account_len(len(elf)))), [payer, buffer]))
    for off in range(0, len(elf), CHUNK):
        txs.append(([write(buffer.pubkey(), payer.pubkey(), off, elf[off:off + CHUNK])], [payer]))
    txs.append((create_program_and_deploy(payer.pubkey(), program.pubkey(), buffer.pubkey(), payer.pubkey(),
                                          2 * len(elf), rent(PROGRAM_ACCOUNT_LEN)), [payer, program]))
    return txs


def deployable_litesvm():
    """A LiteSVM on the mainnet feature set (solders 0.29's default), where an SBPF v0 program still deploys
    through the upgradeable loader (SIMD-0500 and `disable_new_loader_v3_deployments` are inactive there;
    devnet's set refuses it, see localnet/features)."""
    return LiteSVM()
