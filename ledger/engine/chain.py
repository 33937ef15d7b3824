"""The engine's view of the chain: a small interface, its errors, and the adapter over JSON-RPC.

Everything the engine decides is a function of what this interface returns, so the decision logic can be
exercised against any implementation; the one used in production and in the end-to-end tests is RpcChain
(the project's chain.RpcClient against the localnet or any RPC URL). The errors are the chain layer's
(chain/errors.py), re-exported here for the engine's callers.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.sysvar import CLOCK

from chain import ChainError, ChainUnavailable, RpcClient, TxRejected
from chain.client import LEVEL_NAMES, confirmation_level

__all__ = ["Chain", "ChainError", "ChainUnavailable", "RpcChain", "SigStatus", "TxInfo", "TxRejected"]


@dataclass(frozen=True)
class SigStatus:
    slot: int
    err: Optional[str]  # None: the transaction succeeded
    confirmation: str   # processed | confirmed | finalized


@dataclass(frozen=True)
class TxInfo:
    signature: str
    slot: int
    block_time: Optional[int]
    err: Optional[str]
    logs: tuple[str, ...]
    account_keys: tuple[str, ...] = ()  # static keys; [0] is the fee payer


class Chain(Protocol):
    def latest_blockhash(self) -> tuple[Hash, int]: ...            # (blockhash, last valid block height)
    def block_height(self) -> int: ...
    def signature_statuses(self, signatures: Sequence[str]) -> list[Optional[SigStatus]]: ...
    def send_raw(self, tx: bytes) -> str: ...                      # raises TxRejected / ChainUnavailable
    def account_data(self, pubkey: Pubkey) -> Optional[bytes]: ...
    def token_balance(self, token_account: Pubkey) -> Optional[int]: ...
    def program_signatures(self, address: Pubkey, *, until: Optional[str], before: Optional[str],
                           limit: int) -> list[tuple[str, int, bool]]: ...  # newest first: (sig, slot, failed)
    def transaction(self, signature: str) -> Optional[TxInfo]: ...
    def transactions(self, signatures: Sequence[str]) -> list[Optional[TxInfo]]: ...


def _err_text(err) -> Optional[str]:
    return None if err is None else str(err)


class RpcChain:
    """Chain over JSON-RPC (chain.RpcClient). Transport failures and 5xx are ChainUnavailable; a refused
    transaction is TxRejected with the simulation's logs."""

    def __init__(self, url: str, *, commitment: str = "confirmed", timeout: float = 10.0) -> None:
        self.url = url
        self.client = RpcClient(url, commitment=commitment, timeout=timeout)

    def latest_blockhash(self) -> tuple[Hash, int]:
        return self.client.get_latest_blockhash()

    def block_height(self) -> int:
        return self.client.get_block_height()

    def signature_statuses(self, signatures: Sequence[str]) -> list[Optional[SigStatus]]:
        return [None if st is None else SigStatus(st.slot, _err_text(st.err), _confirmation(st))
                for st in self.client.get_signature_statuses(signatures)]

    def send_raw(self, tx: bytes) -> str:
        return str(self.client.send_raw_transaction(tx))

    def account_data(self, pubkey: Pubkey) -> Optional[bytes]:
        v = self.client.get_account_info(pubkey)
        return None if v is None else bytes(v.data)

    def accounts_data(self, pubkeys: Sequence[Pubkey]) -> list[Optional[bytes]]:
        """getMultipleAccounts, 100 keys a call."""
        return [None if v is None else bytes(v.data) for v in self.client.get_multiple_accounts(pubkeys)]

    def program_present(self, program_id: Pubkey) -> bool:
        v = self.client.get_account_info(program_id)
        return v is not None and v.executable

    def rent_exempt(self, size: int) -> int:
        return self.client.get_minimum_balance_for_rent_exemption(size)

    def lamports(self, pubkey: Pubkey) -> int:
        return self.client.get_balance(pubkey)

    def airdrop(self, pubkey: Pubkey, lamports: int) -> str:
        return str(self.client.request_airdrop(pubkey, lamports))

    def unix_time(self) -> int:
        """The cluster's Clock: unix_timestamp of the Clock sysvar (what the program sees)."""
        data = self.account_data(CLOCK)
        return int.from_bytes(data[32:40], "little", signed=True)

    def token_balance(self, token_account: Pubkey) -> Optional[int]:
        v = self.client.get_account_info(token_account)
        if v is None or len(v.data) < 72:
            return None
        return int.from_bytes(bytes(v.data)[64:72], "little")  # SPL token account layout: amount at 64

    def program_signatures(self, address: Pubkey, *, until: Optional[str] = None, before: Optional[str] = None,
                           limit: int = 1000) -> list[tuple[str, int, bool]]:
        page = self.client.get_signatures_for_address(address, before=before, until=until, limit=limit)
        return [(str(r.signature), r.slot, r.err is not None) for r in page]

    def transactions(self, signatures: Sequence[str]) -> list[Optional[TxInfo]]:
        """Several getTransaction calls in one JSON-RPC batch request (one per signature when the
        endpoint refuses batches)."""
        return [_tx_info(s, v) for s, v in zip(signatures, self.client.get_transactions(signatures))]

    def transaction(self, signature: str) -> Optional[TxInfo]:
        return _tx_info(signature, self.client.get_transaction(signature))


def _confirmation(st) -> str:
    return LEVEL_NAMES[confirmation_level(st)]


def _tx_info(signature: str, v) -> Optional[TxInfo]:
    if v is None:
        return None
    meta = v.transaction.meta
    keys: tuple[str, ...] = ()
    msg = getattr(v.transaction.transaction, "message", None)
    if msg is not None and hasattr(msg, "account_keys"):
        keys = tuple(str(k) for k in msg.account_keys)
    return TxInfo(signature, v.slot, v.block_time, _err_text(meta.err if meta else None),
                  tuple(meta.log_messages or []) if meta else (), keys)
