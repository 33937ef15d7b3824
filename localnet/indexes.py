"""The account indexes LiteSVM lacks: accounts by owner program (getProgramAccounts), token accounts by owner,
delegate and mint (getTokenAccountsBy*), and the set of live accounts (LiteSVM cannot enumerate its store).

Each account has one entry (owner, token owner, token delegate, token mint) as last indexed; updating it moves
the key between the sets, so an index never lists an account under an owner it no longer has.
"""
from __future__ import annotations

from typing import Optional

from solders.account import Account

from . import txmeta

Entry = tuple  # (owner, token owner or None, token delegate or None, token mint or None)


def entry_of(acct: Optional[Account]) -> Optional[Entry]:
    """The index entry of an account's state; None for a closed (absent or zero-lamport) account."""
    if acct is None or acct.lamports == 0:
        return None
    if acct.owner in txmeta.TOKEN_PROGRAM_KEYS:
        return (str(acct.owner),) + txmeta.token_index_keys(acct.data)
    return (str(acct.owner), None, None, None)


class AccountIndexes:
    def __init__(self) -> None:
        self.owner: dict[str, set[str]] = {}
        self.token_owner: dict[str, set[str]] = {}
        self.token_delegate: dict[str, set[str]] = {}
        self.token_mint: dict[str, set[str]] = {}
        self.entries: dict[str, Entry] = {}  # pubkey -> its entry as indexed

    def __contains__(self, pubkey: str) -> bool:
        return pubkey in self.entries

    def known(self) -> list[str]:
        return list(self.entries)

    def index(self, pubkey: str, acct: Optional[Account]) -> None:
        self.set(pubkey, entry_of(acct))

    def set(self, pubkey: str, new: Optional[Entry]) -> None:
        """new: (owner, token owner, token delegate, token mint) or None for a closed account."""
        old = self.entries.get(pubkey)
        if old == new:
            return
        if old is not None:
            self.owner.get(old[0], set()).discard(pubkey)
            if old[1]:
                self.token_owner.get(old[1], set()).discard(pubkey)
            if old[2]:
                self.token_delegate.get(old[2], set()).discard(pubkey)
            if old[3]:
                self.token_mint.get(old[3], set()).discard(pubkey)
        if new is None:
            self.entries.pop(pubkey, None)
            return
        self.entries[pubkey] = new
        self.owner.setdefault(new[0], set()).add(pubkey)
        if new[1]:
            self.token_owner.setdefault(new[1], set()).add(pubkey)
        if new[2]:
            self.token_delegate.setdefault(new[2], set()).add(pubkey)
        if new[3]:
            self.token_mint.setdefault(new[3], set()).add(pubkey)
