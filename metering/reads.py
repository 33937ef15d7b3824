"""Reads of the meter's store for its pages (the dashboard's customer, operator and provider views): each
takes the caller's Connection and explicit parameters and returns plain values or frozen dataclasses, so no
metering table, row or ORM object leaves metering (issue 16; tests/test_metering_tables_boundary.py)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.engine import Connection

from .leases import get_lease, lease_view, list_leases, price_books
from .models import Batch, KeyUsage, ReceiptRow, UsageEvent
from .status import lease_burn

RR, KU, UE, BT = ReceiptRow.__table__, KeyUsage.__table__, UsageEvent.__table__, Batch.__table__


@dataclass(frozen=True)
class CustomerReceipt:
    """A receipt issued to a customer, as its page lists it (`detail`: the receipt's detail JSON, as stored)."""
    provider: str
    seq: int
    receipt_id: bytes
    period_start: int
    period_end: int
    cum_amount: int
    new_amount: int
    detail: str
    batch_id: int | None


@dataclass(frozen=True)
class KeyUsageLine:
    """Usage of one lease / bucket / egress resource and class through the last sealed window."""
    provider: str
    kind: int  # contracts.kinds.Kind
    resource: str
    rclass: str
    quantity: int
    through_ms: int


@dataclass(frozen=True)
class ResourceActivity:
    """A provider's events of one kind for one (resource, customer): how many, and the latest event time."""
    resource: str
    customer: str
    kind: int  # contracts.kinds.Kind
    last_ms: int
    events: int


def customer_receipts(conn: Connection, customer: str) -> list[CustomerReceipt]:
    """Every receipt issued to `customer`, by period end, then provider and seq."""
    rows = conn.execute(select(RR.c.provider, RR.c.seq, RR.c.receipt_id, RR.c.period_start, RR.c.period_end,
                               RR.c.cum_amount, RR.c.new_amount, RR.c.detail, RR.c.batch_id)
                        .where(RR.c.customer == customer).order_by(RR.c.period_end, RR.c.provider, RR.c.seq)).all()
    return [CustomerReceipt(r.provider, r.seq, bytes(r.receipt_id), r.period_start, r.period_end, r.cum_amount,
                            r.new_amount, r.detail, r.batch_id) for r in rows]


@dataclass(frozen=True)
class CustomerLeases:
    """A customer's leases as its page shows them (`views`: metering.leases.lease_view of each, oldest first) and
    the base units per hour the ones in force at `now_ms` can accrue at their full rate (metering.status)."""
    views: list[dict[str, Any]]
    burn_per_hour: Fraction


def customer_leases(conn: Connection, customer: str, now_ms: int) -> CustomerLeases:
    rows = list_leases(conn, customer=customer)
    return CustomerLeases([lease_view(r) for r in rows], lease_burn(rows, price_books(conn), now_ms))


@dataclass(frozen=True)
class LeaseState:
    """What a revocation of a stored lease is prepared from: whose it is, its hash, whether it is revoked
    already, and the latest usage accepted under it (a revocation takes effect after that)."""
    lease_id: str
    customer: str
    lease_hash: bytes
    revoked_at_ms: int | None
    last_event_ms: int | None


def lease_state(conn: Connection, lease_id: str) -> LeaseState | None:
    row = get_lease(conn, lease_id)
    if row is None:
        return None
    return LeaseState(row.lease_id, row.customer, bytes(row.lease_hash), row.revoked_at_ms, row.last_event_ms)


def customer_key_usage(conn: Connection, customer: str) -> list[KeyUsageLine]:
    """The customer's usage per lease / bucket / resource and class (meter_key_usage), by resource then class."""
    rows = conn.execute(select(KU.c.provider, KU.c.kind, KU.c.resource, KU.c.rclass, KU.c.quantity, KU.c.through_ms)
                        .where(KU.c.customer == customer).order_by(KU.c.resource, KU.c.rclass)).all()
    return [KeyUsageLine(r.provider, r.kind, r.resource, r.rclass, r.quantity, r.through_ms) for r in rows]


def posted_batch_signatures(conn: Connection) -> dict[int, str]:
    """The post_batch transaction signature of each batch posted on-chain, by batch id."""
    return {r.id: r.posted_signature for r in conn.execute(select(BT.c.id, BT.c.posted_signature))
            if r.posted_signature}


def events_received(conn: Connection, after_ms: int, through_ms: int) -> int:
    """How many events the meter received with after_ms < received_ms <= through_ms."""
    return int(conn.execute(select(func.count()).select_from(UE)
                            .where(UE.c.received_ms > after_ms, UE.c.received_ms <= through_ms)).scalar() or 0)


def provider_activity(conn: Connection, provider: str) -> list[ResourceActivity]:
    """The provider's events per (resource, customer, kind): count and latest t_ms, by resource."""
    rows = conn.execute(select(UE.c.resource, UE.c.customer, UE.c.kind, func.max(UE.c.t_ms).label("last_ms"),
                               func.count().label("events"))
                        .where(UE.c.provider == provider).group_by(UE.c.resource, UE.c.customer, UE.c.kind)
                        .order_by(UE.c.resource)).all()
    return [ResourceActivity(r.resource, r.customer, r.kind, r.last_ms, r.events) for r in rows]


__all__ = ["CustomerReceipt", "KeyUsageLine", "ResourceActivity", "customer_key_usage", "customer_receipts",
           "events_received", "posted_batch_signatures", "provider_activity"]
