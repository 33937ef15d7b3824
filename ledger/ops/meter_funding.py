"""What the meter key's SOL pays for: the rent of each Batch account it posts (post_batch creates it; the
engine's payer pays the fee), returned to it when the batch is closed after its retention. So the key must
hold the rent of every batch posted within one retention period; what it holds beyond counts batches."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from solders.pubkey import Pubkey

from contracts.client import account_size

if TYPE_CHECKING:
    from ledger.engine.chain import RpcChain

BATCH_INTERVAL_S = 600  # `operator serve --batch-interval-s` default: one batch every 10 minutes


@dataclass(frozen=True)
class MeterFunding:
    key: str
    lamports: int
    batch_rent: int        # lamports one posted batch locks until it is closed
    needed: int            # lamports for every batch of one retention period at the batch interval
    batches_in_retention: int

    @property
    def batches_left(self) -> int:
        """How many more batches the key pays for now (before any closed batch returns its rent)."""
        return self.lamports // self.batch_rent

    @property
    def enough(self) -> bool:
        return self.lamports >= self.needed


def meter_funding(chain: "RpcChain", meter: Pubkey, retention_s: int, batch_interval_s: int = BATCH_INTERVAL_S) -> MeterFunding:
    rent = chain.rent_exempt(account_size("Batch"))
    batches = -(-int(retention_s) // max(1, int(batch_interval_s)))
    return MeterFunding(str(meter), chain.lamports(meter), rent, rent * batches, batches)
