"""Customer status: paused flag, what has been billed, burn rate and runway (time left at that rate)."""
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
