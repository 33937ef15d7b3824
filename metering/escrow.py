"""Where customer balances come from, for runway. The chain side (the Customer escrow vault minus what is
owed but not yet settled) plugs in later through this interface; the meter itself never holds funds."""
from __future__ import annotations

from typing import Mapping, Protocol


class EscrowBalance(Protocol):
    def available(self, customer: str) -> int | None:
        """Token base units the customer can still be charged, or None when unknown."""


class NoEscrowBalance:
    def available(self, customer: str) -> int | None:
        return None


class StaticEscrowBalance:
    """Balances from a mapping (tests, demos, or a snapshot taken by the ledger)."""

    def __init__(self, balances: Mapping[str, int]):
        self.balances = dict(balances)

    def available(self, customer: str) -> int | None:
        return self.balances.get(customer)
