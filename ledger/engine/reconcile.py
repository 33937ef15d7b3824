"""Reconciliation: the ledger against the chain, account by account, to the base unit.

Custody accounts are compared with the token accounts they stand for (escrow vaults, stake vaults, the
treasury, the rewards vault and each epoch's unclaimed pool); settlement totals with the program's own
counters (per channel settled_amount, per customer total_settled, per provider total_revenue). Any
difference is reported by account; nothing is "fixed" silently.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from solders.pubkey import Pubkey
from sqlalchemy import and_, func, select
from sqlalchemy.orm import sessionmaker

from contracts.client import BillingProgram, decode_account_as
from ledger.accounting import Kind, chart
from ledger.accounting.models import LedgerAccount, LedgerEntry, LedgerTransaction
from ledger.accounting.store import balances_in

from .chain import Chain
from .cursors import treasuries
from .models import ReconReport


@dataclass(frozen=True)
class Difference:
    account: str
    ledger: int
    chain: int

    def __str__(self) -> str:
        return f"{self.account}: ledger {self.ledger} != chain {self.chain} (diff {self.ledger - self.chain:+d})"


@dataclass
class ReconResult:
    checked: int
    differences: list[Difference]

    @property
    def ok(self) -> bool:
        return not self.differences

    def __iter__(self):
        return iter(self.differences)

    def __len__(self) -> int:
        return len(self.differences)


def _settled_sums(session, kind: Kind) -> dict[tuple[str, str], int]:
    """Per (owner, sub) of receivable/payable accounts: the amount cleared by settlements."""
    side = "C" if kind is Kind.CUSTOMER_RECEIVABLE else "D"
    rows = session.execute(
        select(LedgerAccount.owner, LedgerAccount.sub, func.sum(LedgerEntry.amount))
        .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
        .join(LedgerTransaction, LedgerTransaction.id == LedgerEntry.tx_id)
        .where(and_(LedgerAccount.kind == kind.value, LedgerEntry.side == side,
                    LedgerTransaction.kind == "settlement"))
        .group_by(LedgerAccount.owner, LedgerAccount.sub)).all()
    return {(o, s): int(v) for o, s, v in rows}


def _decode(chain: Chain, name: str, address: Pubkey):
    data = chain.account_data(address)
    return None if data is None else decode_account_as(name, data)


def reconcile(session_factory: sessionmaker, chain: Chain, program: BillingProgram, *, store: bool = False) -> ReconResult:
    cfg = _decode(chain, "Config", program.config_address())
    diffs: list[Difference] = []
    checked = 0

    def check(account: str, ledger_amount: int, chain_amount: int) -> None:
        nonlocal checked
        checked += 1
        if ledger_amount != chain_amount:
            diffs.append(Difference(account, ledger_amount, chain_amount))

    with session_factory() as s:
        escrows = balances_in(s, kind=Kind.CUSTOMER_ESCROW)
        stakes = balances_in(s, kind=Kind.PROVIDER_STAKE)
        pools = balances_in(s, kind=Kind.REWARD_POOL)
        treasury = balances_in(s, kind=Kind.TREASURY_FEES).get(chart.treasury(), 0)
        past_treasuries = treasuries(s)
        channel_settled = _settled_sums(s, Kind.CUSTOMER_RECEIVABLE)

    for acct, bal in sorted(escrows.items()):
        check(acct.code, bal, chain.token_balance(program.escrow_address(Pubkey.from_string(acct.owner))) or 0)
    for acct, bal in sorted(stakes.items()):
        check(acct.code, bal, chain.token_balance(program.stake_address(Pubkey.from_string(acct.owner))) or 0)
    if cfg is not None:
        # Fees paid before a set_treasury stay in the former treasury: every treasury the follower has seen
        # (and the current one, in case the follower has not read its TreasuryChanged yet) counts.
        every = sorted(past_treasuries | {str(cfg.treasury)})
        check(chart.treasury().code, treasury,
              sum(chain.token_balance(Pubkey.from_string(t)) or 0 for t in every))
        check("reward_vault", sum(pools.values()), chain.token_balance(cfg.rewards_vault) or 0)
    for acct, bal in sorted(pools.items()):
        e = _decode(chain, "Epoch", program.epoch_address(int(acct.owner)))
        check(acct.code, bal, 0 if e is None else int(e.reward_pool) - int(e.claimed))
    per_customer: dict[str, int] = {}
    per_provider: dict[str, int] = {}
    for (c, p), amount in sorted(channel_settled.items()):
        ch = _decode(chain, "Channel", program.channel_address(Pubkey.from_string(c), Pubkey.from_string(p)))
        check(f"channel_settled:{c}:{p}", amount, 0 if ch is None else int(ch.settled_amount))
        per_customer[c] = per_customer.get(c, 0) + amount
        per_provider[p] = per_provider.get(p, 0) + amount
    for c, amount in sorted(per_customer.items()):
        acct = _decode(chain, "Customer", program.customer_address(Pubkey.from_string(c)))
        check(f"customer_total_settled:{c}", amount, 0 if acct is None else int(acct.total_settled))
    for p, amount in sorted(per_provider.items()):
        acct = _decode(chain, "Provider", program.provider_address(Pubkey.from_string(p)))
        check(f"provider_total_revenue:{p}", amount, 0 if acct is None else int(acct.total_revenue))

    result = ReconResult(checked, diffs)
    if store:
        now = time.time_ns() // 1_000_000
        with session_factory.begin() as s:
            s.add(ReconReport(run_ms=now, account="*checked", ledger_amount=checked, chain_amount=len(diffs)))
            for d in diffs:
                s.add(ReconReport(run_ms=now, account=d.account, ledger_amount=d.ledger, chain_amount=d.chain))
    return result
