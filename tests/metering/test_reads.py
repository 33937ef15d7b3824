"""metering.reads, the meter's reads for the dashboard's pages, and metering.api.views.receipt_by_id: each on
an in-memory SQLite database, results as plain values or frozen dataclasses (no ORM row)."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import StaticPool

from db import Base, load_models
from metering.api.views import receipt_by_id
from metering.models import Batch, KeyUsage, ReceiptRow, Seal, UsageEvent
from metering.reads import (CustomerReceipt, KeyUsageLine, ResourceActivity, customer_key_usage, customer_receipts,
                            events_received, posted_batch_signatures, provider_activity)

C1, C2 = "11111111111111111111111111111112", "SysvarC1ock11111111111111111111111111111111"
P1, P2 = "SysvarRent111111111111111111111111111111111", "Vote111111111111111111111111111111111111111"


@pytest.fixture
def engine() -> Engine:
    load_models()
    eng = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    Base.metadata.create_all(eng)
    with Session(eng) as s, s.begin():
        s.add(Seal(id=1, window_start_ms=0, window_end_ms=1, sealed_ms=1, events=0, late_events=0, receipts=0))
        s.add(Batch(id=1, root=b"\1" * 32, count=2, total=10, created_ms=1, meter_pubkey=P1, posted_signature="sig1"))
        s.add(Batch(id=2, root=b"\2" * 32, count=1, total=4, created_ms=2, meter_pubkey=P1))
        s.flush()
        for n, (customer, provider, seq, end, batch) in enumerate(
                [(C1, P2, 1, 200, 1), (C1, P1, 1, 200, 1), (C2, P1, 1, 100, 2), (C1, P1, 2, 100, None)], start=1):
            s.add(ReceiptRow(customer=customer, provider=provider, seq=seq, receipt_id=bytes([n]) * 32,
                             encoding=bytes([n]) * 8, signature=b"\0" * 64, meter_pubkey=P1, config_version=1,
                             period_start=end - 60, period_end=end, cum_amount=10 * n, new_amount=n,
                             detail=f'{{"lines":[{n}]}}', seal_id=1, created_ms=n, batch_id=batch,
                             batch_index=0 if batch else None))
        for customer, provider, resource, rclass, q in [(C1, P1, "lease-b", "h100", 7), (C1, P1, "lease-a", "a100", 5),
                                                        (C1, P1, "lease-a", "_", 3), (C2, P1, "lease-c", "h100", 9)]:
            s.add(KeyUsage(customer=customer, provider=provider, kind=1, resource=resource, rclass=rclass, quantity=q,
                           through_ms=1000, key_hash=0))
        for n, (provider, customer, resource, kind, t_ms, received_ms) in enumerate(
                [(P1, C1, "lease-a", 1, 100, 1000), (P1, C1, "lease-a", 1, 300, 2000), (P1, C1, "lease-a", 2, 400, 3000),
                 (P1, C2, "lease-a", 1, 50, 3001), (P1, C1, "bucket", 3, 200, 4000), (P2, C1, "lease-z", 1, 9, 5000)]):
            s.add(UsageEvent(dedup_key=bytes([n]) * 16, key_hash=n, source="s", event_id=str(n), kind=kind,
                             customer=customer, provider=provider, resource=resource, rclass="h100", value=1,
                             t_ms=t_ms, received_ms=received_ms, payload_hash=b"\0" * 32, body="{}"))
    return eng


def test_customer_receipts_by_period_end_then_provider_and_seq(engine):
    with engine.connect() as conn:
        got = customer_receipts(conn, C1)
    assert [(r.period_end, r.provider, r.seq) for r in got] == [(100, P1, 2), (200, P1, 1), (200, P2, 1)]
    assert got[1] == CustomerReceipt(P1, 1, bytes([2]) * 32, 140, 200, 20, 2, '{"lines":[2]}', 1)
    assert got[0].batch_id is None
    assert all(dataclasses.is_dataclass(r) and type(r.receipt_id) is bytes for r in got)
    with engine.connect() as conn:
        assert customer_receipts(conn, "nobody") == []


def test_customer_key_usage_by_resource_then_class(engine):
    with engine.connect() as conn:
        got = customer_key_usage(conn, C1)
    assert got == [KeyUsageLine(P1, 1, "lease-a", "_", 3, 1000), KeyUsageLine(P1, 1, "lease-a", "a100", 5, 1000),
                   KeyUsageLine(P1, 1, "lease-b", "h100", 7, 1000)]


def test_posted_batch_signatures_only_the_posted(engine):
    with engine.connect() as conn:
        assert posted_batch_signatures(conn) == {1: "sig1"}


def test_events_received_in_a_half_open_window(engine):
    with engine.connect() as conn:
        assert events_received(conn, 1000, 3001) == 3  # 1000 excluded, 3001 included
        assert events_received(conn, 0, 10_000) == 6
        assert events_received(conn, 5000, 10_000) == 0


def test_provider_activity_per_resource_customer_and_kind(engine):
    with engine.connect() as conn:
        got = provider_activity(conn, P1)
    assert [a.resource for a in got] == sorted(a.resource for a in got)
    assert sorted(got, key=lambda a: (a.resource, a.customer, a.kind)) == [
        ResourceActivity("bucket", C1, 3, 200, 1), ResourceActivity("lease-a", C1, 1, 300, 2),
        ResourceActivity("lease-a", C1, 2, 400, 1), ResourceActivity("lease-a", C2, 1, 50, 1)]
    with engine.connect() as conn:
        assert provider_activity(conn, "nobody") == []


def test_receipt_by_id_none_for_an_unknown_receipt(engine):
    with engine.connect() as conn:
        assert receipt_by_id(conn, b"\xff" * 32) is None
