"""Paused, not closed: a customer whose escrow cannot cover what signed receipts say it owes is paused (the
meter stops billing new work) and resumes as soon as a deposit or top-up covers it again."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import sessionmaker

from ledger.accounting import Kind
from ledger.accounting.store import balances_in


@dataclass(frozen=True)
class Coverage:
    customer: str
    escrow: int     # tokens in the escrow vault (ledger view, reconciled against the chain)
    owed: int       # accrued by signed receipts and not yet settled, all channels

    @property
    def available(self) -> int:
        return self.escrow - self.owed

    @property
    def covered(self) -> bool:
        return self.escrow >= self.owed


def decide(cov: Coverage, currently_paused: bool) -> bool | None:
    """The new paused flag, or None when it does not change."""
    should = not cov.covered
    return None if should == currently_paused else should


def coverage(session_factory: sessionmaker) -> dict[str, Coverage]:
    with session_factory() as s:
        escrows = balances_in(s, kind=Kind.CUSTOMER_ESCROW)
        owed = balances_in(s, kind=Kind.CUSTOMER_RECEIVABLE)
    customers = {a.owner for a in escrows} | {a.owner for a in owed}
    per_owed: dict[str, int] = {}
    for a, v in owed.items():
        per_owed[a.owner] = per_owed.get(a.owner, 0) + v
    esc = {a.owner: v for a, v in escrows.items()}
    return {c: Coverage(c, esc.get(c, 0), per_owed.get(c, 0)) for c in sorted(customers)}


def apply_pauses(session_factory: sessionmaker, now_ms: int, escrow: "LedgerEscrowBalance | None" = None) -> dict[str, bool]:
    """Set or clear the meter's paused flag for every customer whose coverage changed; returns the changes."""
    from sqlalchemy import select

    from metering.models import Customer
    from metering.registry import set_paused

    changes = {}
    engine = session_factory.kw["bind"]
    covs = coverage(session_factory)
    if escrow is not None:
        escrow._snapshot = covs
    with session_factory() as s:
        flags = dict(s.execute(select(Customer.pubkey, Customer.paused)).all())
    for c, cov in covs.items():
        new = decide(cov, bool(flags.get(c, False)))
        if new is None:
            continue
        reason = f"escrow {cov.escrow} cannot cover {cov.owed} owed" if new else ""
        set_paused(engine, c, new, now_ms, reason)
        changes[c] = new
    return changes


class LedgerEscrowBalance:
    """metering.escrow.EscrowBalance from the ledger: escrow minus what is owed and not yet settled.

    Served from a snapshot that `refresh()` (called by the apply_pauses job, and once here) rebuilds:
    the meter asks from inside its own database transaction, and on SQLite a second connection there
    would wait for the first one's lock."""

    def __init__(self, session_factory: sessionmaker, *, refresh: bool = True) -> None:
        self._sf = session_factory
        self._snapshot: dict[str, Coverage] = {}
        if refresh:
            self.refresh()

    def refresh(self) -> None:
        self._snapshot = coverage(self._sf)

    def available(self, customer: str) -> int | None:
        cov = self._snapshot.get(customer)
        return None if cov is None else cov.available
