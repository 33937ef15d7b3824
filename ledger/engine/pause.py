"""Paused, not closed: a customer whose escrow cannot cover what signed receipts say it owes is paused (the
meter stops billing new work) and resumes as soon as a deposit or top-up covers it again."""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Iterable, Mapping

from sqlalchemy.orm import Session, sessionmaker

from ledger.accounting import Kind
from ledger.accounting.store import balances_in
from metering.settlement import SettlementPort, SqlSettlement

_SQL = SqlSettlement()


@dataclass(frozen=True)
class Coverage:
    customer: str
    escrow: int     # tokens in the escrow vault (ledger view, reconciled against the chain)
    owed: int       # accrued by signed receipts and not yet settled, all channels
    pending_withdrawal: int = 0  # requested on-chain and not expired (`pending_withdrawal`)

    @property
    def leaving(self) -> int:
        """What the pending withdrawal can take (withdraw pays min(requested, escrow balance))."""
        return min(self.pending_withdrawal, max(0, self.escrow))

    @property
    def available(self) -> int:
        return self.escrow - self.leaving - self.owed

    @property
    def covered(self) -> bool:
        return self.escrow - self.leaving >= self.owed


def pending_withdrawal(amount: int, requested_at: int, withdrawal_delay: int, now_s: int) -> int:
    """The part of the escrow a customer's withdrawal request can still take (PURE). The request is usable
    from requested_at + delay until requested_at + 2 x delay (the delay in force now, as withdraw reads it);
    before that it is pending too (it only waits), after it withdraw refuses it (WithdrawalRequestExpired)."""
    if amount <= 0 or requested_at <= 0:
        return 0
    return 0 if now_s > requested_at + 2 * withdrawal_delay else amount


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


def with_withdrawals(covs: dict[str, Coverage], pending: Mapping[str, int]) -> dict[str, Coverage]:
    return {c: replace(cov, pending_withdrawal=pending.get(c, 0)) for c, cov in covs.items()}


def apply_pauses(session_factory: sessionmaker, now_ms: int, escrow: "LedgerEscrowBalance | None" = None,
                 withdrawals: Callable[[Iterable[str]], Mapping[str, int]] | None = None, *,
                 meter: SettlementPort = _SQL) -> dict[str, bool]:
    """Set or clear the meter's paused flag (through metering's settlement port) for every customer whose
    coverage changed, each in a transaction of its own on the engine (outside the job lease's fencing, as
    when the meter's registry set it); returns the changes.
    `withdrawals(customers)`: their pending withdrawals on-chain (what is payable excludes them)."""
    changes = {}
    engine = session_factory.kw["bind"]
    covs = coverage(session_factory)
    if withdrawals is not None:
        covs = with_withdrawals(covs, withdrawals(list(covs)))
    if escrow is not None:
        escrow._snapshot = covs
    with session_factory() as s:
        flags = meter.paused_flags(s)
    for c, cov in covs.items():
        new = decide(cov, bool(flags.get(c, False)))
        if new is None:
            continue
        leaving = f" ({cov.leaving} of it requested for withdrawal)" if cov.leaving else ""
        reason = f"escrow {cov.escrow}{leaving} cannot cover {cov.owed} owed" if new else ""
        with Session(engine) as s, s.begin():  # not session_factory's: its commits are fenced (lease.py)
            meter.set_paused(s, c, new, now_ms, reason)
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
