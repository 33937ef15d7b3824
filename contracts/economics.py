"""The program's economic arithmetic, once for all of Python: the settlement split (fee, burn, provider),
the reward pro rata and the epoch clock. Each function is what the Rust program computes
(contracts/program/src/instructions/settle.rs, claim_rewards.rs, state/config.rs), integer for integer;
tests/contracts/test_parity.py checks them against the program's own mul-div. The ledger's posting rules,
the auditor's checks and the meter use these, never a copy."""
from __future__ import annotations

from dataclasses import dataclass

# Basis points: 10_000 is the whole amount (state/config.rs BPS_DENOMINATOR).
BPS_DENOMINATOR = 10_000
# fee_bps + burn_bps may be at most this (FeeTooHigh): 20 % of a settlement.
MAX_FEE_PLUS_BURN_BPS = 2_000


class EconomicsError(ValueError):
    """An argument the program would refuse (a share out of range, a time before genesis)."""


@dataclass(frozen=True)
class Split:
    fee: int
    burn: int
    provider: int


def _integers(least: int, **values: int) -> None:
    """Refuse anything but an int (bool included) of at least `least`, naming the argument."""
    for name, v in values.items():
        if not isinstance(v, int) or isinstance(v, bool) or v < least:
            raise EconomicsError(f"{name} must be a {'non-negative' if least == 0 else 'positive'} integer, "
                                 f"got {v!r}")


def split(amount: int, fee_bps: int, burn_bps: int) -> Split:
    """fee = floor(amount * fee_bps / 10_000), burn likewise, the provider gets the rest: rounding favours
    the provider and never creates tokens, so the three always add up to `amount`."""
    _integers(0, amount=amount, fee_bps=fee_bps, burn_bps=burn_bps)
    if fee_bps + burn_bps > BPS_DENOMINATOR:
        raise EconomicsError(f"fee_bps + burn_bps must be at most {BPS_DENOMINATOR}, got {fee_bps + burn_bps}")
    fee = amount * fee_bps // BPS_DENOMINATOR
    burn = amount * burn_bps // BPS_DENOMINATOR
    return Split(fee=fee, burn=burn, provider=amount - fee - burn)


def reward_share(pool: int, revenue: int, total_revenue: int) -> int:
    """A provider's reward for an epoch: the funded pool pro rata to its settled revenue, rounded down
    (the claims of an epoch never add up to more than its pool)."""
    _integers(0, pool=pool, revenue=revenue, total_revenue=total_revenue)
    return 0 if total_revenue == 0 else pool * revenue // total_revenue


def epoch_at(genesis_ts: int, epoch_length: int, unix_timestamp: int) -> int:
    """Epoch number at `unix_timestamp`, exactly as the program computes it."""
    _integers(1, epoch_length=epoch_length)
    if unix_timestamp < genesis_ts:
        raise EconomicsError("timestamp before genesis")
    return (unix_timestamp - genesis_ts) // epoch_length


def epoch_start(genesis_ts: int, epoch_length: int, epoch: int) -> int:
    """First second of epoch `epoch` (the inverse of epoch_at: epoch_at(g, l, epoch_start(g, l, n)) == n);
    the epoch ends just before epoch_start(..., epoch + 1)."""
    _integers(1, epoch_length=epoch_length)
    _integers(0, epoch=epoch)
    return genesis_ts + epoch * epoch_length


def request_window(requested_at: int, delay: int) -> tuple[int, int, int]:
    """(requested at, usable from, usable until), unix seconds, of a withdrawal or unstake request, as
    withdraw.rs / withdraw_stake.rs honour it: in [requested_at + delay, requested_at + 2 x delay] with the delay
    in force now; before, the delay has not elapsed; after, the request expired."""
    _integers(0, delay=delay)
    return requested_at, requested_at + delay, requested_at + 2 * delay
