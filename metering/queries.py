"""Read queries over usage events that more than one reader needs (the read API, the CLI, the dashboard)."""
from __future__ import annotations

from sqlalchemy import select, union_all

from .models import UsageEvent, UsageKey

UE = UsageEvent.__table__
UK = UsageKey.__table__


def customer_events(customer: str, provider: str | None, t_from: int, t_to: int, *columns):
    """`columns` of a customer's events (at one provider, if given) with t_from <= t_ms < t_to.

    Sealed events are found through the customer's keys (meter_usage_keys, keyed by customer first) and
    usage_events' partial (key_hash, t_ms) index of sealed events: one index range per lease / bucket /
    resource. Unsealed events (a window or two) through the partial index that holds only them. The
    customer and provider are compared on the events themselves, so a 64-bit key_hash collision cannot
    leak another customer's events."""
    keys = select(UK.c.key_hash).where(UK.c.customer == customer)
    where = [UE.c.customer == customer, UE.c.t_ms >= t_from, UE.c.t_ms < t_to]
    if provider:
        keys = keys.where(UK.c.provider == provider)
        where.append(UE.c.provider == provider)
    cols = columns or tuple(UE.c)
    sealed = select(*cols).where(UE.c.key_hash.in_(keys), UE.c.seal_id.is_not(None), *where)
    unsealed = select(*cols).where(UE.c.seal_id.is_(None), *where)
    return union_all(sealed, unsealed)


def serves(conn, provider: str, customer: str) -> bool:
    """Does `provider` serve `customer`: has the meter accepted usage of theirs (a meter_usage_keys row,
    written with the first event of a lease, bucket or resource)? The read policy asks it before showing a
    provider a customer's status."""
    return conn.execute(select(UK.c.key_hash).where(UK.c.customer == customer, UK.c.provider == provider)
                        .limit(1)).first() is not None
