"""SPL Token helpers: the mint (created on localnet), associated token accounts, minting and approvals."""
from __future__ import annotations

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (approve_checked, create_idempotent_associated_token_account,
                                    get_associated_token_address, initialize_account, initialize_mint, mint_to_checked)
from spl.token.models import ApproveCheckedParams, InitializeAccountParams, InitializeMintParams, MintToCheckedParams

from ledger.engine.chain import RpcChain

from .tx import send

MINT_LEN = 82
ACCOUNT_LEN = 165


def ata(owner: Pubkey, mint: Pubkey) -> Pubkey:
    return get_associated_token_address(owner, mint)


def create_ata_ix(payer: Pubkey, owner: Pubkey, mint: Pubkey) -> Instruction:
    return create_idempotent_associated_token_account(payer, owner, mint)


def create_mint(chain: RpcChain, payer: Keypair, mint: Keypair, *, decimals: int, authority: Pubkey) -> str:
    rent = chain.rent_exempt(MINT_LEN)
    ixs = [create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                              space=MINT_LEN, owner=TOKEN_PROGRAM_ID)),
           initialize_mint(InitializeMintParams(decimals=decimals, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                                mint_authority=authority, freeze_authority=None))]
    return send(chain, payer, ixs, [mint], what="create mint")


def mint_to(chain: RpcChain, payer: Keypair, authority: Keypair, mint: Pubkey, owner: Pubkey, amount: int,
            decimals: int) -> str:
    dest = ata(owner, mint)
    ixs = [create_ata_ix(payer.pubkey(), owner, mint),
           mint_to_checked(MintToCheckedParams(program_id=TOKEN_PROGRAM_ID, mint=mint, dest=dest,
                                               mint_authority=authority.pubkey(), amount=amount, decimals=decimals))]
    return send(chain, payer, ixs, [authority], what="mint tokens")


def approve_ix(owner: Pubkey, source: Pubkey, delegate: Pubkey, mint: Pubkey, amount: int, decimals: int) -> Instruction:
    return approve_checked(ApproveCheckedParams(program_id=TOKEN_PROGRAM_ID, source=source, mint=mint,
                                                delegate=delegate, owner=owner, amount=amount, decimals=decimals))


def create_token_account(chain: RpcChain, payer: Keypair, account: Keypair, mint: Pubkey, owner: Pubkey) -> str:
    """A token account at a fresh address (not the owner's associated one): e.g. the treasury, kept apart
    from the admin's own wallet so that the ledger can reconcile it exactly."""
    rent = chain.rent_exempt(ACCOUNT_LEN)
    ixs = [create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=account.pubkey(), lamports=rent,
                                              space=ACCOUNT_LEN, owner=TOKEN_PROGRAM_ID)),
           initialize_account(InitializeAccountParams(program_id=TOKEN_PROGRAM_ID, account=account.pubkey(), mint=mint,
                                                      owner=owner))]
    return send(chain, payer, ixs, [account], what="create token account")
