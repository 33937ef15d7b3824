"""A posting: one balanced journal transaction, validated in the domain before anything is written.

Amounts are integers in token base units. The store keeps them in signed 64-bit columns, so one entry is
at most 2^63-1 (9.2e12 tokens at 6 decimals); anything larger is refused here rather than wrapped there.
"""
from __future__ import annotations

import enum
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from .chart import Account
from .errors import InvalidPosting

MAX_AMOUNT = (1 << 63) - 1
MAX_KEY_LEN = 200


class Side(str, enum.Enum):
    DEBIT = "D"
    CREDIT = "C"


class PostingKind(str, enum.Enum):
    DEPOSIT = "deposit"
    TOP_UP = "top_up"
    RECEIPT_ACCRUED = "receipt_accrued"
    SETTLEMENT = "settlement"
    REWARD_FUNDED = "reward_funded"
    REWARD_CLAIMED = "reward_claimed"
    SLASH = "slash"
    WITHDRAWAL = "withdrawal"
    STAKE = "stake"
    UNSTAKE = "unstake"


def check_amount(name: str, value: object, *, allow_zero: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise InvalidPosting(f"{name} must be an integer number of base units, got {type(value).__name__}")
    low = 0 if allow_zero else 1
    if not low <= value <= MAX_AMOUNT:
        raise InvalidPosting(f"{name} must be in {low}..2^63-1 base units, got {value}")
    return value


@dataclass(frozen=True)
class Entry:
    account: Account
    side: Side
    amount: int

    def __post_init__(self) -> None:
        if not isinstance(self.account, Account):
            raise InvalidPosting(f"entry account must be an Account, got {self.account!r}")
        object.__setattr__(self, "side", Side(self.side))
        check_amount(f"amount of {self.account}", self.amount)

    @property
    def signed(self) -> int:
        return self.amount if self.side is Side.DEBIT else -self.amount


def debit(account: Account, amount: int) -> Entry:
    return Entry(account, Side.DEBIT, amount)


def credit(account: Account, amount: int) -> Entry:
    return Entry(account, Side.CREDIT, amount)


@dataclass(frozen=True)
class Posting:
    """external_key makes posting idempotent: the chain transaction signature plus the event index, or a
    receipt id. meta is informational (signature, slot, epoch, ...) and is not part of the identity."""

    external_key: str
    kind: PostingKind
    entries: tuple[Entry, ...]
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        if not isinstance(self.external_key, str) or not 0 < len(self.external_key) <= MAX_KEY_LEN:
            raise InvalidPosting(f"external_key must be a non-empty string of at most {MAX_KEY_LEN} characters")
        object.__setattr__(self, "kind", PostingKind(self.kind))
        object.__setattr__(self, "entries", tuple(self.entries))
        if len(self.entries) < 2:
            raise InvalidPosting(f"posting {self.external_key}: a transaction needs at least two entries")
        for e in self.entries:
            if not isinstance(e, Entry):
                raise InvalidPosting(f"posting {self.external_key}: entries must be Entry objects")
        debits = sum(e.amount for e in self.entries if e.side is Side.DEBIT)
        credits = sum(e.amount for e in self.entries if e.side is Side.CREDIT)
        if debits != credits:
            raise InvalidPosting(f"posting {self.external_key} ({self.kind.value}) is unbalanced: "
                                 f"debits {debits} != credits {credits}")
        # Each book must balance on its own too: a posting may not move value between custody and
        # obligations, which is what keeps conservation checkable per book.
        per_book: dict[Any, int] = {}
        for e in self.entries:
            per_book[e.account.book] = per_book.get(e.account.book, 0) + e.signed
        for book, net in per_book.items():
            if net:
                raise InvalidPosting(f"posting {self.external_key} ({self.kind.value}) is unbalanced within "
                                     f"the {book.value} book by {net}")
        try:
            json.dumps(self.meta, sort_keys=True)
        except (TypeError, ValueError):
            raise InvalidPosting(f"posting {self.external_key}: meta must be JSON-serialisable") from None

    @property
    def total(self) -> int:
        return sum(e.amount for e in self.entries if e.side is Side.DEBIT)

    @property
    def content_hash(self) -> bytes:
        """What a replay is compared with: kind and the entries in canonical order."""
        canon = [self.kind.value] + sorted([e.account.code, e.side.value, e.amount] for e in self.entries)
        return hashlib.sha256(json.dumps(canon, separators=(",", ":")).encode()).digest()
