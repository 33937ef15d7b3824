"""solana-py 0.41 as a real client of the localnet, for the client-compatibility tests and the RPC benchmark.

solana-py 0.40 removed its synchronous Client and spl.token's Token client. `SyncAsyncClient` drives solana-py's
own AsyncClient (its request building, HTTP provider and response parsing) on a private event loop, so tests
still exercise solana-py itself, not the project's chain layer. `SplToken` is the handful of token flows the
tests need, built from spl.token.instructions (what 0.41 still ships) and sent through solana-py."""
from __future__ import annotations

import asyncio
import inspect
from typing import Any, Optional, Sequence

from solana.rpc.async_api import AsyncClient
from solana.rpc.commitment import Commitment, Confirmed
from solana.rpc.models import TokenAccountOpts, TxOpts
from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import MessageV0
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction, VersionedTransaction
from spl.token.constants import ACCOUNT_LEN, MINT_LEN
from spl.token.instructions import (approve, create_associated_token_account, get_associated_token_address,
                                    initialize_account, initialize_mint, mint_to, transfer_checked)
from spl.token.models import (ApproveParams, InitializeAccountParams, InitializeMintParams, MintToParams,
                              TransferCheckedParams)


class SyncAsyncClient:
    """solana-py's AsyncClient with every coroutine method run to completion (one event loop per client).
    `send_transaction` also takes a legacy Transaction, sent as its wire bytes (AsyncClient takes only
    VersionedTransaction since 0.40; the legacy format is still what many clients put on the wire)."""

    def __init__(self, endpoint: str, commitment: Optional[Commitment] = None, timeout: float = 30) -> None:
        self._loop = asyncio.new_event_loop()
        self.commitment = commitment or Confirmed
        self.client = AsyncClient(endpoint, commitment=self.commitment, timeout=timeout)

    def run(self, coro: Any) -> Any:
        return self._loop.run_until_complete(coro)

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.client, name)
        if inspect.iscoroutinefunction(attr):
            return lambda *a, **kw: self.run(attr(*a, **kw))
        return attr

    def send_transaction(self, tx: Transaction | VersionedTransaction, opts: Optional[TxOpts] = None) -> Any:
        if isinstance(tx, Transaction):
            return self.run(self.client.send_raw_transaction(bytes(tx), opts=opts))
        return self.run(self.client.send_transaction(tx, opts=opts))

    def simulate_transaction(self, tx: Transaction | VersionedTransaction, *args: Any, **kw: Any) -> Any:
        if isinstance(tx, Transaction):
            tx = VersionedTransaction.from_legacy(tx)
        return self.run(self.client.simulate_transaction(tx, *args, **kw))

    def close(self) -> None:
        self.run(self.client.close())
        self._loop.close()

    def __enter__(self) -> "SyncAsyncClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def send_ixs(client: SyncAsyncClient, payer: Keypair, ixs: Sequence[Instruction], signers: Sequence[Keypair] = (),
             *, confirm: bool = True, v0: bool = False) -> Signature:
    """A transaction of `ixs` (legacy, as spl.token's old client sent; v0 on request), paid by `payer`, through
    solana-py; waits for confirmation."""
    blockhash = client.get_latest_blockhash().value.blockhash
    keys = [payer, *[k for k in signers if k.pubkey() != payer.pubkey()]]
    if v0:
        tx: Transaction | VersionedTransaction = VersionedTransaction(
            MessageV0.try_compile(payer.pubkey(), list(ixs), [], blockhash), keys)
    else:
        tx = Transaction.new_signed_with_payer(list(ixs), payer.pubkey(), keys, blockhash)
    sig = client.send_transaction(tx).value
    if confirm:
        client.confirm_transaction(sig, sleep_seconds=0.05)
    return sig


class SplToken:
    """One mint and the flows tests use (create, ATA, mint, transfer, approve, balances), through solana-py."""

    def __init__(self, client: SyncAsyncClient, pubkey: Pubkey, program_id: Pubkey, payer: Keypair) -> None:
        self.client = client
        self.pubkey = pubkey
        self.program_id = program_id
        self.payer = payer

    @classmethod
    def create_mint(cls, client: SyncAsyncClient, payer: Keypair, mint_authority: Pubkey, decimals: int,
                    program_id: Pubkey) -> "SplToken":
        mint = Keypair()
        rent = client.get_minimum_balance_for_rent_exemption(MINT_LEN).value
        send_ixs(client, payer, [
            create_account(CreateAccountParams(from_pubkey=payer.pubkey(), to_pubkey=mint.pubkey(), lamports=rent,
                                               space=MINT_LEN, owner=program_id)),
            initialize_mint(InitializeMintParams(decimals=decimals, program_id=program_id, mint=mint.pubkey(),
                                                 mint_authority=mint_authority, freeze_authority=None)),
        ], [mint])
        return cls(client, mint.pubkey(), program_id, payer)

    def create_associated_token_account(self, owner: Pubkey) -> Pubkey:
        send_ixs(self.client, self.payer,
                [create_associated_token_account(self.payer.pubkey(), owner, self.pubkey, self.program_id)])
        return get_associated_token_address(owner, self.pubkey, self.program_id)

    def create_account(self, owner: Pubkey) -> Pubkey:
        acct = Keypair()
        rent = self.client.get_minimum_balance_for_rent_exemption(ACCOUNT_LEN).value
        send_ixs(self.client, self.payer, [
            create_account(CreateAccountParams(from_pubkey=self.payer.pubkey(), to_pubkey=acct.pubkey(),
                                               lamports=rent, space=ACCOUNT_LEN, owner=self.program_id)),
            initialize_account(InitializeAccountParams(program_id=self.program_id, account=acct.pubkey(),
                                                       mint=self.pubkey, owner=owner)),
        ], [acct])
        return acct.pubkey()

    def mint_to(self, dest: Pubkey, mint_authority: Keypair, amount: int) -> Signature:
        return send_ixs(self.client, self.payer, [mint_to(MintToParams(
            program_id=self.program_id, mint=self.pubkey, dest=dest, mint_authority=mint_authority.pubkey(),
            amount=amount))], [mint_authority])

    def transfer_checked(self, source: Pubkey, dest: Pubkey, owner: Keypair, amount: int, decimals: int) -> Signature:
        return send_ixs(self.client, self.payer, [transfer_checked(TransferCheckedParams(
            program_id=self.program_id, source=source, mint=self.pubkey, dest=dest, owner=owner.pubkey(),
            amount=amount, decimals=decimals))], [owner])

    def approve(self, source: Pubkey, delegate: Pubkey, owner: Keypair, amount: int) -> Signature:
        return send_ixs(self.client, self.payer, [approve(ApproveParams(
            program_id=self.program_id, source=source, delegate=delegate, owner=owner.pubkey(), amount=amount))],
            [owner])

    def get_balance(self, account: Pubkey) -> Any:
        return self.client.get_token_account_balance(account)

    def get_accounts_by_owner(self, owner: Pubkey) -> Any:
        return self.client.get_token_accounts_by_owner(owner, TokenAccountOpts(mint=self.pubkey))

    def get_accounts_by_owner_json_parsed(self, owner: Pubkey) -> Any:
        return self.client.get_token_accounts_by_owner_json_parsed(owner, TokenAccountOpts(mint=self.pubkey))
