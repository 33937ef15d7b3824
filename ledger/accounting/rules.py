"""Posting rules: pure functions from a business event to a balanced Posting. No I/O, no clock.

Each rule mirrors one token movement of the billing program (or, for receipt_accrued, one signed
receipt). Zero-valued legs are left out (an entry is always > 0); a rule whose whole amount is zero is an
error, since nothing happened.
"""
from __future__ import annotations

from typing import Any, Iterable

from contracts import economics
from contracts.economics import Split

from . import chart
from .chart import Account, Kind
from .errors import InvalidPosting
from .posting import Entry, Posting, PostingKind, check_amount, credit, debit

Meta = dict[str, Any]  # informational: signature, slot, epoch, ...

def split_settlement(amount: int, fee_bps: int, burn_bps: int) -> Split:
    """The program's split (contracts/economics.py), refused as an InvalidPosting when out of range."""
    check_amount("settlement amount", amount)
    try:
        return economics.split(amount, fee_bps, burn_bps)
    except economics.EconomicsError as e:
        raise InvalidPosting(str(e)) from None


def _p(key: str, kind: PostingKind, entries: Iterable[Entry], meta: Meta | None) -> Posting:
    return Posting(key, kind, tuple(entries), dict(meta or {}))


def deposit(key: str, customer: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """The customer moves tokens from its wallet into its escrow vault."""
    check_amount("deposit amount", amount)
    return _p(key, PostingKind.DEPOSIT,
              [debit(chart.escrow(customer), amount), credit(chart.wallet(customer), amount)], meta)


def top_up(key: str, customer: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """The crank pulls tokens from the customer's wallet (delegate allowance) into the escrow."""
    check_amount("top-up amount", amount)
    return _p(key, PostingKind.TOP_UP,
              [debit(chart.escrow(customer), amount), credit(chart.wallet(customer), amount)], meta)


def withdrawal(key: str, customer: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """Unspent escrow goes back to the customer's wallet."""
    check_amount("withdrawal amount", amount)
    return _p(key, PostingKind.WITHDRAWAL,
              [debit(chart.wallet(customer), amount), credit(chart.escrow(customer), amount)], meta)


def receipt_accrued(key: str, customer: str, provider: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """A signed receipt raised the channel's cumulative amount by `amount`: the customer owes it and the
    provider is owed it, until settlement clears both."""
    check_amount("accrued amount", amount)
    return _p(key, PostingKind.RECEIPT_ACCRUED,
              [debit(chart.receivable(customer, provider), amount),
               credit(chart.payable(provider, customer), amount)], meta)


def settlement(key: str, customer: str, provider: str, amount: int, fee_bps: int, burn_bps: int,
               *, meta: Meta | None = None) -> Posting:
    """`amount` (cumulative minus already settled) leaves the customer's escrow: the fee to the treasury,
    the burn share out of supply, the rest to the provider; the channel's obligation is cleared by the
    same amount."""
    s = split_settlement(amount, fee_bps, burn_bps)
    legs = [credit(chart.escrow(customer), amount)]
    if s.fee:
        legs.append(debit(chart.treasury(), s.fee))
    if s.burn:
        legs.append(debit(chart.burned(), s.burn))
    if s.provider:
        legs.append(debit(chart.provider_revenue(provider), s.provider))
    legs += [credit(chart.receivable(customer, provider), amount), debit(chart.payable(provider, customer), amount)]
    m = {"fee": s.fee, "burn": s.burn, "provider_share": s.provider, "fee_bps": fee_bps, "burn_bps": burn_bps}
    m.update(meta or {})
    return _p(key, PostingKind.SETTLEMENT, legs, m)


def reward_funded(key: str, epoch: int, funder: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """The operator funds an epoch's reward pool from its wallet."""
    check_amount("reward amount", amount)
    return _p(key, PostingKind.REWARD_FUNDED,
              [debit(chart.reward_pool(epoch), amount), credit(chart.wallet(funder), amount)], meta)


def reward_claimed(key: str, epoch: int, provider: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """A provider claims its pro-rata share of a closed epoch's pool."""
    check_amount("claimed amount", amount)
    return _p(key, PostingKind.REWARD_CLAIMED,
              [debit(chart.provider_rewards(provider), amount), credit(chart.reward_pool(epoch), amount)], meta)


def stake(key: str, provider: str, amount: int, *, meta: Meta | None = None) -> Posting:
    check_amount("stake amount", amount)
    return _p(key, PostingKind.STAKE,
              [debit(chart.stake(provider), amount), credit(chart.wallet(provider), amount)], meta)


def unstake(key: str, provider: str, amount: int, *, meta: Meta | None = None) -> Posting:
    """withdraw_stake after the cooldown: the stake goes back to the provider's wallet."""
    check_amount("unstake amount", amount)
    return _p(key, PostingKind.UNSTAKE,
              [debit(chart.wallet(provider), amount), credit(chart.stake(provider), amount)], meta)


_SLASH_DESTINATIONS = {Kind.TREASURY_FEES, Kind.CUSTOMER_ESCROW, Kind.WALLET}


def slash(key: str, provider: str, amount: int, destination: Account | None = None,
          *, meta: Meta | None = None) -> Posting:
    """An executed slash moves stake to the treasury (default) or to the harmed customer."""
    check_amount("slash amount", amount)
    dest = destination or chart.treasury()
    if dest.kind not in _SLASH_DESTINATIONS:
        raise InvalidPosting(f"a slash pays the treasury or a customer, not {dest}")
    return _p(key, PostingKind.SLASH, [debit(dest, amount), credit(chart.stake(provider), amount)], meta)
