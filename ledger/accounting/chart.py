"""The chart of accounts.

Two books share one journal. The CUSTODY book has one account per place tokens can be: the customer escrow
vaults, the provider stake vaults, the treasury, the reward vault (one account per epoch's pool), the
burned supply, and the wallets outside the program (customer and operator wallets, provider payout
accounts). Every custody account is debit-normal: its balance is what the ledger believes sits there, and
an external wallet's balance is the net amount it has received from the program (negative when it has paid
in more than it got back). Because every movement is Dr destination / Cr source, the custody book sums to
zero: that is the conservation invariant.

The OBLIGATION book records what signed receipts say is owed and not yet settled: per channel the
customer's receivable (debit-normal) against the provider's payable (credit-normal). Settlement clears both.
"""
from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from .errors import InvalidPosting


class Book(str, enum.Enum):
    CUSTODY = "custody"
    OBLIGATION = "obligation"


class Kind(str, enum.Enum):
    # custody
    CUSTOMER_ESCROW = "customer_escrow"      # owner = customer wallet; the escrow vault PDA
    PROVIDER_STAKE = "provider_stake"        # owner = provider wallet; the stake vault PDA
    TREASURY_FEES = "treasury_fees"          # singleton; the Config's treasury token account
    BURNED = "burned"                        # singleton; tokens removed from supply
    REWARD_POOL = "reward_pool"              # owner = epoch number; its share of the reward vault
    PROVIDER_REVENUE = "provider_revenue"    # owner = provider wallet; settlement shares paid out
    PROVIDER_REWARDS = "provider_rewards"    # owner = provider wallet; epoch rewards paid out
    WALLET = "wallet"                        # owner = any wallet outside the program
    # obligation
    CUSTOMER_RECEIVABLE = "customer_receivable"  # owner = customer, sub = provider
    PROVIDER_PAYABLE = "provider_payable"        # owner = provider, sub = customer


BOOK = {
    Kind.CUSTOMER_ESCROW: Book.CUSTODY,
    Kind.PROVIDER_STAKE: Book.CUSTODY,
    Kind.TREASURY_FEES: Book.CUSTODY,
    Kind.BURNED: Book.CUSTODY,
    Kind.REWARD_POOL: Book.CUSTODY,
    Kind.PROVIDER_REVENUE: Book.CUSTODY,
    Kind.PROVIDER_REWARDS: Book.CUSTODY,
    Kind.WALLET: Book.CUSTODY,
    Kind.CUSTOMER_RECEIVABLE: Book.OBLIGATION,
    Kind.PROVIDER_PAYABLE: Book.OBLIGATION,
}

# +1: the natural balance is debits minus credits; -1: credits minus debits.
NORMAL_SIGN = {k: 1 for k in Kind}
NORMAL_SIGN[Kind.PROVIDER_PAYABLE] = -1

_SINGLETONS = {Kind.TREASURY_FEES, Kind.BURNED}
_NEEDS_SUB = {Kind.CUSTOMER_RECEIVABLE, Kind.PROVIDER_PAYABLE}
_OWNER_RE = re.compile(r"^[1-9A-HJ-NP-Za-km-z]{32,44}$")  # base58 pubkey
_EPOCH_RE = re.compile(r"^(0|[1-9][0-9]{0,19})$")


@dataclass(frozen=True, order=True)
class Account:
    """An account key: kind, owner (a wallet, or an epoch number for reward pools) and sub (the other side
    of a channel for obligation accounts). Accounts are rows created on first use."""

    kind: Kind
    owner: str = ""
    sub: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", Kind(self.kind))
        k = self.kind
        if k in _SINGLETONS:
            if self.owner or self.sub:
                raise InvalidPosting(f"account {k.value} is a singleton: it takes no owner")
            return
        if k is Kind.REWARD_POOL:
            if not _EPOCH_RE.match(self.owner) or self.sub:
                raise InvalidPosting(f"reward_pool owner must be an epoch number, got {self.owner!r}")
            return
        if not _OWNER_RE.match(self.owner):
            raise InvalidPosting(f"account {k.value} owner must be a base58 pubkey, got {self.owner!r}")
        if (k in _NEEDS_SUB) != bool(self.sub):
            raise InvalidPosting(f"account {k.value} {'needs' if k in _NEEDS_SUB else 'takes no'} sub-account")
        if self.sub and not _OWNER_RE.match(self.sub):
            raise InvalidPosting(f"account {k.value} sub must be a base58 pubkey, got {self.sub!r}")

    @property
    def book(self) -> Book:
        return BOOK[self.kind]

    @property
    def code(self) -> str:
        return ":".join(p for p in (self.kind.value, self.owner, self.sub) if p)

    def __str__(self) -> str:
        return self.code

    @classmethod
    def parse(cls, code: str) -> "Account":
        parts = code.split(":")
        if not 1 <= len(parts) <= 3:
            raise InvalidPosting(f"not an account code: {code!r}")
        try:
            kind = Kind(parts[0])
        except ValueError:
            raise InvalidPosting(f"unknown account kind {parts[0]!r}") from None
        return cls(kind, *parts[1:])


# Constructors, so posting rules read like the chart.
def escrow(customer: str) -> Account:
    return Account(Kind.CUSTOMER_ESCROW, str(customer))


def stake(provider: str) -> Account:
    return Account(Kind.PROVIDER_STAKE, str(provider))


def treasury() -> Account:
    return Account(Kind.TREASURY_FEES)


def burned() -> Account:
    return Account(Kind.BURNED)


def reward_pool(epoch: int) -> Account:
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise InvalidPosting(f"epoch must be a non-negative integer, got {epoch!r}")
    return Account(Kind.REWARD_POOL, str(epoch))


def provider_revenue(provider: str) -> Account:
    return Account(Kind.PROVIDER_REVENUE, str(provider))


def provider_rewards(provider: str) -> Account:
    return Account(Kind.PROVIDER_REWARDS, str(provider))


def wallet(owner: str) -> Account:
    return Account(Kind.WALLET, str(owner))


def receivable(customer: str, provider: str) -> Account:
    return Account(Kind.CUSTOMER_RECEIVABLE, str(customer), str(provider))


def payable(provider: str, customer: str) -> Account:
    return Account(Kind.PROVIDER_PAYABLE, str(provider), str(customer))
