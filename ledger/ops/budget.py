"""Compute budget and priority fee of the transactions an operation sends (`--compute-unit-price`,
`--compute-unit-limit`).

A priority fee is unit_price (micro-lamports per compute unit) times the transaction's compute-unit LIMIT,
not what it uses, so a price comes with a limit fitted to the transaction: the one given, or what a
simulation of the transaction consumed plus a margin (as `solana program deploy --with-compute-unit-price`
does). With neither, no compute-budget instruction is added and the fee is the base fee alone."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from solders.compute_budget import set_compute_unit_limit, set_compute_unit_price
from solders.instruction import Instruction

MAX_UNIT_LIMIT = 1_400_000  # the most compute units one transaction may ask for
MAX_UNIT_PRICE = 1 << 53  # micro-lamports per unit; far above any real price, and exact in a float-free int
LAMPORTS_PER_SIGNATURE = 5_000


def estimated_limit(units_consumed: int) -> int:
    """A limit for a transaction whose simulation consumed `units_consumed`: 10 % and 1,000 units of margin
    (a write or a deploy costs the same each time; the margin covers account state that differs at landing)."""
    return min(MAX_UNIT_LIMIT, units_consumed + units_consumed // 10 + 1_000)


@dataclass(frozen=True)
class ComputeBudget:
    unit_price: int = 0  # micro-lamports per compute unit
    unit_limit: Optional[int] = None  # None: estimated by simulation when a price is set, else the default

    def __post_init__(self) -> None:
        if isinstance(self.unit_price, bool) or not isinstance(self.unit_price, int) or not (
                0 <= self.unit_price <= MAX_UNIT_PRICE):
            raise ValueError(f"compute-unit price must be an integer of 0..{MAX_UNIT_PRICE} micro-lamports, "
                             f"got {self.unit_price!r}")
        if self.unit_limit is not None and (isinstance(self.unit_limit, bool) or not isinstance(self.unit_limit, int)
                                            or not 1 <= self.unit_limit <= MAX_UNIT_LIMIT):
            raise ValueError(f"compute-unit limit must be an integer of 1..{MAX_UNIT_LIMIT}, got {self.unit_limit!r}")

    @property
    def active(self) -> bool:
        """Whether transactions carry compute-budget instructions at all."""
        return self.unit_price > 0 or self.unit_limit is not None

    @property
    def needs_estimate(self) -> bool:
        return self.unit_price > 0 and self.unit_limit is None

    def instructions(self, limit: Optional[int] = None) -> list[Instruction]:
        """The compute-budget instructions to put first in a transaction (none when inactive)."""
        if not self.active:
            return []
        ixs = [set_compute_unit_limit(self.unit_limit or limit or MAX_UNIT_LIMIT)]
        if self.unit_price:
            ixs.append(set_compute_unit_price(self.unit_price))
        return ixs

    def priority_fee(self, limit: int) -> int:
        """Lamports of priority fee for a transaction of this compute-unit limit (rounded up, as the runtime)."""
        return -(-self.unit_price * limit // 1_000_000)


NO_BUDGET = ComputeBudget()
