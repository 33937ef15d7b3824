"""Customer status: paused flag, what has been billed, burn rate and runway (time left at that rate); a
provider's channels: the latest receipt of each."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .escrow import EscrowBalance
from .models import ReceiptRow
from .registry import customer_flags

RR = ReceiptRow.__table__
BURN_WINDOW_S = 3600


def customer_status(conn: Connection, customer: str, now_ms: int, escrow: EscrowBalance) -> dict:
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
    available = escrow.available(customer)
    runway_s: int | None = None
    if available is not None and burned > 0:
        runway_s = max(0, available) * BURN_WINDOW_S // burned
    return {
        "customer": customer,
        "paused": paused,
        "paused_reason": reason or None,
        "channels": len(rows),
        "billed_total": billed,
        "burn_rate_per_hour": burned * 3600 // BURN_WINDOW_S,
        "available_balance": available,
        "runway_seconds": runway_s,
        "runway_note": ("no escrow balance source configured" if available is None
                        else "no usage in the last hour" if burned == 0 else None),
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
