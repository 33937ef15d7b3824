"""Read queries over usage events that more than one reader needs (the read API and the CLI)."""
from __future__ import annotations

from sqlalchemy import Select, select

from .models import UsageEvent, UsageKey

UE = UsageEvent.__table__
UK = UsageKey.__table__


def customer_events(customer: str, provider: str | None, t_from: int, t_to: int, *columns) -> Select:
    """`columns` of a customer's events (at one provider, if given) with t_from <= t_ms < t_to.

    Found through the customer's keys (meter_usage_keys, keyed by customer first) and usage_events'
    (key_hash, t_ms) index: one index range per lease / bucket / resource. The customer and provider are
    compared again on the events themselves, so a 64-bit key_hash collision cannot leak another
    customer's events."""
    keys = select(UK.c.key_hash).where(UK.c.customer == customer)
    where = [UE.c.customer == customer, UE.c.t_ms >= t_from, UE.c.t_ms < t_to]
    if provider:
        keys = keys.where(UK.c.provider == provider)
        where.append(UE.c.provider == provider)
    return select(*(columns or (UE,))).where(UE.c.key_hash.in_(keys), *where)
