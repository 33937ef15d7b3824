"""Transactions the page asks the wallet to sign (contest a slash; revoke a lease).

The meter builds the transaction for the signed-in wallet (fee payer and only signer: the wallet), keeps
its message, and hands the unsigned bytes to the page; the wallet signs (wallet-standard
`solana:signTransaction`) and the page posts the signed bytes back. The meter sends only a transaction
whose message is one it prepared for that same wallet, fully and validly signed: it is never a relay for
arbitrary transactions, and a prepared message is sent at most once.
"""
from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Sequence

from solders.instruction import Instruction
from solders.message import Message
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction

MAX_PENDING_PER_WALLET = 16


class WalletTxError(Exception):
    def __init__(self, field: str, reason: str, status: int = 422):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Prepared:
    what: str
    ixs: tuple[Instruction, ...]


class PreparedTransactions:
    def __init__(self):
        self._by_wallet: dict[str, dict[bytes, Prepared]] = {}
        self._lock = threading.Lock()

    def prepare(self, wallet: str, ixs: Sequence[Instruction], blockhash, what: str) -> bytes:
        """The unsigned wire transaction (signature slots zeroed) for `wallet` to sign."""
        msg = Message.new_with_blockhash(list(ixs), Pubkey.from_string(wallet), blockhash)
        tx = Transaction.new_unsigned(msg)
        with self._lock:
            mine = self._by_wallet.setdefault(wallet, {})
            while len(mine) >= MAX_PENDING_PER_WALLET:
                del mine[next(iter(mine))]
            mine[hashlib.sha256(bytes(msg)).digest()] = Prepared(what, tuple(ixs))
        return bytes(tx)

    def take(self, wallet: str, wire: bytes) -> tuple[Transaction, Prepared]:
        """The signed transaction and what it does, when it is one prepared for `wallet` and signed by it."""
        try:
            tx = Transaction.from_bytes(wire)
        except Exception:
            raise WalletTxError("transaction", "not a serialized Solana transaction") from None
        key = hashlib.sha256(bytes(tx.message)).digest()
        with self._lock:
            prepared = self._by_wallet.get(wallet, {}).get(key)
        if prepared is None:
            raise WalletTxError("transaction", "not a transaction this dashboard prepared for your wallet", 403)
        signers = tx.message.account_keys[: tx.message.header.num_required_signatures]
        if [str(k) for k in signers] != [wallet] or len(tx.signatures) != 1:
            raise WalletTxError("transaction", f"must be signed by {wallet} alone", 403)
        if tx.signatures[0] == Signature.default() or not tx.signatures[0].verify(signers[0], bytes(tx.message)):
            raise WalletTxError("transaction", f"not signed by {wallet}", 403)
        with self._lock:
            if self._by_wallet.get(wallet, {}).pop(key, None) is None:
                raise WalletTxError("transaction", "already sent", 409)
        return tx, prepared
