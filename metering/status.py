"""Customer status: paused flag, what has been billed, burn rate and runway (time left at that rate); a
provider's channels: the latest receipt of each."""
from __future__ import annotations

import math
from fractions import Fraction

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from contracts.lease import Lease

from .escrow import EscrowBalance
from .leases import book_at, list_leases, price_books, rate_per_ms
from .models import ReceiptRow
from .registry import customer_flags

RR = ReceiptRow.__table__
BURN_WINDOW_S = 3600
HOUR_MS = 3_600_000


def lease_burn(rows, books, now_ms: int) -> Fraction:
    """Base units per hour that the customer's leases in force now can accrue at their full rate (a lease
    signed minutes ago counts fully, where the last hour's receipts show only its minutes)."""
    book = book_at(books, now_ms)
    rate = Fraction(0)
    for row in rows:
        lease = Lease.decode(bytes(row.encoding))
        live = lease.start_ms <= now_ms < lease.expiry_ms and (row.revoked_at_ms is None or row.revoked_at_ms > now_ms)
        if live and lease.price_book_version == book.version:  # under another version it bills nothing now
            rate += rate_per_ms(lease, book) * HOUR_MS
    return rate


def meter_customer_status(conn: Connection, customer: str, now_ms: int, escrow: EscrowBalance) -> dict:
    paused, reason = customer_flags(conn, customer)
    now_s = now_ms // 1000
    # Latest cumulative amount of each of the customer's channels.
    latest = select(RR.c.provider, func.max(RR.c.seq).label("seq")).where(RR.c.customer == customer) \
        .group_by(RR.c.provider).subquery()
    rows = conn.execute(select(RR.c.provider, RR.c.cum_amount, RR.c.period_end)
                        .join(latest, (RR.c.provider == latest.c.provider) & (RR.c.seq == latest.c.seq))
                        .where(RR.c.customer == customer)).all()
    billed = sum(r.cum_amount for r in rows)
    recent = conn.execute(select(RR.c.new_amount).where(RR.c.customer == customer,
                                                        RR.c.period_end > now_s - BURN_WINDOW_S)).all()
    burned = sum(r[0] for r in recent)
    recent_per_hour = burned * 3600 // BURN_WINDOW_S
    # The leases in force bill at their full rate from their first minute, when the last hour's receipts show
    # only those minutes (a lease signed 5 minutes ago): the runway uses the higher of the two rates.
    leased_per_hour = math.ceil(lease_burn(list_leases(conn, customer=customer), price_books(conn), now_ms))
    rate = max(recent_per_hour, leased_per_hour)
    available = escrow.available(customer)
    runway_s: int | None = None
    if available is not None and rate > 0:
        runway_s = max(0, available) * 3600 // rate
    return {
        "customer": customer,
        "paused": paused,
        "paused_reason": reason or None,
        "channels": len(rows),
        "billed_total": billed,
        "burn_rate_per_hour": recent_per_hour,
        "lease_burn_rate_per_hour": leased_per_hour,
        "runway_basis": None if rate == 0 else "leases in force" if leased_per_hour > recent_per_hour else "last hour",
        "available_balance": available,
        "runway_seconds": runway_s,
        "runway_note": ("no escrow balance source configured" if available is None
                        else "no usage in the last hour and no lease in force" if rate == 0 else None),
    }


def provider_channels(conn: Connection, provider: str) -> list[dict]:
    """One entry per customer the provider has receipts for: its latest seq, cumulative amount and period
    end, and whether that receipt is in a batch yet."""
    latest = select(RR.c.customer, func.max(RR.c.seq).label("seq")).where(RR.c.provider == provider) \
        .group_by(RR.c.customer).subquery()
    rows = conn.execute(select(RR.c.customer, RR.c.seq, RR.c.cum_amount, RR.c.period_end, RR.c.batch_id)
                        .join(latest, (RR.c.customer == latest.c.customer) & (RR.c.seq == latest.c.seq))
                        .where(RR.c.provider == provider).order_by(RR.c.customer)).all()
    return [{"customer": r.customer, "seq": r.seq, "cum_amount": r.cum_amount, "period_end": r.period_end,
             "batched": r.batch_id is not None} for r in rows]
